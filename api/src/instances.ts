/**
 * Instances of a tenant — an organisation: the `userId` arguments and fields name it (`OrganisationDoc`): created only when the balance pays the first period (which is charged at once), listed and
 * shown with the provider's view (phase, session state), stopped, started and restarted by their tenant, deleted.
 * Another tenant's instance id answers 404, exactly like an unknown one; so does an instance being deleted.
 *
 * Session control: a tenant's stop is a desired state on the record (`stopped`, `stoppedAt`), distinct from billing's
 * `suspended`; the provider scales the runtime to zero while either is true (`provisionRequest`), and billing goes on
 * charging a stopped instance (it keeps its slot and session volume; docs/product.md). Restart is the provider's
 * `restart` (the runtime restarted, its stored session kept). Every state change runs under the tenant's billing
 * lock, so a billing run or a deposit never acts on the instance at the same time.
 *
 * What tenants see of provider failures: catalogue codes and text only (`provider_unavailable` 503 to retry,
 * `provider_rejected` 500 not to, `instance_unavailable` 503) and a fixed message per phase — never the provider's
 * own detail (hosts, container names, apiserver URLs, instance log lines), which is logged instead.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { errorBrief } from '@wacloud/kit';
import { AppError } from './errors.js';
import { firstPeriod } from './periods.js';
import {
  ProviderError,
  type InstanceEndpoints,
  type InstanceProvider,
  type ProviderStatus,
  type ProvisionRequest,
} from './providers/index.js';
import { BillingIntents, provisionRequest } from './billing/intents.js';
import type { ApiStore, BillingIntentDoc, InstanceDoc } from './store.js';
import { LockLostError, withLock, type HeldLock, type LockOptions } from './user-lock.js';
import { periodChargeKey, type Wallet } from './wallet.js';
import type { InstanceClient } from './instance-client.js';

export interface InstanceView {
  id: string;
  name: string;
  engine: 'webjs' | 'simulated';
  provider: string;
  createdAt: string;
  /** End of the paid period (ISO 8601). */
  paidUntil: string;
  suspended: boolean;
  suspendedAt: string | null;
  /** Stopped by its tenant (billing goes on charging it). */
  stopped: boolean;
  stoppedAt: string | null;
  /** `Stopped` while its tenant stopped it, `Suspended` while billing suspends it, else the provider's phase. */
  phase: string;
  sessionState: string | null;
  message?: string;
}

/** `i-` + 12 characters of lower-case base32: a DNS label, unique, stable. */
export function newInstanceId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return `i-${[...randomBytes(12)].map((b) => alphabet[b & 31]).join('')}`;
}

/** What a tenant reads for an instance in `phase` (none for `Running` and `Suspended`). */
const PHASE_MESSAGES: Partial<Record<ProviderStatus['phase'], string>> = {
  Pending: 'The instance is waiting to start.',
  Provisioning: 'The instance is starting.',
  Failed: 'The instance failed to start; it is retried automatically. If this lasts, contact support quoting the instance id.',
  Terminating: 'The instance is being deleted.',
  NotFound: 'The instance is missing from its runtime; contact support quoting the instance id.',
};
/** Default of the longest wait of {@link InstanceService.endpoints} for a starting instance, ms. */
export const DEFAULT_READY_WAIT_MS = 60_000;
/** How long a list or view waits for the provider's status, ms. */
const STATUS_TIMEOUT_MS = 3_000;
/** Default of how long {@link InstanceService.endpoints} reuses an instance record for instance-token requests, ms. */
export const DEFAULT_STATE_TTL_MS = 1_000;
/** Instance records kept for {@link InstanceService.endpoints} at most (the oldest dropped first). */
const STATE_CACHE_MAX = 10_000;

export class InstanceService {
  private readonly intents: BillingIntents;
  /** Live instance records read by {@link endpoints} without a tenant (instance-token requests), with their expiry (epoch ms). */
  private readonly recent = new Map<string, { d: InstanceDoc; until: number }>();
  /** Reads of {@link live} under way, shared by the cached requests that arrive meanwhile (one read, not one each). */
  private readonly reading = new Map<string, { changes: number; read: Promise<InstanceDoc | null> }>();
  /** Counts changes made through this service: a record read while one happened is not reused. */
  private changes = 0;

