/**
 * `gateway` — what every client request costs through the api's gateway (api → instance) against the same request
 * straight to the instance, on the same machine in the same run (see platform.ts for the set-up):
 * - `GET /v1/messages?limit=50` (200 stored messages) and `POST /v1/messages` (a text, 202 queued) with autocannon at
 *   concurrency 1, 16 and 64, each run measured for `seconds` once all its connections are open and answered (the
 *   warm-up, see {@link load}; its length is in the notes), `rounds` times in the order direct, gateway, bare, bare,
 *   gateway, direct (a drift of the machine's load, or of the instance as its database grows, falls on every side
 *   alike; more rounds, less weight on one slow minute), each run after the instance has worked off the previous one's
 *   backlog. Per side the runs' requests are summed and the latency percentiles taken over all its runs' 2xx answers,
 *   each timed to the microsecond (autocannon's own histogram keeps whole milliseconds, too coarse at concurrency 1
 *   where a request takes 2–3 ms).
 * - Where the gateway's time went: the api's `wacloud_gateway_own_seconds` and `wacloud_gateway_upstream_seconds`
 *   (api/src/gateway/metrics.ts) over the gateway's runs (scraped before and after a row: only those runs go through
 *   the gateway), their p50 and p99 in the
 *   notes and the own time's p99 as a row of its own (no goal): a gateway p99 above the bare proxy's with a small own
 *   p99 is time before the api saw the request, or the instance's.
 *   Ratios: p50 and p99 latency gateway / direct (goal ≤ 1.3), throughput gateway / direct (goal ≥ 0.75).
 * - Where the machine's CPU went: per run, from before it until the instance has worked off its backlog, the machine's
 *   busy CPU time, the api's and the bare proxy's, each divided by the run's 2xx answers (warm-up included). On CPUs
 *   kept busy by the load, latency grows with the CPU a request costs the whole machine (client, proxy, instance,
 *   database server), so gateway / direct at p50 tracks the machine's CPU per request through the gateway over
 *   direct. The api works on every side (it ingests the events a sent message raises), so the gateway's own CPU per
 *   request is the api's through it less the api's per direct request. In the notes, and the gateway's own CPU per
 *   request over the bare proxy's as a row (no goal).
 * - The floor of those ratios on this machine: the same load through a bare Node proxy (bare-proxy.ts: Node's HTTP
 *   server and undici, with the gateway's cap of connections per instance, nothing else) in its own process — what any
 *   gateway that is a separate Node process pays for the extra hop. Its ratios to direct are recorded as rows of their
 *   own (no goal), and in each gateway row's note.
 * - At concurrency 1, the transport floor too: the same load through a TCP pipe (tcp-pipe.ts: a process copying bytes
 *   both ways, no HTTP) in its rounds, next to direct — the two loopback hops alone; the gateway's extra p50 is split in
 *   the notes into that transport, HTTP in a second Node process and the gateway's own work. No goal.
 * - WebSocket relay: `/v1/events` through the gateway vs direct, one socket at a time (ABBA), while the simulated
 *   network sends a burst of `wsEvents` inbound messages; events/s = message events received / (last one − burst sent).
 *   Ratio gateway / direct, goal ≥ 0.8.
 * Any non-2xx answer or socket error is counted and reported; the benchmark fails when a side answers none right.
 */
import autocannon from 'autocannon';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { DEFAULT_UPSTREAM_CONNECTIONS } from '../../dist/gateway.js';
import { CLK_TCK, benchRow, cpuDelta, cpuSnapshot, machineCpuTicks, startProcess } from '@wacloud/testenv';
import type { Platform } from './platform.js';
import { bucketDelta, bucketQuantile, readBuckets, type Buckets } from './prom-histogram.js';

export interface GatewayOptions {
  seconds: number;
  concurrencies: number[];
  wsEvents: number;
  /** Rounds of direct, gateway, bare, bare, gateway, direct per route and concurrency. */
  rounds: number;
  log: (line: string) => void;
}

interface Side {
  requests: number;
  seconds: number;
  errors: number;
  /** ms, over the 2xx answers of the side's runs. */
  p50: number;
  p99: number;
  /** Each run's warm-up, ms (see {@link load}). */
  warmups: number[];
  /** CPU per 2xx answer (warm-ups and the backlog included), ms: the machine's, the api's, the bare proxy's. */
  cpuPerRequestMs: number;
  apiCpuPerRequestMs: number;
  bareCpuPerRequestMs: number;
}

