/**
 * Billing (rules in `periods.ts` and docs/product.md). Prepaid per instance, one monthly period at a time:
 * - `run(now)` — the daily job (00:00 UTC), in three passes:
 *   1. charges in flight: an intent left by an interrupted creation or resumption (`billing/intents.ts`) is completed
 *      when its charge was made (or the creation refunded), dropped when it was not;
 *   2. every instance whose paid period has ended (`paidUntil ≤ now`):
 *      - active: charge the next period (ledger key `charge:<instance>:<period start>`, so a retry or a second run never
 *        charges twice) and advance `paidUntil`, repeating while periods are due (catch-up after downtime); when the
 *        balance cannot pay, record it suspended (`suspendedAt`), then suspend it in the provider (scale to zero; the
 *        session is kept);
 *      - suspended: resume it if the balance now pays; otherwise, once the unpaid period's end (its next charge date)
 *        has passed, delete it (`deletingAt` recorded first: it is never resumed again, and the next run finishes an
 *        interrupted deletion);
 *   3. every suspended or tenant-stopped instance (of this provider): its suspension is applied to the provider again
 *      (idempotent), so a suspension or stop whose provider call failed or was interrupted is retried.
 *   Between 1 and 2, deletions left half done (`deletingAt` recorded, `deletedAt` not: a crash during a tenant's delete or
 *   billing's own) are finished: the provider's delete again, then `deletedAt`. Nothing is charged for them.
 * - `recover()` — at api start: passes 1 and the deletions' finish only, so a crash's leftovers are settled at once
 *   instead of at the next daily run or deposit.
 * - `resumeSuspended(userId, now)` — after a deposit: resume the tenant's suspended instances, oldest first, while the
 *   balance pays. A resumed instance starts a fresh period at the moment of resumption (suspended time is not billed),
 *   anchored on that day of the month; its charge key is `charge:<instance>:resume:<suspendedAt>`, once per suspension.
 *   A resumption records its intent before the charge; the provider's resume and the record follow.
 * Each instance's state change runs under the lock `billing:<userId>` and re-reads the instance inside it, so two runs,
 * or a run and a deposit, at once never both act on it; the lock is renewed while provider calls run, and every write
 * is fenced (a holder that lost it stops). Every step is idempotent: running again is always safe.
 * Pass 2 bills many tenants per database command where it only charges (`billing/chunk.ts`: the chunk's locks taken
 * together, its ledger entries by ordered `insertMany`, its balances and `paidUntil` by `bulkWrite`s by `_id`); a tenant
 * with a suspended or half-deleted due instance, or whose lock is held elsewhere, goes one by one ({@link billTenant}).
 */
import { forEachInParallel } from '@wacloud/kit';
import type { Logger } from 'pino';
import { AppError } from './errors.js';
import { billChunk, byId, chargeOnly, duePeriods, MAX_CATCH_UP, UPDATE_CHUNK, type ChunkDeps } from './billing/chunk.js';
import { BillingIntents, resumeChargeKey } from './billing/intents.js';
import { emptySummary, type BillingMetrics, type BillingSummary } from './billing/metrics.js';
import { nextPeriod, periodEnd } from './periods.js';
import { ProviderError, type InstanceProvider } from './providers/index.js';
import type { ApiStore, InstanceDoc } from './store.js';
import { purgeExpiredLocks, withLock, type HeldLock, type LockOptions } from './user-lock.js';
import type { Wallet } from './wallet.js';

/** Tenants billed together per chunk (billing/chunk.ts). */
const CHUNK_TENANTS = 50;

export { createBillingMetrics, type BillingMetrics, type BillingSummary } from './billing/metrics.js';

export interface BillingOptions {
  store: ApiStore;
  wallet: Wallet;
  provider: InstanceProvider;
  /** Monthly price, minor units. */
  priceMinor: number;
  logger: Logger;
  metrics?: BillingMetrics | undefined;
  /** Instances read per batch. Default 500; the due instances of pass 2: 1,000 (two chunks of tenants of ~10). */
  batchSize?: number;
  /** Instances processed in parallel within a batch. Default 8. */
  concurrency?: number;
  /** Tenants billed together per chunk (billing/chunk.ts). Default 50. */
  chunkTenants?: number;
  /** Chunks in flight at once. Default 2. */
  chunkConcurrency?: number;
  /** Timing of the `billing:<userId>` locks (default: `user-lock.ts`'s). */
  lock?: LockOptions | undefined;
}

export class Billing {
  private readonly intents: BillingIntents;

