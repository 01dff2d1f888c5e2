#!/usr/bin/env node
/**
 * `billing run [--now <ISO 8601>]` — the daily billing job (the Kubernetes CronJob's command, `node
 * dist/billing-cli.js run`). Same environment as the api (MONGODB_URI, PROVIDER, …). Prints a human summary and a
 * final JSON line; exits 1 when any instance failed (the next run retries it), 2 on bad usage. Safe to run again,
 * or twice at once: every period is charged once (see billing.ts).
 */
import { Billing } from './billing.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { createProvider } from './providers/index.js';
import { openApiStore } from './store.js';
import { Wallet } from './wallet.js';

function usage(msg: string): never {
  process.stderr.write(`${msg}\nusage: billing run [--now <ISO 8601 time>]\n`);
  process.exit(2);
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd !== 'run') usage(`unknown command: ${cmd ?? '(none)'}`);
let now = new Date();
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--now') {
    const v = args[++i];
    if (!v || Number.isNaN(Date.parse(v))) usage(`--now needs an ISO 8601 time, got ${v ?? 'nothing'}`);
    now = new Date(v);
  } else usage(`unknown argument: ${args[i]}`);
}
let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) usage(err.message);
  throw err;
}
const logger = createLogger(config.logLevel);
const store = await openApiStore(config.mongodbUri);
const provider = await createProvider(config, logger);
try {
  const billing = new Billing({ store, wallet: new Wallet(store), provider, priceMinor: config.priceMonthlyMinor, logger });
  const s = await billing.run(now);
  process.stdout.write(
    `billing ${s.now}: ${s.due} due, ${s.charged} charged, ${s.alreadyCharged} already charged, ${s.suspended} suspended, ` +
      `${s.resumed} resumed, ${s.deleted} deleted, ${s.recovered} interrupted charges settled, ${s.reapplied} suspensions re-applied, ` +
      `${s.failed} failed (${s.durationMs} ms)\n${JSON.stringify(s)}\n`,
  );
  process.exitCode = s.failed > 0 ? 1 : 0;
} finally {
  await provider.close();
  await store.close();
}