interface Run {
  /** 2xx answers completed in the measured window. */
  requests: number;
  /** The measured window, s. */
  seconds: number;
  /** Non-2xx answers and socket errors over the whole run, warm-up included. */
  errors: number;
  /** Latency of each measured 2xx answer, ms (microsecond resolution). */
  latencies: number[];
  /** From the first request until every connection had its first answer, plus {@link SETTLE_MS}; ms. */
  warmupMs: number;
  /** 2xx answers over the whole run, warm-up included. */
  answered: number;
  /** Busy CPU time over the run and the instance's backlog after it, ms: the machine's (all CPUs), the api's, the bare proxy's. */
  cpuMs: number;
  apiCpuMs: number;
  bareCpuMs: number;
}

/** After every connection's first answer the measured window opens this much later, ms. */
const SETTLE_MS = 1000;
/** Longest warm-up: the window opens then even if a connection is still unanswered, ms. */
const MAX_WARMUP_MS = 20_000;

/**
 * One autocannon run of `connections` against `url`, measured after a warm-up: a busy Node server accepts one new
 * connection per turn of its event loop (libuv 1.52 in the Node 24 used here), so the connections a run opens join
 * one by one — at concurrency 64 against a loaded instance over up to ~5 s, with their first requests waiting that
 * long — and a 10-second run's p99 would be that ramp's, on whichever side it fell hardest (BENCHMARKS.md, "Gateway:
 * connections and warm-up"). The window of `seconds` opens {@link SETTLE_MS} after every connection has had its first
 * answer (at most {@link MAX_WARMUP_MS} after the start); the 2xx answers completed in it are measured (their
 * latencies, and throughput = their count / `seconds`); autocannon is stopped when it closes.
 */
async function load(
  url: string,
  method: 'GET' | 'POST',
  token: string,
  connections: number,
  seconds: number,
  body?: string,
): Promise<Omit<Run, 'cpuMs' | 'apiCpuMs' | 'bareCpuMs'>> {
  const latencies: number[] = [];
  // Without a callback autocannon returns its tracker (an EventEmitter that is also the result's promise).
  const tracker = autocannon({
    url,
    method,
    connections,
    duration: (MAX_WARMUP_MS + SETTLE_MS) / 1000 + seconds + 5, // a bound only: stopped when the window closes
    timeout: 60,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body } : {}),
  }) as unknown as autocannon.Instance & PromiseLike<autocannon.Result>;
  const t0 = performance.now();
  const answered = new Set<unknown>();
  let from = Number.POSITIVE_INFINITY; // the window, performance.now() ms
  let to = Number.POSITIVE_INFINITY;
  const open = (at: number) => {
    from = at;
    to = at + seconds * 1000;
    setTimeout(() => tracker.stop(), to - performance.now());
  };
  const cap = setTimeout(() => from === Number.POSITIVE_INFINITY && open(performance.now()), MAX_WARMUP_MS);
  let requests = 0;
  let ok = 0;
  tracker.on('response', (client, status, _bytes, ms) => {
    const now = performance.now();
    if (status >= 200 && status < 300) ok++;
    if (from === Number.POSITIVE_INFINITY) {
      answered.add(client);
      if (answered.size === connections) {
        clearTimeout(cap);
        open(now + SETTLE_MS);
      }
      return;
    }
    if (status < 200 || status >= 300 || now < from || now > to) return;
    requests++;
    latencies.push(ms);
  });
  const result = await tracker;
  clearTimeout(cap);
  return {
    requests,
    seconds,
    errors: result.non2xx + result.errors,
    latencies,
    warmupMs: from - t0,
    answered: ok,
  };
}

/**
 * Waits until the instance has worked off what a run left queued (autocannon stops sending, not the instance
 * working): a direct `GET /v1/messages?limit=1` answered within a second, at most `maxMs`.
 */