  constructor(private readonly o: BillingOptions) {
    this.intents = new BillingIntents(o);
  }

  /** The daily job. Never throws for one instance's failure: it is counted and reported. */
  async run(now: Date): Promise<BillingSummary> {
    const started = Date.now();
    const s = emptySummary(now);
    const fail = (instanceId: string, err: unknown) => {
      s.failed++;
      s.errors.push({ instanceId, error: (err as Error).message });
      this.o.metrics?.failures.inc();
      this.o.logger.error({ err, instance: instanceId }, 'billing failed for instance');
    };
    await purgeExpiredLocks(this.o.store).catch((err: unknown) => this.o.logger.warn({ err }, 'purging expired locks failed'));

    // 1. Charges in flight left by a crash.
    const intents = await this.o.store.billingIntents.find({}).sort({ _id: 1 }).toArray();
    await forEachInParallel(intents, this.o.concurrency ?? 8, async (intent) => {
      try {
        if (await this.locked(intent.userId, (lock) => this.settle(intent._id, lock))) s.recovered++;
      } catch (err) {
        fail(intent.instanceId, err);
      }
    });

    await this.finishDeletions(fail, s);

    // 2. Due instances. Paged by _id (stable while documents change): every due instance is visited once per run. A
    // page's tenants whose due instances only need charging are billed in chunks, many tenants per database command
    // (billing/chunk.ts); the others — and those a chunk could not take — one by one, each under one hold of its lock,
    // with bulk reads and writes (billTenant).
    const applied = new Set<string>(); // suspended in the provider by this run
    const failed = new Set<string>(); // each instance's failure is counted once
    const failOnce = (id: string, err: unknown) => {
      if (failed.has(id)) return;
      failed.add(id);
      fail(id, err);
    };
    const chunkDeps: ChunkDeps = { ...this.o, suspend: (doc, lock) => this.suspendInstance(doc, now, lock) };
    await this.pagedByTenant({ deletedAt: null, paidUntil: { $lte: now } }, async (groups) => {
      const chunks: Array<Map<string, InstanceDoc[]>> = [];
      const oneByOne: string[] = [];
      for (const [userId, docs] of groups) {
        s.due += docs.length;
        if (!docs.every(chargeOnly)) {
          oneByOne.push(userId);
          continue;
        }
        if (!chunks.length || chunks.at(-1)!.size >= (this.o.chunkTenants ?? CHUNK_TENANTS)) chunks.push(new Map());
        chunks.at(-1)!.set(userId, docs);
      }
      await forEachInParallel(chunks, this.o.chunkConcurrency ?? 2, async (chunk) => {
        oneByOne.push(...(await billChunk(chunkDeps, chunk, now, s, applied, failOnce)));
      });
      await forEachInParallel(oneByOne, this.o.concurrency ?? 8, async (userId) => {
        const docs = groups.get(userId)!;
        try {
          await this.locked(userId, (lock) => this.billTenant(userId, docs, now, s, lock, applied, failOnce));
        } catch (err) {
          for (const doc of docs) failOnce(doc._id, err);
        }
      });
    });

    // 3. Suspensions and stops applied to the provider again (a failed or interrupted provider call is retried).
    const scaledToZero = { $or: [{ suspended: true }, { stopped: true }], deletedAt: null, provider: this.o.provider.kind };
    await this.paged(scaledToZero, async (doc) => {
      if (applied.has(doc._id)) return;
      try {
        if (await this.locked(doc.userId, (lock) => this.reapplySuspension(doc._id, lock))) s.reapplied++;
      } catch (err) {
        fail(doc._id, err);
      }
    });

    s.durationMs = Date.now() - started;
    this.o.metrics?.duration.observe(s.durationMs / 1000);
    if (s.failed === 0) this.o.metrics?.lastSuccess.set(Math.floor(Date.now() / 1000));
    this.o.logger.info({ ...s, errors: s.errors.length }, 'billing run finished');
    return s;
  }

  /**
   * At api start: settles the charges in flight and finishes the deletions that a crash interrupted (see the module
   * comment), without charging anything due. Never throws for one instance's failure: it is logged and counted.
   * @returns how many intents were settled, deletions finished, and failures.
   */
  async recover(): Promise<{ recovered: number; deleted: number; failed: number }> {
    const s = emptySummary(new Date());
    const fail = (instanceId: string, err: unknown) => {
      s.failed++;
      this.o.logger.error({ err, instance: instanceId }, 'recovery at start failed for instance (the next billing run retries)');
    };
    for (const intent of await this.o.store.billingIntents.find({}).sort({ _id: 1 }).toArray()) {
      try {
        if (await this.locked(intent.userId, (lock) => this.settle(intent._id, lock))) s.recovered++;
      } catch (err) {
        fail(intent.instanceId, err);
      }
    }
    await this.finishDeletions(fail, s);
    if (s.recovered + s.deleted + s.failed > 0)
      this.o.logger.info({ recovered: s.recovered, deleted: s.deleted, failed: s.failed }, 'billing recovery at start');
    return { recovered: s.recovered, deleted: s.deleted, failed: s.failed };
  }