  /** `o.lock`: timing of the tenant's billing lock (default: `user-lock.ts`'s); `o.readyWaitMs`: see {@link endpoints}. */
  constructor(
    private readonly store: ApiStore,
    private readonly wallet: Wallet,
    private readonly provider: InstanceProvider,
    private readonly client: InstanceClient,
    private readonly o: {
      priceMinor: number;
      engine: 'webjs' | 'simulated';
      logger: Logger;
      lock?: LockOptions | undefined;
      /** Longest wait of `endpoints` for a starting instance, ms (default 60 s; 0: none). */
      readyWaitMs?: number | undefined;
      /**
       * How long `endpoints` reuses an instance's record for instance-token requests, ms (default 1 s; 0: read each
       * time). Changes made through this service apply at once; a suspension by billing (another process) within it.
       * Refreshed in the background past half its time (see {@link live}).
       */
      stateTtlMs?: number | undefined;
    },
  ) {
    this.intents = new BillingIntents({ store, wallet, provider, logger: o.logger });
  }

  /** Provisioning request of a stored instance. */
  static request(d: InstanceDoc): ProvisionRequest {
    return provisionRequest(d);
  }

  /**
   * Creates an instance for `userId`: charges the first period, records it, provisions it — under the tenant's
   * billing lock, with the charge's intent recorded first (`billing/intents.ts`), so that a crash at any step is
   * completed or refunded by the next billing run and nobody pays twice or for nothing.
   * @throws AppError `insufficient_funds` (402, nothing created), `name_taken` (409), `provider_unavailable` (503,
   *   the charge refunded), `provider_rejected` (500, the charge refunded), `busy` (503: the tenant's lock could not be
   *   taken or was lost; a charge already made is completed or refunded by the next billing run).
   */
  async create(userId: string, name: string): Promise<InstanceView> {
    const doc = await withLock(this.store, `billing:${userId}`, (lock) => this.createLocked(userId, name, lock), this.o.lock);
    return this.view(doc);
  }

  private async createLocked(userId: string, name: string, lock: HeldLock): Promise<InstanceDoc> {
    if (await this.store.instances.findOne({ userId, name, deletedAt: null, deletingAt: null })) throw new AppError('name_taken');
    const id = newInstanceId();
    const period = firstPeriod(new Date());
    const doc: InstanceDoc = {
      _id: id,
      userId,
      name,
      engine: this.o.engine,
      provider: this.provider.kind,
      createdAt: period.start,
      paidUntil: period.end,
      billingAnchorDay: period.anchorDay,
      suspended: false,
      suspendedAt: null,
      deletedAt: null,
    };
    const intent: BillingIntentDoc = {
      _id: periodChargeKey(id, period.start),
      kind: 'create',
      userId,
      instanceId: id,
      period: { start: period.start, end: period.end },
      anchorDay: period.anchorDay,
      instance: doc,
      createdAt: new Date(),
    };
    await this.intents.begin(intent, lock);
    try {
      lock.fence();
      await this.wallet.chargePeriod(userId, id, this.o.priceMinor, period);
    } catch (err) {
      if (err instanceof AppError && err.code === 'insufficient_funds') await this.intents.drop(intent._id, lock);
      throw err;
    }
    lock.fence();
    await this.store.instances.insertOne(doc);
    try {
      lock.fence();
      await this.provider.create(InstanceService.request(doc));
    } catch (err) {
      if (err instanceof LockLostError) throw err; // the next billing run settles the intent
      this.o.logger.error({ err, instance: id }, 'provisioning failed; refunding the first period');
      await this.intents.rollBackCreate(intent, lock, 'provisioning failed');
      throw rejected(err)
        ? new AppError(
            'provider_rejected',
            'The instance could not be provisioned and the first period was refunded. The instance runtime refused it, so retrying will not help; contact support quoting the x-request-id of this response.',
          )
        : new AppError('provider_unavailable', 'The instance could not be provisioned and the first period was refunded; retry shortly.');
    }
    await this.intents.drop(intent._id, lock);
    return doc;
  }

  /** The organisation `userId`'s live instances, oldest first; with `only`, those whose id it accepts. */
  async list(userId: string, only: (id: string) => boolean = () => true): Promise<InstanceView[]> {
    const docs = await this.store.instances.find({ userId, deletedAt: null, deletingAt: null }).sort({ createdAt: 1, _id: 1 }).toArray();
    return Promise.all(docs.filter((d) => only(d._id)).map((d) => this.view(d)));
  }

  /** @throws AppError `instance_not_found` for unknown ids, other tenants' instances and deleting ones alike. */
  async owned(userId: string, id: string): Promise<InstanceDoc> {
    const d = await this.store.instances.findOne({ _id: id, deletedAt: null });
    if (!d || d.userId !== userId || d.deletingAt) throw new AppError('instance_not_found');
    return d;
  }

  async get(userId: string, id: string): Promise<InstanceView> {
    return this.view(await this.owned(userId, id));
  }

