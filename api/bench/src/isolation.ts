/**
 * `isolation` — how much a saturated instance slows the api every tenant shares (docs/architecture.md, "CPU priority of
 * instances"), on the same machine in the same run (see platform.ts for the set-up):
 * - the probe: the api's own `GET /v1/me` (the tenant's JWT and a read of its account in the database the api shares
 *   with the instance's), one request at a time for `seconds`, each answer timed to the microsecond (not
 *   `GET /v1/instances/:id`: its status asks the saturated instance itself for its health);
 * - with the instance idle, then while autocannon keeps it saturated straight on its public port (`GET
 *   /v1/messages?limit=50`, `connections` at once: the instance, its database server and the client take every CPU the
 *   machine has), in the order idle, busy, busy, idle (a drift of the machine falls on both sides alike);
 * - rows (no goal): the probe's p50 and p99 busy / idle, and how many requests the instance answered meanwhile (its
 *   share of the machine). Run it with `PROCESS_INSTANCE_NICE=0` in the environment to see the api without the
 *   instances' lower CPU priority.
 */
import autocannon from 'autocannon';
import { benchRow } from '@wacloud/testenv';
import type { Platform } from './platform.js';

export interface IsolationOptions {
  seconds: number;
  /** autocannon connections saturating the instance. */
  connections: number;
  log: (line: string) => void;
}

interface Probe {
  /** Latency of each 2xx answer, ms. */
  latencies: number[];
  errors: number;
}

/** `GET /v1/me` with the owner's JWT, one at a time, for `seconds`. */
async function probe(p: Platform, seconds: number): Promise<Probe> {
  const latencies: number[] = [];
  let errors = 0;
  const url = `${p.apiUrl}/v1/me`;
  const headers = { authorization: `Bearer ${p.owner}` };
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    const t = performance.now();
    const res = await fetch(url, { headers }).catch(() => undefined);
    await res?.arrayBuffer().catch(() => undefined);
    if (res?.ok) latencies.push(performance.now() - t);
    else errors++;
  }
  return { latencies, errors };
}

/** Runs `fn` while autocannon saturates the instance straight on its port; returns its result and the instance's answers. */
async function saturated<T>(p: Platform, o: IsolationOptions, fn: () => Promise<T>): Promise<{ value: T; answered: number }> {
  let answered = 0;
  const tracker = autocannon({
    url: `${p.directBase}/v1/messages?limit=50`,
    connections: o.connections,
    duration: o.seconds + 30, // a bound only: stopped when the probe ends
    timeout: 60,
    headers: { authorization: `Bearer ${p.instanceToken}` },
  }) as unknown as autocannon.Instance & PromiseLike<autocannon.Result>;
  let counting = false;
  tracker.on('response', (_client, status) => {
    if (counting && status >= 200 && status < 300) answered++;
  });
  await new Promise((r) => setTimeout(r, 2000)); // every connection open and busy
  counting = true;
  try {
    return { value: await fn(), answered };
  } finally {
    counting = false;
    tracker.stop();
    await tracker;
  }
}

/** The `q` quantile (0–1) of `xs` (nearest rank); NaN when empty. */
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! : Number.NaN;
}

export async function runIsolation(p: Platform, o: IsolationOptions): Promise<void> {
  const idle: Probe[] = [];
  const busy: Probe[] = [];
  let instanceAnswers = 0;
  for (const side of ['idle', 'busy', 'busy', 'idle'] as const) {
    if (side === 'idle') {
      await new Promise((r) => setTimeout(r, 2000)); // the instance's backlog worked off
      idle.push(await probe(p, o.seconds));
    } else {
      const r = await saturated(p, o, () => probe(p, o.seconds));
      busy.push(r.value);
      instanceAnswers += r.answered;
    }
    o.log(`  ${side}: ${busy.length + idle.length} runs`);
  }
  const pool = (runs: Probe[]) => ({ latencies: runs.flatMap((r) => r.latencies), errors: runs.reduce((n, r) => n + r.errors, 0) });
  const i = pool(idle);
  const b = pool(busy);
  if (!i.latencies.length || !b.latencies.length)
    throw new Error(`isolation: the api answered no probe (errors idle ${i.errors}, busy ${b.errors})`);
  const fig = (x: ReturnType<typeof pool>) =>
    `${x.latencies.length} answers, p50 ${quantile(x.latencies, 0.5).toFixed(2)} p99 ${quantile(x.latencies, 0.99).toFixed(2)} ms, ${x.errors} errors`;
  const nice = process.env.PROCESS_INSTANCE_NICE ?? 'default (10)';
  const note = `api GET /v1/me one at a time: idle ${fig(i)}; busy ${fig(b)}; the instance answered ${(instanceAnswers / (2 * o.seconds)).toFixed(0)} req/s of GET /v1/messages?limit=50 at c=${o.connections} meanwhile; PROCESS_INSTANCE_NICE ${nice}`;
  o.log(note);
  const reproduce = `npm run bench -w api -- isolation --seconds ${o.seconds}`;
  for (const [q, label] of [
    [0.5, 'p50'],
    [0.99, 'p99'],
  ] as const) {
    benchRow({
      component: 'api',
      figure: `isolation: the api's own GET /v1/me ${label} while an instance is saturated / idle`,
      value: quantile(b.latencies, q) / quantile(i.latencies, q),
      unit: '×',
      goal: '',
      note,
      reproduce,
    });
  }
}
