/**
 * prom-client's default process and Node.js metrics, minus the three gauges whose names `promtool check metrics`
 * rejects ("non-counter metrics should not have _total suffix"): `nodejs_active_{handles,requests,resources}_total`.
 * Their totals stay available as `sum(nodejs_active_handles)` etc. (the same gauges by `type`).
 */
import './lazy-otel.js'; // before prom-client: @opentelemetry/api loads at first use
import { collectDefaultMetrics, type Registry } from 'prom-client';

/** The `_total`-suffixed gauges of prom-client's defaults that are dropped. */
export const LINT_FAILING_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** Registers prom-client's default metrics on `registry`, without {@link LINT_FAILING_DEFAULT_METRICS}. */
export function collectLintCleanDefaultMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of LINT_FAILING_DEFAULT_METRICS) registry.removeSingleMetric(name);
}
