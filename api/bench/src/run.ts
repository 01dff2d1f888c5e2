/**
 * Benchmarks of the api: `npm run bench -w api [-- billing|gateway|webhooks|contacts …] [--json] [sizes…]` (all four
 * when none is named, as `make bench` runs it; `inbox` and `live-tail` only when named). Compiled by
 * `bench/tsconfig.json` against the built api (`dist/`), so benchmark code is neither in `src/` nor in the api image.
 * Each bench records its figures with testenv's `benchRow` (the table `make bench` prints at the end).
 *
 * Sizes (flag, else environment variable, else default):
 *   --instances / BENCH_BILLING_INSTANCES billing: due instances                                default 10000
 *   --seconds / BENCH_SECONDS       gateway, webhooks, isolation: seconds per autocannon run / probe  default 10
 *   --ws-events / BENCH_WS_EVENTS   gateway: inbound messages per WebSocket relay burst   default 10000
 *   --messages / BENCH_WEBHOOK_MESSAGES   webhooks: inbound messages in the burst               default 5000
 *   --stall-ms / BENCH_WEBHOOK_STALL_MS   webhooks: give up after this long without a delivery  default 60000
 *   --timeout-seconds / BENCH_WEBHOOK_TIMEOUT_SECONDS  webhooks: give up after this long in all (figures of what arrived) default 900
 *   --rows / BENCH_CONTACT_ROWS     contacts: rows of the imported table (half synced contacts)  default 100000
 *   --concurrency / BENCH_GATEWAY_CONCURRENCY  gateway: only this autocannon concurrency (0: 1, 16 and 64)  default 0
 *   --rounds / BENCH_GATEWAY_ROUNDS  gateway: rounds of direct, gateway, bare, bare, gateway, direct per row  default 2
 */
import { benchLog as log, parseBenchArgs, runBench, type BenchSize } from '@wacloud/testenv';
import { runBillingBench } from './billing.js';
import { runContacts } from './contacts.js';
import { runGateway } from './gateway.js';
import { runIsolation } from './isolation.js';
import { startPlatform } from './platform.js';
import { runWebhooks } from './webhooks.js';

const SIZE_SOURCES = {
  instances: { flag: 'instances', env: 'BENCH_BILLING_INSTANCES', def: 10_000, min: 1 },
  seconds: { flag: 'seconds', env: 'BENCH_SECONDS', def: 10, min: 1 },
  wsEvents: { flag: 'ws-events', env: 'BENCH_WS_EVENTS', def: 10_000, min: 1, max: 10_000 },
  messages: { flag: 'messages', env: 'BENCH_WEBHOOK_MESSAGES', def: 5000, min: 1, max: 10_000 },
  stallMs: { flag: 'stall-ms', env: 'BENCH_WEBHOOK_STALL_MS', def: 60_000, min: 1000 },
  timeoutS: { flag: 'timeout-seconds', env: 'BENCH_WEBHOOK_TIMEOUT_SECONDS', def: 900, min: 10 },
  rows: { flag: 'rows', env: 'BENCH_CONTACT_ROWS', def: 100_000, min: 2 },
  concurrency: { flag: 'concurrency', env: 'BENCH_GATEWAY_CONCURRENCY', def: 0, min: 0 },
  rounds: { flag: 'rounds', env: 'BENCH_GATEWAY_ROUNDS', def: 2, min: 1 },
} satisfies Record<string, BenchSize>;

type Sizes = Record<keyof typeof SIZE_SOURCES, number>;

/** The benchmarks, in the order they run; each a line. */
const BENCHES: Record<string, (s: Sizes, json: boolean) => Promise<void>> = {
  billing: (s, json) => runBillingBench(s.instances, json),
  gateway: (s) =>
    onPlatform((p) =>
      runGateway(p, {
        seconds: s.seconds,
        concurrencies: s.concurrency ? [s.concurrency] : [1, 16, 64],
        wsEvents: s.wsEvents,
        rounds: s.rounds,
        log,
      }),
    ),
  webhooks: (s) =>
    onPlatform((p) => runWebhooks(p, { messages: s.messages, seconds: s.seconds, stallMs: s.stallMs, timeoutMs: s.timeoutS * 1000, log })),
  isolation: (s) => onPlatform((p) => runIsolation(p, { seconds: s.seconds, connections: 16, log })),
  contacts: async (s, json) => {
    if (!(await runContacts(s.rows, json))) throw new Error('contacts: the import left the wrong counts');
  },
};

/** Runs `fn` on a fresh platform (platform.ts), stopped afterwards. */
async function onPlatform(fn: (p: Awaited<ReturnType<typeof startPlatform>>) => Promise<void>): Promise<void> {
  const p = await startPlatform(log);
  try {
    await fn(p);
  } finally {
    await p.stop();
  }
}

const NAMES = Object.keys(BENCHES) as Array<keyof typeof BENCHES & string>;

async function main(): Promise<void> {
  // inbox.ts (issue 15: live socket delays) has its own flags and runs only when named.
  if (process.argv[2] === 'inbox') return (await import('./inbox.js')).main(process.argv.slice(3));
  // live-tail.ts (the live log's tail under a burst) likewise.
  if (process.argv[2] === 'live-tail') return (await import('./live-tail.js')).main(process.argv.slice(3));
  const { benches, json, sizes } = parseBenchArgs(process.argv.slice(2), {
    benches: NAMES,
    sizes: SIZE_SOURCES,
    usage: `usage: npm run bench -w api -- [${NAMES.join('|')}] [--json] [--instances N] [--seconds S] [--ws-events E] [--concurrency C] [--rounds R] [--messages M] [--stall-ms MS] [--timeout-seconds T]\n`,
  });
  const failures: string[] = [];
  for (const name of benches) {
    try {
      await BENCHES[name]!(sizes, json);
    } catch (err) {
      // One bench's failure does not hide the others' figures; the run still exits 1.
      process.stderr.write(`bench ${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      failures.push(name);
    }
  }
  if (failures.length) throw new Error(`failed: ${failures.join(', ')}`);
}

runBench(main);
