/** The billing run's summary and its Prometheus metrics. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

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
  /** Charges in flight left by an interrupted operation, settled now (completed or rolled back; `billing/intents.ts`). */
  recovered: number;
  /** Suspended instances whose suspension was applied to the provider again (a failed or interrupted one is retried). */
  reapplied: number;
  failed: number;
  errors: Array<{ instanceId: string; error: string }>;
  durationMs: number;
}

/** A summary with every count at zero. */
export function emptySummary(now: Date): BillingSummary {
  return {
    now: now.toISOString(),
    due: 0,
    charged: 0,
    alreadyCharged: 0,
    suspended: 0,
    resumed: 0,
    deleted: 0,
    recovered: 0,
    reapplied: 0,
    failed: 0,
    errors: [],
    durationMs: 0,
  };
}

export interface BillingMetrics {
  charges: Counter<'result'>;
  suspensions: Counter;
  resumptions: Counter;
  deletions: Counter;
  recoveries: Counter<'result'>;
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
    recoveries: new Counter({
      name: 'wacloud_billing_intents_settled_total',
      help: 'Charges in flight left by an interrupted operation, settled by billing (result: completed|rolled_back)',
      labelNames: ['result'],
      registers,
    }),
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