async function drain(p: Platform, maxMs = 120_000): Promise<void> {
  const until = performance.now() + maxMs;
  while (performance.now() < until) {
    const t = performance.now();
    await fetch(`${p.directBase}/v1/messages?limit=1`, { headers: { authorization: `Bearer ${p.instanceToken}` } })
      .then((r) => r.arrayBuffer())
      .catch(() => undefined);
    if (performance.now() - t < 1000) return;
  }
}

/** The `q` quantile (0–1) of sorted `xs` (nearest rank); NaN when empty. */
function quantile(xs: number[], q: number): number {
  return xs.length ? xs[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]! : Number.NaN;
}

/** The runs of one side pooled: requests and time summed, percentiles over all their answers. */
function pool(runs: Run[]): Side {
  const all = runs.flatMap((r) => r.latencies).sort((x, y) => x - y);
  const sum = (f: (r: Run) => number) => runs.reduce((n, r) => n + f(r), 0);
  return {
    requests: sum((r) => r.requests),
    seconds: sum((r) => r.seconds),
    errors: sum((r) => r.errors),
    p50: quantile(all, 0.5),
    p99: quantile(all, 0.99),
    warmups: runs.map((r) => r.warmupMs),
    cpuPerRequestMs: sum((r) => r.cpuMs) / sum((r) => r.answered),
    apiCpuPerRequestMs: sum((r) => r.apiCpuMs) / sum((r) => r.answered),
    bareCpuPerRequestMs: sum((r) => r.bareCpuMs) / sum((r) => r.answered),
  };
}

/** The api's gateway histograms of one method (see the file's docstring). */
interface Split {
  own: Buckets;
  upstream: Buckets;
}

/** The gateway's histograms for `method` on the api's metrics page. */
async function gatewayHistograms(p: Platform, method: string): Promise<Split> {
  const text = await (await fetch(`${p.apiMetricsUrl}/metrics`)).text();
  return {
    own: readBuckets(text, 'wacloud_gateway_own_seconds', { method }),
    upstream: readBuckets(text, 'wacloud_gateway_upstream_seconds', { method }),
  };
}

/**
 * Starts a floor in front of `upstream` as its own process: bare-proxy.ts (`bare`) or tcp-pipe.ts (`pipe`); resolves
 * with its base URL, its pid and a stop function.
 */
async function startFloor(kind: 'bare' | 'pipe', upstream: string): Promise<{ base: string; pid: number; stop: () => Promise<unknown> }> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), kind === 'bare' ? 'bare-proxy.js' : 'tcp-pipe.js');
  const proc = startProcess({
    command: process.execPath,
    args: [script],
    env: { ...process.env, NODE_OPTIONS: '', UPSTREAM: upstream, UPSTREAM_CONNECTIONS: String(DEFAULT_UPSTREAM_CONNECTIONS) },
  });
  const port = (await proc.waitForOutput(/(?:bare proxy|tcp pipe) listening on (\d+)/, 20_000))[1];
  return { base: `http://127.0.0.1:${port}`, pid: proc.pid, stop: () => proc.stop(5_000) };
}

/** `ms` to two decimals (for the notes). */
const ms2 = (x: number) => x.toFixed(2);
/** `ms` to three decimals (CPU per request). */
const ms3 = (x: number) => x.toFixed(3);

async function wsRun(url: string, token: string, p: Platform, from: string, count: number): Promise<{ perSec: number; received: number }> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const tag = `ws${Date.now().toString(36)}`;
  let received = 0;
  let last = 0;
  const done = new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      const e = JSON.parse(String(data)) as { event: string; data: { body?: string; fromMe?: boolean } };
      if (e.event === 'message' && !e.data.fromMe && e.data.body?.startsWith(tag)) {
        received++;
        last = performance.now();
        if (received === count) resolve();
      }
    });
  });
  const t0 = performance.now();
  const r = await p.simnet('/hooks/burst', { from, to: p.phone, text: tag, count });
  if (r.status !== 201) throw new Error(`burst: ${r.status} ${JSON.stringify(r.body)}`);
  await Promise.race([done, new Promise((res) => setTimeout(res, 120_000))]);
  ws.close();
  return { perSec: received / ((last - t0) / 1000), received };
}

/**
 * Prints and records the TCP pipe's rows of a route at concurrency 1 (no goal): its p50 and p99 over direct — the
 * hop's transport alone — with, in the notes, how the gateway's extra p50 over direct splits into that transport, HTTP
 * in a second Node process (the bare proxy over the pipe) and the gateway's own work (the gateway over the bare proxy).
 */
