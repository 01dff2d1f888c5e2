/**
 * Stand-ins in `require`'s cache (`src/lazy-require.ts`): a fresh `node` whose kit collects and serves prom-client's
 * default metrics has not loaded `@opentelemetry/api` (prom-client requires it for exemplars, never enabled here); the
 * stand-in prom-client got forwards to the real module, loaded at that first use.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const kitDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('kit with default metrics collected and scraped loads @opentelemetry/api only when it is used', async () => {
  const dist = JSON.stringify(pathToFileURL(path.join(kitDir, 'dist', 'index.js')).href);
  const code = `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    const otel = () => Object.keys(require.cache).filter((f) => f.includes('/node_modules/@opentelemetry/api/')).length;
    const { collectLintCleanDefaultMetrics } = await import(${dist});
    const { Registry } = await import('prom-client');
    const registry = new Registry();
    collectLintCleanDefaultMetrics(registry);
    const scraped = (await registry.metrics()).includes('process_cpu_user_seconds_total');
    const idle = otel();
    const api = createRequire(require.resolve('prom-client'))('@opentelemetry/api');
    console.log(JSON.stringify({
      scraped, idle,
      span: api.trace.getSpan(api.context.active()) ?? null,
      keys: ['trace', 'context', 'propagation'].every((k) => k in api && Object.keys(api).includes(k)),
      used: otel() > 1,
    }));`;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: kitDir, env });
  // idle: the stand-in's own cache entry, nothing of the real package.
  expect(JSON.parse(stdout.trim())).toEqual({ scraped: true, idle: 1, span: null, keys: true, used: true });
}, 60_000);