  /**
   * After a deposit: resumes `userId`'s suspended instances, oldest suspension first, while the balance pays.
   * The tenant's charges in flight are settled first.
   * @returns the ids resumed.
   */
  async resumeSuspended(userId: string, now: Date): Promise<string[]> {
    return this.locked(userId, async (lock) => {
      for (const intent of await this.o.store.billingIntents.find({ userId }).toArray()) {
        await this.settle(intent._id, lock).catch((err: unknown) =>
          this.o.logger.error({ err, intent: intent._id }, 'settling a charge in flight failed (the next billing run retries)'),
        );
      }
      const suspended = await this.o.store.instances
        .find({ userId, deletedAt: null, suspended: true })
        .sort({ suspendedAt: 1, _id: 1 })
        .toArray();
      const resumed: string[] = [];
      for (const doc of suspended) {
        if (doc.deletingAt) continue;
        if (!(await this.tryResume(doc, now, lock))) break;
        resumed.push(doc._id);
      }
      return resumed;
    });
  }

  private locked<T>(userId: string, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
    return withLock(this.o.store, `billing:${userId}`, fn, this.o.lock);
  }

  /** Runs `fn` over the instances matching `filter`, in pages by `_id`, `concurrency` at a time. */
  private async paged(filter: object, fn: (doc: InstanceDoc) => Promise<void>): Promise<void> {
    let after = '';
    for (;;) {
      const batch = await this.o.store.instances
        .find({ ...filter, _id: { $gt: after } })
        .sort({ _id: 1 })
        .limit(this.o.batchSize ?? 500)
        .toArray();
      if (batch.length === 0) return;
      after = batch[batch.length - 1]!._id;
      await forEachInParallel(batch, this.o.concurrency ?? 8, fn);
    }
  }

  /**
   * Like {@link paged}, with each page's instances grouped by tenant (`userId` → its instances, in `_id` order), one
   * page at a time; the next page is read while `fn` works on the current one.
   */
  private async pagedByTenant(filter: object, fn: (groups: Map<string, InstanceDoc[]>) => Promise<void>): Promise<void> {
    const page = (after: string) =>
      this.o.store.instances
        .find({ ...filter, _id: { $gt: after } })
        .sort({ _id: 1 })
        .limit(this.o.batchSize ?? 2 * (this.o.chunkTenants ?? CHUNK_TENANTS) * 10)
        .toArray();
    let next = page('');
    for (;;) {
      const batch = await next;
      if (batch.length === 0) return;
      next = page(batch[batch.length - 1]!._id);
      next.catch(() => undefined); // awaited at the next turn; not unhandled meanwhile if fn throws
      const groups = new Map<string, InstanceDoc[]>();
      for (const d of batch) groups.set(d.userId, [...(groups.get(d.userId) ?? []), d]);
      await fn(groups);
    }
  }

