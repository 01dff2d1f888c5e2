import { Registry } from 'prom-client';
import { LINT_FAILING_DEFAULT_METRICS, collectLintCleanDefaultMetrics } from '../src/index.js';

describe('collectLintCleanDefaultMetrics', () => {
  test('registers the default metrics but no gauge named like a counter (promtool check metrics)', async () => {
    const registry = new Registry();
    collectLintCleanDefaultMetrics(registry);
    const text = await registry.metrics();
    expect(text).toMatch(/^# TYPE nodejs_active_handles gauge$/m);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text.match(/^# TYPE \S+_total (gauge|untyped|histogram|summary)$/gm)).toBeNull();
    for (const name of LINT_FAILING_DEFAULT_METRICS) expect(text).not.toContain(`${name} `);
  });
});
