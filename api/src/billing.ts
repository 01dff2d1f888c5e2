/**
 * Billing (rules in `periods.ts` and docs/product.md). Prepaid per instance, one monthly period at a time:
 * - `run(now)` — the daily job (00:00 UTC): for every instance whose paid period has ended (`paidUntil ≤ now`):
 *   - active: charge the next period (ledger key `charge:<instance>:<period start>`, so a retry or a second run never
 *     charges twice) and advance `paidUntil`, repeating while periods are due (catch-up after downtime); when the
 *     balance cannot pay, suspend it (provider: scale to zero; the session is kept) and record `suspendedAt`;
 *   - suspended: resume it if the balance now pays; otherwise, once the unpaid period's end (its next charge date)
 *     has passed, delete it.
 * - `resumeSuspended(userId, now)` — after a deposit: resume the tenant's suspended instances, oldest first, while the
 *   balance pays. A resumed instance starts a fresh period at the moment of resumption (suspended time is not billed),
 *   anchored on that day of the month; its charge key is `charge:<instance>:resume:<suspendedAt>`, once per suspension.
 * Each instance's state change runs under the lock `billing:<userId>` and re-reads the instance inside it, so two runs,
 * or a run and a deposit, at once never both act on it. Every step is idempotent: running again is always safe.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { AppError } from './errors.js';
import { nextPeriod, periodEnd } from './periods.js';
import { ProviderError, type InstanceProvider } from './providers/index.js';
import type { ApiStore, InstanceDoc } from './store.js';
import { withLock } from './user-lock.js';
import type { Wallet } from './wallet.js';

export interface BillingSummary {
  /** The billing clock (ISO 8601). */
  now: string;
  /** Instances whose paid period had ended. */
  due: number;
  /** Periods charged now. */
  charged: number;
  /** Periods found already charged (an earlier or concurrent run): nothing moved. */
  alreadyCharged: number;
  suspended: number;
  resumed: number;
  deleted: number;
  failed: number;
  errors: Array<{ instanceId: string; error: string }>;
  durationMs: number;
}

export interface BillingMetrics {
  charges: Counter<'result'>;
  suspensions: Counter;
  resumptions: Counter;
  deletions: Counter;
  failures: Counter;
  lastSuccess: Gauge;
  duration: Histogram;
}

/** Registers the billing metrics on `registry`. */
export function createBillingMetrics(registry: Registry): BillingMetrics {
  const registers = [registry];
  return {
    charges: new Counter({
      name: 'wacloud_billing_charges_total',
      help: 'Billing periods charged (result: charged|already_charged)',
      labelNames: ['result'],
      registers,
    }),
    suspensions: new Counter({ name: 'wacloud_billing_suspensions_total', help: 'Instances suspended for an unpaid period', registers }),
    resumptions: new Counter({ name: 'wacloud_billing_resumptions_total', help: 'Suspended instances resumed after payment', registers }),
    deletions: new Counter({ name: 'wacloud_billing_deletions_total', help: 'Instances deleted after an unpaid period passed', registers }),
    failures: new Counter({
      name: 'wacloud_billing_failures_total',
      help: 'Instances whose billing step failed (retried by the next run)',
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'wacloud_billing_last_success_timestamp_seconds',
      help: 'Unix time of the last billing run that finished without failures',
      registers,
    }),
    duration: new Histogram({
      name: 'wacloud_billing_run_duration_seconds',
      help: 'Duration of billing runs, seconds',
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900],
      registers,
    }),
  };
}

export interface BillingOptions {
  store: ApiStore;
  wallet: Wallet;
  provider: InstanceProvider;
  /** Monthly price, minor units. */
  priceMinor: number;
  logger: Logger;
  metrics?: BillingMetrics | undefined;
  /** Instances read per batch. Default 500. */
  batchSize?: number;
  /** Instances processed in parallel within a batch. Default 8. */
  concurrency?: number;
}

/** At most this many periods are caught up for one instance in one run. */
const MAX_CATCH_UP = 24;

export class Billing {
  constructor(private readonly o: BillingOptions) {}

  /** The daily job. Never throws for one instance's failure: it is counted and reported. */
  async run(now: Date): Promise<BillingSummary> {
    const started = Date.now();
    const s: BillingSummary = {
      now: now.toISOString(),
      due: 0,
      charged: 0,
      alreadyCharged: 0,
      suspended: 0,
      resumed: 0,
      deleted: 0,
      failed: 0,
      errors: [],
      durationMs: 0,
    };
    const batchSize = this.o.batchSize ?? 500;
    let after = '';
    for (;;) {
      // Paged by _id (stable while documents change): every due instance is visited once per run.
      const batch = await this.o.store.instances
        .find({ deletedAt: null, paidUntil: { $lte: now }, _id: { $gt: after } })
        .sort({ _id: 1 })
        .limit(batchSize)
        .toArray();
      if (batch.length === 0) break;
      after = batch[batch.length - 1]!._id;
      s.due += batch.length;
      await mapLimit(batch, this.o.concurrency ?? 8, async (doc) => {
        try {
          await withLock(this.o.store, `billing:${doc.userId}`, () => this.billInstance(doc._id, now, s));
        } catch (err) {
          s.failed++;
          s.errors.push({ instanceId: doc._id, error: (err as Error).message });
          this.o.metrics?.failures.inc();
          this.o.logger.error({ err, instance: doc._id }, 'billing failed for instance');
        }
      });
    }
    s.durationMs = Date.now() - started;
    this.o.metrics?.duration.observe(s.durationMs / 1000);
    if (s.failed === 0) this.o.metrics?.lastSuccess.set(Math.floor(Date.now() / 1000));
    this.o.logger.info({ ...s, errors: s.errors.length }, 'billing run finished');
    return s;
  }