  /**
   * Under the tenant's billing lock: its due instances `seen` (read afresh, in `_id` order). Suspended and half-deleted
   * ones go through {@link billInstance} one by one; the active ones are charged together — every due period of each,
   * in `_id` order (catch-up included) by one {@link Wallet.chargePeriods} — then their `paidUntil` advanced by one
   * bulk write, then the ones the balance could not pay are suspended. A crash between the charges and the advance is
   * safe: the next run finds the charges' keys used (`duplicate`) and only advances.
   */
  private async billTenant(
    userId: string,
    seen: InstanceDoc[],
    now: Date,
    s: BillingSummary,
    lock: HeldLock,
    applied: Set<string>,
    fail: (instanceId: string, err: unknown) => void,
  ): Promise<void> {
    // One read of them all (`_id: {$in}`: an index lookup on MongoDB and on wacloud's FerretDB build, which pushes `$in`
    // down — docs/embedded-database.md), in `_id` order.
    const docs = (await this.o.store.instances.find({ _id: { $in: seen.map((d) => d._id) } }).toArray()).sort(byId);
    const active: InstanceDoc[] = [];
    for (const doc of docs) {
      if (doc.deletedAt || doc.paidUntil > now || doc.userId !== userId) continue; // another run got here first
      if (chargeOnly(doc)) {
        active.push(doc);
        continue;
      }
      try {
        await this.billInstance(doc._id, now, s, lock, applied);
      } catch (err) {
        fail(doc._id, err);
      }
    }
    const items = active.flatMap((doc) => duePeriods(doc, now));
    if (items.length === 0) return;
    lock.fence();
    const outcomes = await this.o.wallet.chargePeriods(userId, items, this.o.priceMinor);
    const paidUntil = new Map<string, Date>();
    const unpaid = new Set<string>();
    outcomes.forEach((o, k) => {
      const { instanceId, period } = items[k]!;
      if (o === 'charged' || o === 'duplicate') {
        paidUntil.set(instanceId, period.end);
        if (o === 'duplicate') s.alreadyCharged++;
        else s.charged++;
        this.o.metrics?.charges.inc({ result: o === 'duplicate' ? 'already_charged' : 'charged' });
      } else if (o === 'insufficient') unpaid.add(instanceId);
    });
    const advances = [...paidUntil].map(([id, end]) => ({ updateOne: { filter: { _id: id }, update: { $set: { paidUntil: end } } } }));
    for (let i = 0; i < advances.length; i += UPDATE_CHUNK) {
      lock.fence();
      await this.o.store.instances.bulkWrite(advances.slice(i, i + UPDATE_CHUNK), { ordered: false });
    }
    for (const doc of active) {
      if (!unpaid.has(doc._id)) continue;
      try {
        await this.suspendInstance({ ...doc, paidUntil: paidUntil.get(doc._id) ?? doc.paidUntil }, now, lock);
        s.suspended++;
        applied.add(doc._id);
      } catch (err) {
        fail(doc._id, err);
      }
    }
  }

  /** Finishes every deletion of this provider's instances left half done (`deletingAt` without `deletedAt`). */
  private async finishDeletions(fail: (instanceId: string, err: unknown) => void, s: BillingSummary): Promise<void> {
    // `deletingAt` is a date or null: `$gt` the epoch is a range the embedded server serves without decoding every
    // instance (`$ne: null` is not pushed down: docs/embedded-database.md).
    const halfDeleted = { deletingAt: { $gt: new Date(0) }, deletedAt: null, provider: this.o.provider.kind };
    await this.paged(halfDeleted, async (doc) => {
      try {
        await this.locked(doc.userId, async (lock) => {
          const d = await this.o.store.instances.findOne({ _id: doc._id });
          if (!d || d.deletedAt || !d.deletingAt) return; // finished meanwhile
          await this.deleteInstance(d, lock);
          s.deleted++;
        });
      } catch (err) {
        fail(doc._id, err);
      }
    });
  }

  /** Under the tenant's billing lock: settles the intent `id` if it is still there. @returns whether it was. */
  private async settle(id: string, lock: HeldLock): Promise<boolean> {
    const intent = await this.o.store.billingIntents.findOne({ _id: id });
    if (!intent) return false; // settled meanwhile
    const result = await this.intents.settle(intent, lock);
    this.o.metrics?.recoveries.inc({ result });
    return true;
  }

  /** Under the tenant's billing lock: one instance, read afresh. */
  private async billInstance(id: string, now: Date, s: BillingSummary, lock: HeldLock, applied: Set<string>): Promise<void> {
    let doc = await this.o.store.instances.findOne({ _id: id });
    if (!doc || doc.deletedAt || doc.paidUntil > now) return; // another run got here first
    if (doc.deletingAt) {
      await this.deleteInstance(doc, lock); // an interrupted deletion (billing's or its tenant's)
      s.deleted++;
      return;
    }
    if (doc.suspended) {
      if (await this.tryResume(doc, now, lock)) {
        s.resumed++;
        return;
      }
      // The unpaid period [paidUntil, its end) has passed too: the next charge date came unpaid.
      if (periodEnd(doc.paidUntil, doc.billingAnchorDay) <= now) {
        await this.deleteInstance(doc, lock);
        s.deleted++;
      }
      return;
    }
    for (let i = 0; i < MAX_CATCH_UP && doc.paidUntil <= now; i++) {
      const period = nextPeriod(doc.paidUntil, doc.billingAnchorDay);
      try {
        lock.fence();
        const r = await this.o.wallet.chargePeriod(doc.userId, doc._id, this.o.priceMinor, period);
        if (r.duplicate) s.alreadyCharged++;
        else s.charged++;
        this.o.metrics?.charges.inc({ result: r.duplicate ? 'already_charged' : 'charged' });
      } catch (err) {
        if (err instanceof AppError && err.code === 'insufficient_funds') {
          await this.suspendInstance(doc, now, lock);
          s.suspended++;
          applied.add(doc._id);
          return;
        }
        throw err;
      }
      lock.fence();
      await this.o.store.instances.updateOne({ _id: doc._id }, { $set: { paidUntil: period.end } });
      doc = { ...doc, paidUntil: period.end };
    }
  }

