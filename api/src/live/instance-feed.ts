/**
 * The live events the ingest makes of instance events by itself: `instance.state` from `session.status`
 * (`{instanceId, state, reason?, account?}`; members who read the instance) and `instance.qr` from `session.qr`
 * (`{instanceId, qr, image}`; owners and admins only — logging the number in is theirs).
 */
import type { InstanceEventBus } from '../events/instance-events.js';
import type { LiveLog } from './live-log.js';

/** Subscribes the feed to `bus`; returns its removal. */
export function feedInstanceEvents(bus: InstanceEventBus, log: LiveLog): () => void {
  return bus.subscribe(async (e) => {
    const data = (e.data ?? {}) as Record<string, unknown>;
    if (e.type === 'session.status') {
      await log.append({
        type: 'instance.state',
        data: { instanceId: e.instanceId, state: data.state, reason: data.reason, account: data.account },
        audience: { orgId: e.orgId, instanceId: e.instanceId },
      });
    } else if (e.type === 'session.qr') {
      await log.append({
        type: 'instance.qr',
        data: { instanceId: e.instanceId, qr: data.qr, image: data.image },
        audience: { orgId: e.orgId, instanceId: e.instanceId, adminsOnly: true },
      });
    }
  });
}