  /** Under the tenant's billing lock: one instance, read afresh. */
  private async billInstance(id: string, now: Date, s: BillingSummary): Promise<void> {
    let doc = await this.o.store.instances.findOne({ _id: id });
    if (!doc || doc.deletedAt || doc.paidUntil > now) return; // another run got here first
    if (doc.suspended) {
      if (await this.tryResume(doc, now)) {
        s.resumed++;
        return;
      }
      // The unpaid period [paidUntil, its end) has passed too: the next charge date came unpaid.
      if (periodEnd(doc.paidUntil, doc.billingAnchorDay) <= now) {
        await this.deleteInstance(doc);
        s.deleted++;
      }
      return;
    }
    for (let i = 0; i < MAX_CATCH_UP && doc.paidUntil <= now; i++) {
      const period = nextPeriod(doc.paidUntil, doc.billingAnchorDay);
      try {
        const r = await this.o.wallet.chargePeriod(doc.userId, doc._id, this.o.priceMinor, period);
        if (r.duplicate) s.alreadyCharged++;
        else s.charged++;
        this.o.metrics?.charges.inc({ result: r.duplicate ? 'already_charged' : 'charged' });
      } catch (err) {
        if (err instanceof AppError && err.code === 'insufficient_funds') {
          await this.suspendInstance(doc, now);
          s.suspended++;
          return;
        }
        throw err;
      }
      await this.o.store.instances.updateOne({ _id: doc._id }, { $set: { paidUntil: period.end } });
      doc = { ...doc, paidUntil: period.end };
    }
  }

  /**
   * After a deposit: resumes `userId`'s suspended instances, oldest suspension first, while the balance pays.
   * @returns the ids resumed.
   */
  async resumeSuspended(userId: string, now: Date): Promise<string[]> {
    return withLock(this.o.store, `billing:${userId}`, async () => {
      const suspended = await this.o.store.instances
        .find({ userId, deletedAt: null, suspended: true })
        .sort({ suspendedAt: 1, _id: 1 })
        .toArray();
      const resumed: string[] = [];
      for (const doc of suspended) {
        if (!(await this.tryResume(doc, now))) break;
        resumed.push(doc._id);
      }
      return resumed;
    });
  }

  /** Charges a fresh period from `now` and resumes; false when the balance cannot pay. Caller holds the lock. */
  private async tryResume(doc: InstanceDoc, now: Date): Promise<boolean> {
    const anchorDay = now.getUTCDate();
    const period = { start: now, end: periodEnd(now, anchorDay) };
    try {
      await this.o.wallet.apply(
        doc.userId,
        {
          type: 'charge',
          amountMinor: -this.o.priceMinor,
          idempotencyKey: `charge:${doc._id}:resume:${(doc.suspendedAt ?? doc.paidUntil).toISOString()}`,
          instanceId: doc._id,
          period,
          memo: `Instance ${doc._id} resumed: ${period.start.toISOString().slice(0, 10)} – ${period.end.toISOString().slice(0, 10)}`,
        },
        { requireFunds: true },
      );
    } catch (err) {
      if (err instanceof AppError && err.code === 'insufficient_funds') return false;
      throw err;
    }
    this.o.metrics?.charges.inc({ result: 'charged' });
    await this.o.provider.resume(doc._id);
    await this.o.store.instances.updateOne(
      { _id: doc._id },
      { $set: { suspended: false, suspendedAt: null, paidUntil: period.end, billingAnchorDay: anchorDay } },
    );
    this.o.metrics?.resumptions.inc();
    this.o.logger.info({ instance: doc._id, paidUntil: period.end }, 'instance resumed after payment');
    return true;
  }

  private async suspendInstance(doc: InstanceDoc, now: Date): Promise<void> {
    // Record first: a crash after this leaves a suspended record whose runtime the next run/reconcile stops.
    await this.o.store.instances.updateOne({ _id: doc._id }, { $set: { suspended: true, suspendedAt: now } });
    await this.o.provider.suspend(doc._id).catch((err: unknown) => {
      if (!(err instanceof ProviderError && err.code === 'not_found')) throw err;
      this.o.logger.warn({ instance: doc._id }, 'suspend: the provider has no such instance');
    });
    this.o.metrics?.suspensions.inc();
    this.o.logger.info({ instance: doc._id, paidUntil: doc.paidUntil }, 'instance suspended: the balance cannot pay the next period');
  }

  private async deleteInstance(doc: InstanceDoc): Promise<void> {
    await this.o.provider.delete(doc._id);
    await this.o.store.instances.updateOne({ _id: doc._id }, { $set: { deletedAt: new Date() } });
    this.o.metrics?.deletions.inc();
    this.o.logger.info({ instance: doc._id }, 'instance deleted: its next charge date passed unpaid');
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}