function recordPipe(name: string, [direct, gw, bare]: [Side, Side, Side], pipe: Side, reproduce: string): void {
  if (direct.requests === 0 || pipe.requests === 0) return;
  const rate = (s: Side) => s.requests / s.seconds;
  const extra = gw.p50 - direct.p50;
  const share = (from: number, to: number) => (extra > 0 ? `${(((to - from) / extra) * 100).toFixed(0)} %` : 'n/a');
  const split = `of the gateway's p50 over direct (${ms2(extra)} ms): the transport ${share(direct.p50, pipe.p50)}, HTTP in a second Node process (bare proxy over the pipe) ${share(pipe.p50, bare.p50)}, the gateway's own work (gateway over the bare proxy) ${share(bare.p50, gw.p50)}`;
  const note = `tcp pipe ${rate(pipe).toFixed(0)} req/s p50 ${ms2(pipe.p50)} p99 ${ms2(pipe.p99)} ms (direct p50 ${ms2(direct.p50)} p99 ${ms2(direct.p99)}); pipe / direct: p50 ${(pipe.p50 / direct.p50).toFixed(2)}, p99 ${(pipe.p99 / direct.p99).toFixed(2)}, throughput ${(rate(pipe) / rate(direct)).toFixed(2)}; bare proxy / direct: p50 ${(bare.p50 / direct.p50).toFixed(2)}, p99 ${(bare.p99 / direct.p99).toFixed(2)}; ${split}; errors ${pipe.errors}`;
  console.log(`  ${name} c=1 through a TCP pipe (no HTTP): ${note}`);
  const row = (figure: string, value: number) =>
    benchRow({ component: 'api', figure: `gateway ${name} c=1 ${figure}`, value, unit: '×', goal: '—', reproduce, note });
  row('p50 latency TCP pipe (the hop without HTTP) / direct', pipe.p50 / direct.p50);
  row('p99 latency TCP pipe (the hop without HTTP) / direct', pipe.p99 / direct.p99);
}

