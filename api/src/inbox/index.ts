/**
 * The inbox's composition (docs/team.md §3): its store, rules, event handler (subscribed to the instance events),
 * instance calls and routes, and the timer that wakes snoozed conversations.
 */
import type { Logger } from 'pino';
import type { AuditLog } from '../audit.js';
import type { InstanceEventBus } from '../events/instance-events.js';
import type { InstanceClient } from '../instance-client.js';
import type { InstanceService } from '../instances.js';
import type { LiveLog } from '../live/live-log.js';
import type { ApiStore } from '../store.js';
import { ContactSummaries } from './contact-summary.js';
import { InboxEvents } from './events.js';
import { ConversationMessages } from './messages.js';
import { Inbox } from './rules.js';
import type { InboxRouteDeps } from './routes.js';
import { openInboxStore } from './store.js';

export interface InboxParts {
  /** What `inboxRoutes` needs. */
  routes: InboxRouteDeps;
  events: InboxEvents;
  /** Stops the wake timer and unsubscribes. */
  close(): void;
}

/**
 * Builds the inbox on `store`'s database. With `bus`, its handler is subscribed; with `live`, changes are appended to
 * the live log.
 */
export async function createInbox(o: {
  store: ApiStore;
  audit: AuditLog;
  instances: Pick<InstanceService, 'endpoints'>;
  client: Pick<InstanceClient, 'gatewayCredential' | 'gatewayRefused'>;
  live?: LiveLog | undefined;
  bus?: InstanceEventBus | undefined;
  logger: Logger;
  wakeIntervalMs: number;
}): Promise<InboxParts> {
  const inboxStore = await openInboxStore(o.store.connection.db!);
  const contacts = new ContactSummaries(o.store.connection.db!);
  const events = new InboxEvents(inboxStore, o.live, o.logger, contacts);
  const inbox = new Inbox(o.store, inboxStore, o.audit, o.live);
  const messages = new ConversationMessages(o.instances, o.client, o.logger);
  const unsubscribe = o.bus?.subscribe(events.handler);
  const timer = setInterval(
    () => void events.wakeSnoozed().catch((err: unknown) => o.logger.warn({ err }, 'waking snoozed conversations failed')),
    o.wakeIntervalMs,
  );
  timer.unref();
  return {
    routes: { inbox, messages, contacts },
    events,
    close() {
      clearInterval(timer);
      unsubscribe?.();
    },
  };
}