  /**
   * Deletes the instance and its container/resources, under the tenant's billing lock: `deletingAt` is recorded
   * before the provider is asked, so a crash before `deletedAt` leaves an instance hidden from its tenant and never
   * charged again, whose deletion the next billing run (or the api's next start) finishes. A provider failure puts
   * the record back as it was.
   * @throws AppError `instance_not_found`, `provider_unavailable` (503, nothing changed; retry), `provider_rejected`
   *   (500), `busy` (503: the tenant's lock could not be taken).
   */
  async delete(userId: string, id: string): Promise<void> {
    await withLock(
      this.store,
      `billing:${userId}`,
      async (lock) => {
        await this.owned(userId, id);
        lock.fence();
        await this.store.instances.updateOne({ _id: id }, { $set: { deletingAt: new Date() } });
        this.changed(id);
        try {
          lock.fence();
          await this.provider.delete(id);
        } catch (err) {
          if (err instanceof LockLostError) throw err; // deletingAt stays: the next billing run finishes it
          this.o.logger.error({ err, instance: id }, 'removing the instance failed');
          await this.store.instances.updateOne({ _id: id }, { $set: { deletingAt: null } });
          this.changed(id);
          throw rejected(err)
            ? new AppError(
                'provider_rejected',
                'The instance could not be removed: the instance runtime refused it, so retrying will not help; contact support quoting the x-request-id of this response.',
              )
            : new AppError('provider_unavailable', 'The instance could not be removed right now; it is kept as it was. Retry shortly.');
        }
        lock.fence();
        await this.store.instances.updateOne({ _id: id }, { $set: { deletedAt: new Date() } });
        this.changed(id);
      },
      this.o.lock,
    );
    this.client.forgetGatewayToken(id);
  }

  /**
   * Stops the instance for its tenant: records `stopped` (a desired state, kept until {@link start}), then scales the
   * runtime to zero (the provider's `suspend`; the stored session is kept). Idempotent: stopping a stopped instance
   * applies the stop to the runtime again. Billing goes on charging it.
   * @throws AppError `instance_not_found`, `instance_suspended` (409: billing suspended it; a top-up resumes it),
   *   `provider_unavailable` (503, nothing changed; retry), `provider_rejected` (500), `busy` (503).
   */
  async stop(userId: string, id: string): Promise<InstanceView> {
    return this.control(userId, id, 'stop', async (d, lock) => {
      if (!d.stopped) {
        lock.fence();
        await this.store.instances.updateOne({ _id: id }, { $set: { stopped: true, stoppedAt: new Date() } });
        this.changed(id);
      }
      lock.fence();
      await this.provider.suspend(id).catch(async (err: unknown) => {
        if (err instanceof ProviderError && err.code === 'not_found') return; // nothing runs: stopped already
        if (!d.stopped) {
          await this.store.instances.updateOne({ _id: id }, { $set: { stopped: false, stoppedAt: null } });
          this.changed(id);
        }
        throw err;
      });
    });
  }

  /**
   * Starts an instance its tenant stopped: clears `stopped`, then runs the runtime again (the provider's `resume`;
   * the stored session resumes without a QR). Idempotent: starting a running instance applies it to the runtime
   * again, and a runtime the provider lost is created again.
   * @throws AppError `instance_not_found`, `instance_suspended` (409), `provider_unavailable` (503, nothing changed),
   *   `provider_rejected` (500), `busy` (503).
   */
  async start(userId: string, id: string): Promise<InstanceView> {
    return this.control(userId, id, 'start', async (d, lock) => {
      if (d.stopped) {
        lock.fence();
        await this.store.instances.updateOne({ _id: id }, { $set: { stopped: false, stoppedAt: null } });
        this.changed(id);
      }
      lock.fence();
      await this.provider.resume(id).catch(async (err: unknown) => {
        if (err instanceof ProviderError && err.code === 'not_found') {
          lock.fence();
          return this.provider.create(InstanceService.request({ ...d, stopped: false }));
        }
        if (d.stopped) {
          await this.store.instances.updateOne({ _id: id }, { $set: { stopped: true, stoppedAt: d.stoppedAt ?? new Date() } });
          this.changed(id);
        }
        throw err;
      });
    });
  }

