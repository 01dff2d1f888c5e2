/**
 * `gateway` — what every client request costs through the api's gateway (api → instance) against the same request
 * straight to the instance, on the same machine in the same run (see platform.ts for the set-up):
 * - `GET /v1/messages?limit=50` (200 stored messages) and `POST /v1/messages` (a text, 202 queued) with autocannon at
 *   concurrency 1, 16 and 64 for `seconds` each, in the order direct, gateway, gateway, direct (ABBA: a drift of the
 *   machine's load falls on both sides), each run after the instance has worked off the previous one's backlog; per
 *   side the two runs' requests are summed and their percentiles averaged.
 *   Ratios: p50 and p99 latency gateway / direct (goal ≤ 1.3), throughput gateway / direct (goal ≥ 0.75).
 * - WebSocket relay: `/v1/events` through the gateway vs direct, one socket at a time (ABBA), while the simulated
 *   network sends a burst of `wsEvents` inbound messages; events/s = message events received / (last one − burst sent).
 *   Ratio gateway / direct, goal ≥ 0.8.
 * Any non-2xx answer or socket error is counted and reported; the benchmark fails when a side answers none right.
 */
import autocannon from 'autocannon';
import { WebSocket } from 'ws';
import { benchRow } from '@wacloud/testenv';
import type { Platform } from './platform.js';

export interface GatewayOptions {
  seconds: number;
  concurrencies: number[];
  wsEvents: number;
  log: (line: string) => void;
}

interface Side {
  requests: number;
  seconds: number;
  errors: number;
  p50: number;
  p99: number;
}

async function load(url: string, method: 'GET' | 'POST', token: string, connections: number, seconds: number, body?: string) {
  return autocannon({
    url,
    method,
    connections,
    duration: seconds,
    timeout: 60,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body } : {}),
  });
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

/** Two autocannon results of one side pooled: requests and time summed, percentiles the mean of the two runs'. */
function pool(a: autocannon.Result, b: autocannon.Result): Side {
  return {
    requests: a.requests.total + b.requests.total,
    seconds: a.duration + b.duration || 1,
    errors: a.non2xx + b.non2xx + a.errors + b.errors,
    p50: (a.latency.p50 + b.latency.p50) / 2,
    p99: (a.latency.p99 + b.latency.p99) / 2,
  };
}

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

/** Runs the gateway benchmark on `p`; records its rows. */
export async function runGateway(p: Platform, o: GatewayOptions): Promise<void> {
  const from = '15550002000';
  await p.simnet('/hooks/accounts', { phone: from, pushname: 'Peer' });
  const seed = await p.simnet('/hooks/burst', { from, to: p.phone, text: 'seed', count: 200 });
  if (seed.status !== 201) throw new Error(`seed burst: ${seed.status}`);
  await new Promise((r) => setTimeout(r, 3000));
  const reproduce = `npm run bench -w api -- gateway --seconds ${o.seconds}`;
  const send = JSON.stringify({ to: from, text: 'bench' });
  const routes = [
    { name: 'GET /v1/messages', method: 'GET' as const, path: '/v1/messages?limit=50', body: undefined },
    { name: 'POST /v1/messages', method: 'POST' as const, path: '/v1/messages', body: send },
  ];
  console.log(`gateway — autocannon, ${o.seconds} s per run, ABBA (direct, gateway, gateway, direct)`);
  console.log('route                c    direct req/s  gw req/s  p50 d/gw ms   p99 d/gw ms   errors d/gw');
  for (const route of routes) {
    for (const c of o.concurrencies) {
      const d = `${p.directBase}${route.path}`;
      const g = `${p.gatewayBase}${route.path}`;
      o.log(`gateway: ${route.name} c=${c}`);
      const run = async (url: string) => {
        await drain(p);
        return load(url, route.method, p.instanceToken, c, o.seconds, route.body);
      };
      const d1 = await run(d);
      const g1 = await run(g);
      const g2 = await run(g);
      const d2 = await run(d);
      const direct = pool(d1, d2);
      const gw = pool(g1, g2);
      if (direct.requests === 0 || gw.requests === 0) o.log(`${route.name} c=${c}: a side answered no request within the run`);
      const dRate = direct.requests / direct.seconds;
      const gRate = gw.requests / gw.seconds;
      console.log(
        `${route.name.padEnd(20)} ${String(c).padStart(2)}  ${dRate.toFixed(0).padStart(12)}  ${gRate.toFixed(0).padStart(8)}  ${`${direct.p50}/${gw.p50}`.padStart(11)}   ${`${direct.p99}/${gw.p99}`.padStart(11)}   ${direct.errors}/${gw.errors}`,
      );
      const note = `direct ${dRate.toFixed(0)} req/s p50 ${direct.p50} p99 ${direct.p99} ms; errors ${direct.errors}/${gw.errors}`;
      // autocannon reports whole milliseconds: a 0 ms p50 is below its resolution, counted as 1 ms on both sides.
      const ratio = (x: number, y: number) => (direct.requests && gw.requests ? Math.max(x, 1) / Math.max(y, 1) : Number.NaN);
      benchRow({
        component: 'api',
        figure: `gateway ${route.name} c=${c} p50 latency gw/direct`,
        value: ratio(gw.p50, direct.p50),
        unit: '×',
        goal: '≤ 1.3',
        reproduce,
        note,
      });
      benchRow({
        component: 'api',
        figure: `gateway ${route.name} c=${c} p99 latency gw/direct`,
        value: ratio(gw.p99, direct.p99),
        unit: '×',
        goal: '≤ 1.3',
        reproduce,
        note,
      });
      benchRow({
        component: 'api',
        figure: `gateway ${route.name} c=${c} throughput gw/direct`,
        value: gRate / dRate,
        unit: '×',
        goal: '≥ 0.75',
        reproduce,
        note,
      });
    }
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
    reproduce,
    note: `direct ${d.toFixed(0)}, gateway ${g.toFixed(0)} events/s; bursts of ${o.wsEvents} inbound messages`,
  });
}