  /**
   * Charges a fresh period from `now` and resumes; false when the balance cannot pay. Caller holds the lock.
   * An intent left by an interrupted resumption of this suspension is settled first (its charge is not repeated).
   */
  private async tryResume(doc: InstanceDoc, now: Date, lock: HeldLock): Promise<boolean> {
    const key = resumeChargeKey(doc);
    const left = await this.o.store.billingIntents.findOne({ _id: key });
    if (left && (await this.intents.settle(left, lock)) === 'completed') return true;
    const anchorDay = now.getUTCDate();
    const period = { start: now, end: periodEnd(now, anchorDay) };
    const intent = { _id: key, kind: 'resume' as const, userId: doc.userId, instanceId: doc._id, period, anchorDay, createdAt: new Date() };
    await this.intents.begin(intent, lock);
    try {
      lock.fence();
      await this.o.wallet.apply(
        doc.userId,
        {
          type: 'charge',
          amountMinor: -this.o.priceMinor,
          idempotencyKey: key,
          instanceId: doc._id,
          period,
          memo: `Instance ${doc._id} resumed: ${period.start.toISOString().slice(0, 10)} – ${period.end.toISOString().slice(0, 10)}`,
        },
        { requireFunds: true },
      );
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'insufficient_funds')) throw err;
      await this.intents.drop(key, lock);
      return false;
    }
    this.o.metrics?.charges.inc({ result: 'charged' });
    await this.intents.completeResume(intent, lock);
    this.o.metrics?.resumptions.inc();
    this.o.logger.info({ instance: doc._id, paidUntil: period.end }, 'instance resumed after payment');
    return true;
  }

  private async suspendInstance(doc: InstanceDoc, now: Date, lock: HeldLock): Promise<void> {
    // Record first: a crash or a provider failure after this is retried by pass 3 of this and every later run.
    lock.fence();
    await this.o.store.instances.updateOne({ _id: doc._id }, { $set: { suspended: true, suspendedAt: now } });
    await this.applySuspension(doc._id, lock);
    this.o.metrics?.suspensions.inc();
    this.o.logger.info({ instance: doc._id, paidUntil: doc.paidUntil }, 'instance suspended: the balance cannot pay the next period');
  }

  /** Pass 3, under the lock: suspends a still-suspended instance in the provider again. @returns whether it did. */
  private async reapplySuspension(id: string, lock: HeldLock): Promise<boolean> {
    const doc = await this.o.store.instances.findOne({ _id: id });
    if (!doc || !(doc.suspended || doc.stopped) || doc.deletedAt || doc.deletingAt) return false;
    // A paid resumption in flight (its provider call failed): the next settle resumes it; do not stop it meanwhile.
    if (await this.o.store.billingIntents.findOne({ _id: resumeChargeKey(doc) })) return false;
    await this.applySuspension(id, lock);
    return true;
  }

  private async applySuspension(id: string, lock: HeldLock): Promise<void> {
    lock.fence();
    await this.o.provider.suspend(id).catch((err: unknown) => {
      if (!(err instanceof ProviderError && err.code === 'not_found')) throw err;
      this.o.logger.warn({ instance: id }, 'suspend: the provider has no such instance');
    });
  }

  private async deleteInstance(doc: InstanceDoc, lock: HeldLock): Promise<void> {
    const interrupted = Boolean(doc.deletingAt);
    if (!doc.deletingAt) {
      lock.fence();
      await this.o.store.instances.updateOne({ _id: doc._id }, { $set: { deletingAt: new Date() } });
    }
    lock.fence();
    await this.o.provider.delete(doc._id);
    lock.fence();
    await this.o.store.instances.updateOne({ _id: doc._id }, { $set: { deletedAt: new Date() } });
    this.o.metrics?.deletions.inc();
    this.o.logger.info(
      { instance: doc._id },
      interrupted ? 'instance deleted: an interrupted deletion finished' : 'instance deleted: its next charge date passed unpaid',
    );
  }
}
