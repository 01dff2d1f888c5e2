/**
 * The instances' resource metrics on the api's registry, for providers that report them themselves
 * ({@link InstanceProvider.memoryUsage}: the process provider; containers and pods have their runtime's):
 * - `wacloud_instance_memory_bytes{instance_id}`: memory each running instance uses, bytes, read when scraped — its
 *   processes and browsers with their page cache, what its memory limit is measured against (docs/architecture.md,
 *   "Memory limits of instances"). The label is `instance_id`, not `instance`, which Prometheus gives the scraped
 *   target.
 */
import { Gauge, type Registry } from 'prom-client';
import type { InstanceProvider } from './provider.js';

/** Registers the gauges above on `registry` when `provider` reports usage; otherwise nothing. */
export function registerInstanceMetrics(registry: Registry, provider: Pick<InstanceProvider, 'memoryUsage'>): void {
  if (!provider.memoryUsage) return;
  const usage = () => provider.memoryUsage!();
  new Gauge({
    name: 'wacloud_instance_memory_bytes',
    help: 'Memory a running instance uses (its processes and browsers, with their page cache: what its memory limit counts), bytes',
    labelNames: ['instance_id'],
    registers: [registry],
    collect() {
      this.reset(); // instances stopped since the last scrape are gone
      for (const [id, bytes] of usage()) this.set({ instance_id: id }, bytes);
    },
  });
}