  /**
   * Restarts the instance's runtime (process, container or pod); its stored WhatsApp session is kept, so it logs in
   * again without a QR. Open event streams through the gateway end with the old runtime.
   * @throws AppError `instance_not_found`, `instance_suspended` (409), `instance_stopped` (409: start it instead),
   *   `provider_unavailable` (503), `provider_rejected` (500), `busy` (503).
   */
  async restart(userId: string, id: string): Promise<InstanceView> {
    return this.control(userId, id, 'restart', async (d, lock) => {
      if (d.stopped) throw new AppError('instance_stopped', 'The instance is stopped; start it instead of restarting it.');
      lock.fence();
      await this.provider.restart(id).catch((err: unknown) => {
        if (!(err instanceof ProviderError && err.code === 'not_found')) throw err;
        lock.fence();
        return this.provider.create(InstanceService.request(d)); // the provider lost it: a new start is a restart
      });
    });
  }

  /**
   * One tenant's session control action on an owned, live, not billing-suspended instance, under the tenant's billing
   * lock; provider failures become catalogue errors (the detail is logged).
   * @returns the instance's view afterwards.
   */
  private async control(
    userId: string,
    id: string,
    action: 'stop' | 'start' | 'restart',
    fn: (d: InstanceDoc, lock: HeldLock) => Promise<unknown>,
  ): Promise<InstanceView> {
    const doc = await withLock(
      this.store,
      `billing:${userId}`,
      async (lock) => {
        const d = await this.owned(userId, id);
        if (d.suspended) throw new AppError('instance_suspended');
        try {
          await fn(d, lock);
        } catch (err) {
          if (err instanceof AppError || err instanceof LockLostError) throw err;
          // A refusal for good (500) is an error with its stack; an unavailable runtime (503, retry) a warning.
          if (rejected(err)) this.o.logger.error({ err, instance: id, action }, 'session control failed');
          else this.o.logger.warn({ error: errorBrief(err), instance: id, action }, 'session control failed; the runtime is unavailable');
          throw rejected(err)
            ? new AppError(
                'provider_rejected',
                `The instance could not be ${action === 'stop' ? 'stopped' : action === 'start' ? 'started' : 'restarted'}: the instance runtime refused it, so retrying will not help; contact support quoting the x-request-id of this response.`,
              )
            : new AppError(
                'provider_unavailable',
                `The instance runtime could not ${action} the instance right now; nothing changed. Retry shortly.`,
              );
        }
        return (await this.store.instances.findOne({ _id: id }))!;
      },
      this.o.lock,
    );
    return this.view(doc);
  }