/** Prints one route × concurrency and records its rows: gateway / direct (with goals) and the bare proxy's floor. */
function recordRoute(
  name: string,
  c: number,
  [direct, gw, bare]: [Side, Side, Side],
  inGateway: Split,
  reproduce: string,
  log: (l: string) => void,
): void {
  if (direct.requests === 0 || gw.requests === 0 || bare.requests === 0) log(`${name} c=${c}: a side answered no request within the run`);
  const ok = direct.requests > 0 && gw.requests > 0 && bare.requests > 0;
  const ratio = (x: number, y: number) => (ok && y > 0 ? x / y : Number.NaN);
  const rate = (s: Side) => s.requests / s.seconds;
  const [dRate, gRate, bRate] = [rate(direct), rate(gw), rate(bare)];
  const warm = (s: Side) => s.warmups.map((w) => (w / 1000).toFixed(1)).join('+');
  // The api works for every side (it ingests the events a sent message raises): the gateway's own CPU is what the api
  // spends per request through it over what it spends per direct request.
  const gwOwn = gw.apiCpuPerRequestMs - direct.apiCpuPerRequestMs;
  const cpu = `CPU per request (warm-ups and backlogs included), the machine's: direct ${ms3(direct.cpuPerRequestMs)}, gateway ${ms3(gw.cpuPerRequestMs)}, bare ${ms3(bare.cpuPerRequestMs)} ms (gateway / direct ${ratio(gw.cpuPerRequestMs, direct.cpuPerRequestMs).toFixed(2)}, bare / direct ${ratio(bare.cpuPerRequestMs, direct.cpuPerRequestMs).toFixed(2)}); the api's: direct ${ms3(direct.apiCpuPerRequestMs)}, gateway ${ms3(gw.apiCpuPerRequestMs)}, bare ${ms3(bare.apiCpuPerRequestMs)} ms; the bare proxy's ${ms3(bare.bareCpuPerRequestMs)} ms; the gateway's own (api through it − api direct) ${ms3(gwOwn)} ms`;
  const trio = (f: (s: Side) => string) => `${f(direct)}/${f(gw)}/${f(bare)}`;
  console.log(
    `${name.padEnd(20)} ${String(c).padStart(2)}  ${trio((s) => rate(s).toFixed(0)).padStart(20)}  ${trio((s) => ms2(s.p50)).padStart(18)}   ${trio((s) => ms2(s.p99)).padStart(18)}   ${trio((s) => String(s.errors)).padStart(8)}   ${trio(warm)}`,
  );
  console.log(`  ${cpu}`);
  const floor = `bare proxy (floor) / direct: p50 ${ratio(bare.p50, direct.p50).toFixed(2)}, p99 ${ratio(bare.p99, direct.p99).toFixed(2)}, throughput ${ratio(bRate, dRate).toFixed(2)}`;
  const inApi = (b: Buckets) => `p50 ${ms2(bucketQuantile(b, 0.5) * 1000)} p99 ${ms2(bucketQuantile(b, 0.99) * 1000)} ms`;
  const split = `in the api (its histograms): own ${inApi(inGateway.own)}, the instance's answer ${inApi(inGateway.upstream)}`;
  const note = `direct ${dRate.toFixed(0)} req/s p50 ${ms2(direct.p50)} p99 ${ms2(direct.p99)} ms; gateway ${gRate.toFixed(0)} req/s p50 ${ms2(gw.p50)} p99 ${ms2(gw.p99)} ms; ${floor}; ${split}; ${cpu}; errors ${direct.errors}/${gw.errors}/${bare.errors}; warm-up s (until every connection answered, +1) direct ${warm(direct)}, gateway ${warm(gw)}, bare ${warm(bare)}`;
  const row = (figure: string, value: number, goal: string, n = note, unit = '×') =>
    benchRow({ component: 'api', figure: `gateway ${name} c=${c} ${figure}`, value, unit, goal, reproduce, note: n });
  row('p50 latency gw/direct', ratio(gw.p50, direct.p50), '≤ 1.3');
  row('p99 latency gw/direct', ratio(gw.p99, direct.p99), '≤ 1.3');
  row('throughput gw/direct', ratio(gRate, dRate), '≥ 0.75');
  row(
    'throughput bare Node proxy (floor) / direct',
    ratio(bRate, dRate),
    '—',
    `${floor}; gateway / bare proxy: p50 ${ratio(gw.p50, bare.p50).toFixed(2)}, p99 ${ratio(gw.p99, bare.p99).toFixed(2)}, throughput ${ratio(gRate, bRate).toFixed(2)}; bare ${bRate.toFixed(0)} req/s p50 ${ms2(bare.p50)} p99 ${ms2(bare.p99)} ms`,
  );
  row("CPU per request, the gateway's / the bare proxy's", ratio(gwOwn, bare.bareCpuPerRequestMs), '—', `${cpu}; ${floor}`);
  row(
    "p99 of the gateway's own time (api histogram)",
    bucketQuantile(inGateway.own, 0.99) * 1000,
    '—',
    `wacloud_gateway_own_seconds over the gateway's runs (warm-ups included; interpolated within its buckets): ${split}; the client's p99 through the gateway ${ms2(gw.p99)} ms, through the bare proxy ${ms2(bare.p99)} ms`,
    'ms',
  );
}

