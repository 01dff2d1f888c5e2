/**
 * Prometheus metrics with controller-runtime's names, labels, help texts and buckets
 * (pkg/internal/controller/metrics, pkg/metrics/workqueue.go, pkg/metrics/leaderelection.go), on a registry of
 * our own (never prom-client's global one, so tests can create many). The queue, controller and elector only see
 * the small interfaces they declare; this file implements them.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ControllerMetrics, ReconcileOutcome } from './controller.js';
import type { LeaderElectionMetrics } from './leader-election.js';
import type { WorkQueueMetrics } from './workqueue.js';

/** controller-runtime's `controller_runtime_reconcile_time_seconds` buckets, s. */
export const RECONCILE_TIME_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5,
  4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
/** client-go's workqueue duration buckets: `ExponentialBuckets(10e-9, 10, 12)` = 10 ns … 1000 s. */
export const WORKQUEUE_DURATION_BUCKETS = Array.from({ length: 12 }, (_, i) => Number((1e-8 * 10 ** i).toPrecision(1)));

export interface OperatorMetricsOptions {
  /** Also register prom-client's default process/Node.js metrics (`process_*`, `nodejs_*`). Default true. */
  defaultMetrics?: boolean;
}

/** The registry plus typed factories for the runtime's components. */
export interface OperatorMetrics {
  readonly registry: Registry;
  /** Metrics handle for the work queue named `name` (label `name`). */
  workqueue(name: string): WorkQueueMetrics;
  /** Metrics handle for the controller named `name` (label `controller`). */
  controller(name: string): ControllerMetrics;
  /** Metrics handle for the lease named `name` (label `name`). */
  leaderElection(name: string): LeaderElectionMetrics;
  /** The raw prom-client collectors (for tests and ad-hoc reads). */
  readonly collectors: OperatorCollectors;
}

export interface OperatorCollectors {
  reconcileTotal: Counter<'controller' | 'result'>;
  reconcileErrors: Counter<'controller'>;
  reconcilePanics: Counter<'controller'>;
  reconcileTime: Histogram<'controller'>;
  maxConcurrentReconciles: Gauge<'controller'>;
  activeWorkers: Gauge<'controller'>;
  depth: Gauge<'name'>;
  adds: Counter<'name'>;
  retries: Counter<'name'>;
  queueDuration: Histogram<'name'>;
  workDuration: Histogram<'name'>;
  unfinishedWork: Gauge<'name'>;
  longestRunningProcessor: Gauge<'name'>;
  leaderStatus: Gauge<'name'>;
  leaderSlowpath: Counter<'name'>;
}

