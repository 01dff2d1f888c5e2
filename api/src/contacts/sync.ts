/**
 * WhatsApp contacts from the instances into the book. Each instance's users (`GET /v1/contacts?isGroup=false` of its
 * public API, through the gateway's credential) are matched one by one ({@link ContactMatcher}): by the phone of
 * their id (`…@c.us`, or the number the instance knows for a `…@lid`), else by their WhatsApp id. A pull happens when
 * an instance reports `session.status` WORKING (an {@link InstanceEventBus} subscription: after each login; once more
 * 15 s later, when the instance's own sync has stored its address book) and
 * periodically for every running instance (CONTACTS_SYNC_INTERVAL_S), so a missed event only delays a sync.
 * Identities whose name, push name and number did not change since the last pull cost no write.
 */
import { SingleFlight } from '@wacloud/kit';
import type { Logger } from 'pino';
import type { InstanceEventBus, InstanceEvent } from '../events/instance-events.js';
import type { InstanceClient } from '../instance-client.js';
import type { InstanceService } from '../instances.js';
import type { ApiStore } from '../store.js';
import type { ContactMatcher } from './matcher.js';
import { phoneOfWhatsApp } from './normalise.js';
import type { ContactCollections, ContactIdentity } from './store.js';

/** One user as the instance's contact list shows it. */
interface InstanceContact {
  id: string;
  number?: string;
  name?: string;
  pushname?: string;
  isGroup: boolean;
}

export interface SyncResult {
  instanceId: string;
  seen: number;
  created: number;
  updated: number;
  unchanged: number;
}

const PAGE = 500;
/** Delay of the second pull after a login, ms. */
const FOLLOW_UP_MS = 15_000;

export class ContactSync {
  private readonly running = new SingleFlight<string, SyncResult>();
  private timer: NodeJS.Timeout | undefined;
  private readonly followUps = new Set<NodeJS.Timeout>();

  constructor(
    private readonly store: ApiStore,
    private readonly c: ContactCollections,
    private readonly matcher: ContactMatcher,
    private readonly instances: InstanceService,
    private readonly client: InstanceClient,
    private readonly logger: Logger,
  ) {}

  /**
   * Pulls instance `instanceId`'s users into its organisation's book; a pull of that instance already running is
   * joined, not repeated.
   * @throws AppError `instance_not_found`, `instance_suspended`, `instance_stopped`, `instance_unavailable`,
   *   `upstream_error` (the instance's answers).
   */
  sync(orgId: string, instanceId: string): Promise<SyncResult> {
    return this.running.run(`${orgId}/${instanceId}`, () => this.pull(orgId, instanceId));
  }

  private async pull(orgId: string, instanceId: string): Promise<SyncResult> {
    const result: SyncResult = { instanceId, seen: 0, created: 0, updated: 0, unchanged: 0 };
    const known = new Map<string, ContactIdentity>();
    for (const d of await this.c.contacts.find({ orgId, instanceIds: instanceId }, { projection: { identities: 1 } }).toArray())
      for (const i of d.identities) if (i.instanceId === instanceId) known.set(i.waId, i);
    let cursor: string | null = null;
    do {
      const page: { items: InstanceContact[]; nextCursor: string | null } = await this.page(orgId, instanceId, cursor);
      for (const u of page.items) {
        if (u.isGroup || !/@(c\.us|lid)$/.test(u.id)) continue;
        result.seen++;
        const phone = phoneOfWhatsApp(u.id, u.number);
        const was = known.get(u.id);
        if (was && was.name === (u.name || undefined) && was.pushname === (u.pushname || undefined) && was.phone === phone) {
          result.unchanged++;
          continue;
        }
        const identity: ContactIdentity = { instanceId, waId: u.id, syncedAt: new Date() };
        if (u.name) identity.name = u.name;
        if (u.pushname) identity.pushname = u.pushname;
        if (phone) identity.phone = phone;
        const { outcome } = await this.matcher.upsert(orgId, { source: 'whatsapp', identity });
        result[outcome]++;
      }
      cursor = page.nextCursor;
    } while (cursor);
    this.logger.info(result, 'contacts synced');
    return result;
  }

  /** One page of the instance's users, through the gateway's credential (a refused credential is renewed once). */
  private async page(
    orgId: string,
    instanceId: string,
    cursor: string | null,
  ): Promise<{ items: InstanceContact[]; nextCursor: string | null }> {
    const ep = await this.instances.endpoints(instanceId, orgId);
    const qs = new URLSearchParams({ isGroup: 'false', limit: String(PAGE), ...(cursor ? { cursor } : {}) });
    for (let attempt = 0; ; attempt++) {
      const cred = await this.client.gatewayCredential(instanceId, ep);
      const res = await fetch(`${ep.publicUrl}/v1/contacts?${qs}`, {
        headers: { authorization: `Bearer ${cred.token}` },
        signal: AbortSignal.timeout(30_000),
      });
      if (res.status === 401 && attempt === 0) {
        await this.client.gatewayRefused(instanceId, cred);
        continue;
      }
      if (!res.ok) throw new Error(`the instance's contact list answered ${res.status}`);
      return (await res.json()) as { items: InstanceContact[]; nextCursor: string | null };
    }
  }

  /**
   * Event handler: a session that became WORKING is pulled now and once more {@link FOLLOW_UP_MS} later (the
   * instance stores its address book while its own sync after login runs), in the background: the event is never
   * held up.
   */
  handle = (event: InstanceEvent): Promise<void> => {
    const data = event.data as { state?: string; status?: string } | undefined;
    if (event.type === 'session.status' && (data?.state ?? data?.status) === 'WORKING') {
      const pull = () =>
        void this.sync(event.orgId, event.instanceId).catch((err: unknown) =>
          this.logger.warn({ err, instance: event.instanceId }, 'contact sync after login failed'),
        );
      pull();
      const t = setTimeout(() => {
        this.followUps.delete(t);
        pull();
      }, FOLLOW_UP_MS);
      t.unref();
      this.followUps.add(t);
    }
    return Promise.resolve();
  };

  /** Subscribes to the ingest's events. @returns the unsubscribe function. */
  subscribe(bus: InstanceEventBus): () => void {
    return bus.subscribe(this.handle);
  }

  /** Pulls every running instance now, one after the other; failures are logged. */
  async syncAll(): Promise<void> {
    const docs = await this.store.instances
      .find({ deletedAt: null, suspended: false }, { projection: { _id: 1, userId: 1, stopped: 1, deletingAt: 1 } })
      .toArray();
    for (const d of docs) {
      if (d.stopped || d.deletingAt) continue;
      await this.sync(d.userId, d._id).catch((err: unknown) =>
        this.logger.info({ instance: d._id, error: (err as Error).message }, 'periodic contact sync skipped an instance'),
      );
    }
  }

  /** Starts the periodic pull every `intervalMs` (0: never). */
  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(
      () => void this.syncAll().catch((err: unknown) => this.logger.warn({ err }, 'periodic contact sync failed')),
      intervalMs,
    );
    this.timer.unref();
  }

  /** Stops the periodic pull and waits for pulls in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const t of this.followUps) clearTimeout(t);
    await this.running.settled();
  }
}