/** Runs the gateway benchmark on `p`; records its rows. */
export async function runGateway(p: Platform, o: GatewayOptions): Promise<void> {
  const from = '15550002000';
  await p.simnet('/hooks/accounts', { phone: from, pushname: 'Peer' });
  const seed = await p.simnet('/hooks/burst', { from, to: p.phone, text: 'seed', count: 200 });
  if (seed.status !== 201) throw new Error(`seed burst: ${seed.status}`);
  await new Promise((r) => setTimeout(r, 3000));
  const send = JSON.stringify({ to: from, text: 'bench' });
  const routes = [
    { name: 'GET /v1/messages', method: 'GET' as const, path: '/v1/messages?limit=50', body: undefined },
    { name: 'POST /v1/messages', method: 'POST' as const, path: '/v1/messages', body: send },
  ];
  console.log(
    `gateway — autocannon, ${o.seconds} s measured per run after its warm-up, ${o.rounds} round(s) in the order direct, gateway, bare proxy, bare proxy, gateway, direct (at concurrency 1: direct, tcp pipe, gateway, bare proxy, bare proxy, gateway, tcp pipe, direct)`,
  );
  console.log(
    'route                c    direct/gw/bare req/s   p50 d/gw/bare ms     p99 d/gw/bare ms     errors d/gw/bare   warm-up s d/gw/bare',
  );
  const reproduce = `npm run bench -w api -- gateway --seconds ${o.seconds} --rounds ${o.rounds}`;
  const bare = await startFloor('bare', p.directBase);
  const pipe = o.concurrencies.includes(1) ? await startFloor('pipe', p.directBase) : undefined;
  try {
    for (const route of routes) {
      for (const c of o.concurrencies) {
        o.log(`gateway: ${route.name} c=${c}`);
        const run = async (base: string): Promise<Run> => {
          await drain(p);
          const pids = { api: p.apiPid, bare: bare.pid };
          const [before, machineBefore] = [cpuSnapshot(pids), machineCpuTicks()?.busy ?? Number.NaN];
          const r = await load(`${base}${route.path}`, route.method, p.instanceToken, c, o.seconds, route.body);
          await drain(p); // the instance's backlog of this run is its CPU too
          const machineMs = (((machineCpuTicks()?.busy ?? Number.NaN) - machineBefore) * 1000) / CLK_TCK;
          const s = cpuDelta(before, cpuSnapshot(pids)); // seconds
          return { ...r, cpuMs: machineMs, apiCpuMs: s.api! * 1000, bareCpuMs: s.bare! * 1000 };
        };
        const before = await gatewayHistograms(p, route.method);
        const sides = { direct: [] as Run[], gateway: [] as Run[], bare: [] as Run[], pipe: [] as Run[] };
        // At one request at a time the TCP pipe runs too, next to direct (the hop's transport alone).
        const piped = c === 1 && pipe ? pipe : undefined;
        for (let i = 0; i < o.rounds; i++) {
          sides.direct.push(await run(p.directBase));
          if (piped) sides.pipe.push(await run(piped.base));
          sides.gateway.push(await run(p.gatewayBase));
          sides.bare.push(await run(bare.base), await run(bare.base));
          sides.gateway.push(await run(p.gatewayBase));
          if (piped) sides.pipe.push(await run(piped.base));
          sides.direct.push(await run(p.directBase));
        }
        const after = await gatewayHistograms(p, route.method);
        const inGateway = { own: bucketDelta(after.own, before.own), upstream: bucketDelta(after.upstream, before.upstream) };
        const pooled: [Side, Side, Side] = [pool(sides.direct), pool(sides.gateway), pool(sides.bare)];
        recordRoute(route.name, c, pooled, inGateway, reproduce, o.log);
        if (piped) recordPipe(route.name, pooled, pool(sides.pipe), reproduce);
      }
    }
  } finally {
    await bare.stop();
    await pipe?.stop();
  }
  const wsDirect = `${p.directBase.replace('http', 'ws')}/v1/events`;
  const wsGateway = `${p.gatewayBase.replace('http', 'ws')}/v1/events`;
  o.log(`gateway: WebSocket relay, bursts of ${o.wsEvents}`);
  const runs = [];
  for (const url of [wsDirect, wsGateway, wsGateway, wsDirect]) runs.push(await wsRun(url, p.instanceToken, p, from, o.wsEvents));
  const d = (runs[0]!.perSec + runs[3]!.perSec) / 2;
  const g = (runs[1]!.perSec + runs[2]!.perSec) / 2;
  console.log(
    `WebSocket relay: direct ${d.toFixed(0)} events/s, gateway ${g.toFixed(0)} events/s (received ${runs.map((r) => r.received).join('/')} of ${o.wsEvents} each)`,
  );
  benchRow({
    component: 'api',
    figure: 'gateway WebSocket relay events/s gw/direct',
    value: runs.every((r) => r.received === o.wsEvents) ? g / d : Number.NaN,
    unit: '×',
    goal: '≥ 0.8',
    reproduce: `npm run bench -w api -- gateway --seconds ${o.seconds}`,
    note: `direct ${d.toFixed(0)}, gateway ${g.toFixed(0)} events/s; bursts of ${o.wsEvents} inbound messages`,
  });
}