/** Creates a fresh registry with every runtime metric registered (and process metrics unless disabled). */
export function createOperatorMetrics(opts: OperatorMetricsOptions = {}): OperatorMetrics {
  const registry = new Registry();
  const registers = [registry];
  const c: OperatorCollectors = {
    reconcileTotal: new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'] as const,
      registers,
    }),
    reconcileErrors: new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'] as const,
      registers,
    }),
    reconcilePanics: new Counter({
      name: 'controller_runtime_reconcile_panics_total',
      help: 'Total number of reconciliation panics per controller',
      labelNames: ['controller'] as const,
      registers,
    }),
    reconcileTime: new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'] as const,
      buckets: RECONCILE_TIME_BUCKETS,
      registers,
    }),
    maxConcurrentReconciles: new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'] as const,
      registers,
    }),
    activeWorkers: new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'] as const,
      registers,
    }),
    depth: new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name'] as const, registers }),
    adds: new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name'] as const,
      registers,
    }),
    retries: new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name'] as const,
      registers,
    }),
    queueDuration: new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name'] as const,
      buckets: WORKQUEUE_DURATION_BUCKETS,
      registers,
    }),
    workDuration: new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes.',
      labelNames: ['name'] as const,
      buckets: WORKQUEUE_DURATION_BUCKETS,
      registers,
    }),
    unfinishedWork: new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help:
        "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. " +
        'Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.',
      labelNames: ['name'] as const,
      registers,
    }),
    longestRunningProcessor: new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: ['name'] as const,
      registers,
    }),
    leaderStatus: new Gauge({
      name: 'leader_election_master_status',
      help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease.",
      labelNames: ['name'] as const,
      registers,
    }),
    leaderSlowpath: new Counter({
      name: 'leader_election_slowpath_total',
      help: "Total number of slow path exercised in renewing leader leases. 'name' is the string used to identify the lease.",
      labelNames: ['name'] as const,
      registers,
    }),
  };
  if (opts.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // Gauges named like counters, which `promtool check metrics` rejects (as @wacloud/kit's collectLintCleanDefaultMetrics).
    for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
      registry.removeSingleMetric(n);
  }

  return {
    registry,
    collectors: c,
    workqueue(name: string): WorkQueueMetrics {
      const l = { name };
      // Create the series up front so they show (as 0) before the first add, as in Go.
      const depth = c.depth.labels(l);
      depth.set(0);
      const adds = c.adds.labels(l);
      adds.inc(0);
      const retries = c.retries.labels(l);
      retries.inc(0);
      const queueDuration = c.queueDuration.labels(l);
      const workDuration = c.workDuration.labels(l);
      const unfinished = c.unfinishedWork.labels(l);
      unfinished.set(0);
      const longest = c.longestRunningProcessor.labels(l);
      longest.set(0);
      return {
        add(d) {
          adds.inc();
          depth.set(d);
        },
        get(d, queuedSeconds) {
          depth.set(d);
          queueDuration.observe(queuedSeconds);
        },
        done(workSeconds) {
          workDuration.observe(workSeconds);
        },
        retry() {
          retries.inc();
        },
        unfinished(total, longestSeconds) {
          unfinished.set(total);
          longest.set(longestSeconds);
        },
      };
    },
    controller(name: string): ControllerMetrics {
      const l = { controller: name };
      const active = c.activeWorkers.labels(l);
      active.set(0);
      const time = c.reconcileTime.labels(l);
      const errors = c.reconcileErrors.labels(l);
      errors.inc(0);
      const panics = c.reconcilePanics.labels(l);
      panics.inc(0);
      const totals = {} as Record<ReconcileOutcome, ReturnType<typeof c.reconcileTotal.labels>>;
      for (const result of ['success', 'error', 'requeue', 'requeue_after'] as const) {
        totals[result] = c.reconcileTotal.labels({ controller: name, result });
        totals[result].inc(0);
      }
      return {
        setMaxConcurrentReconciles(n) {
          c.maxConcurrentReconciles.labels(l).set(n);
        },
        activeWorkers(delta) {
          active.inc(delta);
        },
        reconciled(outcome, seconds) {
          totals[outcome].inc();
          time.observe(seconds);
          if (outcome === 'error') errors.inc();
        },
        panicked() {
          panics.inc();
        },
      };
    },
    leaderElection(name: string): LeaderElectionMetrics {
      const status = c.leaderStatus.labels({ name });
      status.set(0);
      const slow = c.leaderSlowpath.labels({ name });
      return {
        leading(isLeader) {
          status.set(isLeader ? 1 : 0);
        },
        slowpath() {
          slow.inc();
        },
      };
    },
  };
}

/** Current value of a counter or gauge series (labels must match exactly); undefined when absent. For tests. */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const m = registry.getSingleMetric(name);
  if (!m) return undefined;
  const data = await m.get();
  const want = Object.entries(labels);
  const found = data.values.find((v) => {
    const lv = v.labels as Record<string, string | number | undefined>;
    const metricName = (v as { metricName?: string }).metricName;
    return (
      (metricName === undefined || metricName === name) &&
      want.every(([k, val]) => String(lv[k]) === val) &&
      Object.keys(lv).length === want.length
    );
  });
  return found?.value;
}

/** `_count` and `_sum` of a histogram series; undefined when absent. For tests. */
export async function histogramCount(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<{ count: number; sum: number } | undefined> {
  const m = registry.getSingleMetric(name);
  if (!m) return undefined;
  const data = await m.get();
  const match = (v: { labels: object }) =>
    Object.entries(labels).every(([k, val]) => String((v.labels as Record<string, unknown>)[k]) === val);
  const values = data.values as Array<{ labels: object; value: number; metricName?: string }>;
  const count = values.find((v) => v.metricName === `${name}_count` && match(v));
  const sum = values.find((v) => v.metricName === `${name}_sum` && match(v));
  if (!count || !sum) return undefined;
  return { count: count.value, sum: sum.value };
}