  /**
   * Endpoints of an owned (or, with `userId` undefined, any live) instance for the gateway and the token API. An
   * instance that is starting (the provider's `not_ready`: just created, started or resumed, its runtime not answering
   * yet) is waited for, polling the provider (250 ms, doubling to 2 s) for at most `readyWaitMs` (INSTANCE_READY_WAIT_MS,
   * 60 s by default), so that a request made right after a creation succeeds instead of answering 503; the record is
   * read again on each poll (a suspension, stop or deletion meanwhile ends the wait with its own answer).
   * @throws AppError `instance_not_found`, `instance_suspended` (409), `instance_stopped` (409), `instance_unavailable`
   *   (503: still not reachable after the wait, or the provider is unavailable), `provider_rejected` (500).
   */
  async endpoints(id: string, userId?: string): Promise<InstanceEndpoints> {
    const deadline = Date.now() + (this.o.readyWaitMs ?? DEFAULT_READY_WAIT_MS);
    for (let attempt = 0; ; attempt++) {
      const d = userId ? await this.owned(userId, id) : await this.live(id, attempt === 0);
      if (!d || d.deletingAt) throw new AppError('instance_not_found');
      if (d.suspended) throw new AppError('instance_suspended');
      if (d.stopped) throw new AppError('instance_stopped');
      try {
        return await this.provider.endpoints(id, { fresh: attempt > 0 });
      } catch (err) {
        if (err instanceof ProviderError && err.code === 'not_found') throw new AppError('instance_not_found');
        const notReady = err instanceof ProviderError && err.code === 'not_ready';
        const left = deadline - Date.now();
        if (notReady && left > 0) {
          await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** Math.min(attempt, 3), left)));
          continue;
        }
        this.o.logger[notReady ? 'info' : 'warn'](
          { instance: id, error: errorBrief(err) },
          notReady ? 'instance not ready after the wait' : 'instance endpoints unavailable',
        );
        if (rejected(err)) throw new AppError('provider_rejected');
        throw new AppError('instance_unavailable');
      }
    }
  }

  /**
   * The live record of instance `id` (null when deleted or unknown) — for instance-token requests through the gateway,
   * which would otherwise read it once per request: a found record is reused for `stateTtlMs` when `cached`. Past half
   * that time a use starts one read in the background (refresh-ahead) and is still answered from the record, so a busy
   * instance's requests never wait for its record — under load that read queues behind the instance's own queries
   * (issue 18's gateway tail, BENCHMARKS.md) — and a record is still never older than `stateTtlMs` (from its read's
   * start): a suspension by another process applies within that time, as before.
   */
  private async live(id: string, cached: boolean): Promise<InstanceDoc | null> {
    const now = Date.now();
    const ttl = this.o.stateTtlMs ?? DEFAULT_STATE_TTL_MS;
    const hit = this.recent.get(id);
    if (cached && hit && hit.until > now) {
      // A failed background read leaves the record to expire; the next request then reads in its own path.
      if (now >= hit.until - ttl / 2) this.sharedRead(id).catch(() => undefined);
      return hit.d;
    }
    return cached && ttl > 0 ? this.sharedRead(id) : this.readLive(id, now, this.changes);
  }

  /**
   * One read of `id`'s live record shared by every cached request that arrives while it is under way (64 reads at
   * concurrency 64 otherwise, each queued behind the others on the database) — unless this service changed the
   * instance since that read began, which starts a new one.
   */
  private sharedRead(id: string): Promise<InstanceDoc | null> {
    const under = this.reading.get(id);
    if (under && under.changes === this.changes) return under.read;
    const before = this.changes;
    const read = this.readLive(id, Date.now(), before);
    const entry = { changes: before, read };
    this.reading.set(id, entry);
    const done = () => void (this.reading.get(id) === entry && this.reading.delete(id));
    read.then(done, done);
    return read;
  }

  /** Reads the live record of `id` and keeps it for `stateTtlMs` from `now` if nothing changed since `before`. */
  private async readLive(id: string, now: number, before: number): Promise<InstanceDoc | null> {
    const d = await this.store.instances.findOne({ _id: id, deletedAt: null });
    const ttl = this.o.stateTtlMs ?? DEFAULT_STATE_TTL_MS;
    this.recent.delete(id);
    if (d && ttl > 0 && before === this.changes) {
      this.recent.set(id, { d, until: now + ttl });
      while (this.recent.size > STATE_CACHE_MAX) this.recent.delete(this.recent.keys().next().value!);
    }
    return d;
  }

  /** Forgets the record {@link live} holds for `id` (its state is changing through this service). */
  private changed(id: string): void {
    this.changes++;
    this.recent.delete(id);
  }

  /** What should run, for the provider's reconcile at start. */
  async desired(): Promise<ProvisionRequest[]> {
    // Instances being deleted are not desired: the finish of their deletion (billing) removes what is left.
    const docs = await this.store.instances.find({ deletedAt: null, deletingAt: null }).toArray();
    return docs.filter((d) => d.provider === this.provider.kind).map(InstanceService.request);
  }

  /**
   * The tenant's view of a stored instance with the provider's phase and session state. A provider that fails or
   * takes longer than 3 s shows as `Provisioning` with a note (the detail is logged); the provider's own status
   * message is logged at debug level, and the tenant reads a fixed text per phase.
   */
  async view(d: InstanceDoc): Promise<InstanceView> {
    const unknown: ProviderStatus = { phase: 'Provisioning', message: "The instance's status is unavailable right now; retry shortly." };
    const status: ProviderStatus = await Promise.race([
      this.provider.status(d._id).then((st) => {
        if (st.message) this.o.logger.debug({ instance: d._id, phase: st.phase, detail: st.message }, 'instance status');
        return { ...st, message: PHASE_MESSAGES[st.phase] };
      }),
      new Promise<ProviderStatus>((r) => setTimeout(() => r(unknown), STATUS_TIMEOUT_MS).unref()),
    ]).catch((err: unknown) => {
      this.o.logger.warn({ err, instance: d._id }, 'instance status unavailable');
      return unknown;
    });
    return {
      id: d._id,
      name: d.name,
      engine: d.engine,
      provider: d.provider,
      createdAt: d.createdAt.toISOString(),
      paidUntil: d.paidUntil.toISOString(),
      suspended: d.suspended,
      suspendedAt: d.suspendedAt ? d.suspendedAt.toISOString() : null,
      stopped: d.stopped === true,
      stoppedAt: d.stopped && d.stoppedAt ? d.stoppedAt.toISOString() : null,
      phase: d.suspended ? 'Suspended' : d.stopped ? 'Stopped' : status.phase,
      sessionState: status.sessionState ?? null,
      ...(status.message && status.phase !== 'Running' && !d.stopped ? { message: status.message } : {}),
    };
  }
}

/** Whether `err` is a provider's refusal for good (retrying will not help). */
function rejected(err: unknown): boolean {
  return err instanceof ProviderError && err.code === 'rejected';
}
