/**
 * `webhooks` — webhook fan-out as a tenant sees it (see platform.ts): the owner sets the instance's webhook (event
 * `message`) through the api to a local receiver; the simulated network sends a burst of `messages` inbound messages
 * at once; every delivery is recorded by the receiver (a plain node:http server answering 200).
 * - deliveries/s = distinct events delivered / (last delivery − burst sent);
 * - yardstick: what the same receiver takes from a plain load generator (autocannon, 16 connections, `seconds` s,
 *   POSTing a delivery's own body and headers), req/s. Ratio = deliveries/s / that, goal ≥ 0.7;
 * - latency from the inbound message (the burst is sent at once) to its delivery: p50, p99;
 * - lost (burst messages never delivered within the stall limit) and duplicated (an event id delivered twice), goal 0;
 * - the floor: the instance's ingest alone, the same burst without the tenant's webhook, timed until its last message
 *   is stored (polled through the driver by its exact text), before and after the webhook burst (A-B-A): deliveries
 *   cannot outpace it (an event is written after its message). Its row: deliveries/s / those messages/s;
 * - the ideal fan-out (webhook-floor.ts): the durable minimum of the same number of deliveries — each message and event
 *   stored, POSTed signed, its outcome stored — by one plain Node process on the same server. Its rate over the
 *   receiver's is the most any platform storing on this server could reach here (the goal's ceiling on this machine);
 *   its row and the platform's deliveries/s over it. The 1-minute load average goes in the notes.
 */
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import mongoose from 'mongoose';
import { benchRow, percentile } from '@wacloud/testenv';
import type { Platform } from './platform.js';
import { idealFanOut, type FanOutFloor } from './webhook-floor.js';

export interface WebhooksOptions {
  messages: number;
  seconds: number;
  /** Give up when no delivery arrived for this long, ms. */
  stallMs: number;
  /** Give up after this long in all, ms: the figures are then of what was delivered by then. */
  timeoutMs: number;
  log: (line: string) => void;
}

interface Delivery {
  eventId: string;
  body: string;
  /** performance.now() at arrival. */
  at: number;
  /** Date.now() at arrival (compared with the event's createdAt, the instance's clock: the same machine). */
  wallAt: number;
  headers: http.IncomingHttpHeaders;
}

async function startReceiver(): Promise<{ url: string; got: Delivery[]; close(): Promise<void> }> {
  const got: Delivery[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = req.headers['x-wacloud-event-id'];
      if (typeof id === 'string')
        got.push({
          eventId: id,
          body: Buffer.concat(chunks).toString('utf8'),
          at: performance.now(),
          wallAt: Date.now(),
          headers: req.headers,
        });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    got,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * The api subscription's progress: the events of the instance the api's ingest has taken since the watch began (its
 * `instance_events_seen` records, one per event; the bench runs one instance) over time. Its backlog is what the
 * instance has queued for it less these: since events of inbound messages are delivered before they are stored
 * (2026-12-05), the instance's `api_outbox` no longer holds them, so it is not counted there (until then it was).
 */
interface ApiTaken {
  /** performance.now() and events taken, one sample a second. */
  samples: Array<{ at: number; n: number }>;
  stop(): Promise<void>;
}

/** Counts the api's taken events every second until stopped (one `count` command a second: cheap). */
async function watchApiTaken(uri: string): Promise<ApiTaken> {
  const conn = await mongoose.createConnection(uri).asPromise();
  const col = conn.db!.collection('instance_events_seen');
  const base = await col.estimatedDocumentCount();
  const samples: ApiTaken['samples'] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t = performance.now();
      const n = await col.estimatedDocumentCount().catch(() => -1);
      samples.push({ at: t, n: n < 0 ? -1 : n - base });
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (performance.now() - t))));
    }
  })();
  return {
    samples,
    stop: async () => {
      stopped = true;
      await loop;
      await conn.close();
    },
  };
}

/**
 * How the api took the burst's `expected` events (one `message.any` per message): how many by the tenant's last
 * delivery, and when all (before `until`, the next burst) — events/s from the burst's start to then.
 */
function describeApiTaken(b: ApiTaken, t0: number, lastDelivery: number, until: number, expected: number): string {
  const within = b.samples.filter((s) => s.at >= t0 && s.at <= until && s.n >= 0);
  if (!within.length) return "the api's ingest: not sampled";
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const atLast = within.filter((x) => x.at <= lastDelivery).pop() ?? within[0]!;
  const all = within.find((x) => x.n >= expected);
  const end = all ?? within[within.length - 1]!;
  const done = all ? `all by ${s(all.at - t0)} after the burst` : `${end.n} by ${s(end.at - t0)} (the next burst's start)`;
  return `the api's ingest (its instance_events_seen records, sampled each second): ${atLast.n} of the burst's ${expected} events taken at the tenant's last delivery, ${done}; ${(end.n / ((end.at - t0) / 1000)).toFixed(0)} events/s`;
}

/**
 * The floor of a burst's fan-out: the same burst with no tenant webhook, timed until its last message is stored (a
 * webhook event is written after its message, so deliveries cannot outpace this). Leaves the webhook unset.
 */
async function ingestAlone(p: Platform, from: string, o: WebhooksOptions): Promise<{ rate: number; ms: number }> {
  const off = await p.call(p.apiUrl, 'PUT', `/v1/instances/${p.instanceId}/webhook`, {
    token: p.owner,
    body: { url: null, events: ['message'] },
  });
  if (off.status !== 200) throw new Error(`unset webhook: ${off.status} ${JSON.stringify(off.body)}`);
  const tag = `in${Date.now().toString(36)}`;
  o.log(`webhooks: floor, burst of ${o.messages} inbound messages without the webhook`);
  const last = `${tag} ${o.messages - 1}`;
  const conn = await mongoose.createConnection(p.instanceDbUri).asPromise();
  const messages = conn.db!.collection<{ _id: string; body: string }>('messages');
  let ms: number;
  try {
    const t0 = performance.now();
    const burst = await p.simnet('/hooks/burst', { from, to: p.phone, text: tag, count: o.messages });
    if (burst.status !== 201) throw new Error(`burst: ${burst.status} ${JSON.stringify(burst.body)}`);
    // Polled through the driver by its exact text (pushed down to PostgreSQL: a cheap scan), not by the API's text
    // search, whose every call would read the whole collection and take CPU from the ingest it times.
    while (performance.now() - t0 < o.timeoutMs) {
      if (await messages.findOne({ body: last }, { projection: { _id: 1 } })) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    ms = performance.now() - t0;
  } finally {
    await conn.close();
  }
  await new Promise((resolve) => setTimeout(resolve, 2000)); // its last batches (chats, api events) settle
  return { rate: o.messages / (ms / 1000), ms };
}

/** {@link idealFanOut} of `events` events in the instance's database, copying a stored message and event of burst `tag`. */
async function idealFanOutOf(p: Platform, receiver: { url: string; got: Delivery[] }, tag: string, events: number): Promise<FanOutFloor> {
  type Doc = Record<string, unknown> & { _id: string };
  const conn = await mongoose.createConnection(p.instanceDbUri).asPromise();
  try {
    const message = await conn.db!.collection<Doc>('messages').findOne({ body: `${tag} 0` });
    const event = await conn.db!.collection<Doc>('outbox').findOne({ event: 'message', status: 'delivered' });
    if (!message || !event) throw new Error('ideal fan-out: no stored message or event of the burst to copy');
    return await idealFanOut(p.instanceDbUri, receiver, { message, event }, events);
  } finally {
    await conn.close();
  }
}

/** Runs the webhook fan-out benchmark on `p`; records its rows. */
export async function runWebhooks(p: Platform, o: WebhooksOptions): Promise<void> {
  const receiver = await startReceiver();
  try {
    const from = '15550003000';
    await p.simnet('/hooks/accounts', { phone: from, pushname: 'Sender' });
    const before = await ingestAlone(p, from, o);
    const set = await p.call(p.apiUrl, 'PUT', `/v1/instances/${p.instanceId}/webhook`, {
      token: p.owner,
      body: { url: receiver.url, events: ['message'] },
    });
    if (set.status !== 200) throw new Error(`set webhook: ${set.status} ${JSON.stringify(set.body)}`);
    const tag = `wh${Date.now().toString(36)}`;
    o.log(`webhooks: burst of ${o.messages} inbound messages`);
    const loadAtBurst = os.loadavg()[0]!.toFixed(1);
    const taken = await watchApiTaken(p.apiDbUri);
    const t0 = performance.now();
    const wall0 = Date.now();
    const burst = await p.simnet('/hooks/burst', { from, to: p.phone, text: tag, count: o.messages });
    if (burst.status !== 201) throw new Error(`burst: ${burst.status} ${JSON.stringify(burst.body)}`);
    const ours = (d: Delivery) => d.body.includes(`"${tag} `);
    let seen = 0;
    let lastProgress = performance.now();
    for (;;) {
      const n = receiver.got.filter(ours).length;
      if (n !== seen) {
        seen = n;
        lastProgress = performance.now();
      }
      const distinct = new Set(receiver.got.filter(ours).map((d) => d.eventId)).size;
      if (distinct >= o.messages) break;
      if (performance.now() - lastProgress > o.stallMs || performance.now() - t0 > o.timeoutMs) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 1000)); // late duplicates
    const mine = receiver.got.filter(ours);
    const firstAt = new Map<string, number>();
    for (const d of mine) if (!firstAt.has(d.eventId)) firstAt.set(d.eventId, d.at);
    const distinct = firstAt.size;
    const duplicated = mine.length - distinct;
    const lost = o.messages - distinct;
    const complete = distinct >= o.messages;
    // Incomplete: the rate is over the whole window; the rest is undelivered by then (still in the instance), not lost.
    const lastAt = complete ? Math.max(...firstAt.values()) : performance.now();
    const perSec = distinct / ((lastAt - t0) / 1000);
    const lat = [...firstAt.values()].map((at) => at - t0);
    // Where the time went: the instance queues each event (its createdAt) when it records the message.
    const queued: number[] = [];
    const waited: number[] = [];
    const counted = new Set<string>();
    for (const d of mine) {
      if (counted.has(d.eventId)) continue;
      counted.add(d.eventId);
      const createdAt = Date.parse((JSON.parse(d.body) as { createdAt: string }).createdAt);
      queued.push(createdAt - wall0);
      waited.push(d.wallAt - createdAt);
    }
    const lastQueued = Math.max(...queued);
    const window = complete
      ? ''
      : `; stopped after ${((lastAt - t0) / 1000).toFixed(0)} s with ${lost} not yet delivered (in the instance: its outbox, or in memory with its message in the journal)`;

    // The yardstick: the same receiver under a plain load generator, with a real delivery's body and headers.
    const sample = mine[0];
    if (!sample) throw new Error('no delivery arrived');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(sample.headers)) if (typeof v === 'string' && k.startsWith('x-wacloud-')) headers[k] = v;
    headers['content-type'] = 'application/json';
    receiver.got.length = 0;
    const plain = await autocannon({ url: receiver.url, method: 'POST', connections: 16, duration: o.seconds, headers, body: sample.body });
    const plainRate = plain.requests.total / plain.duration;

    // The ideal fan-out on the same server (webhook-floor.ts), from copies of a stored message and event of the burst.
    receiver.got.length = 0;
    o.log('webhooks: the ideal fan-out of the same burst (durable minimum, one plain process)');
    const ideal = await idealFanOutOf(p, receiver, tag, o.messages);

    // The floor, A-B-A around the webhook burst: the instance's ingest alone.
    const afterAt = performance.now();
    const after = await ingestAlone(p, from, o);
    await taken.stop();
    const apiIngest = describeApiTaken(taken, t0, lastAt, afterAt, o.messages);
    const ingestRate = (before.rate + after.rate) / 2;
    const ingestMs = (before.ms + after.ms) / 2;
    const load = `load average ${os.loadavg()[0]!.toFixed(1)} (1 min) at the end, ${loadAtBurst} at the burst`;
    const floor = `the instance's ingest alone (same burst without the tenant's webhook until its last message is stored, before and after): ${before.rate.toFixed(0)} and ${after.rate.toFixed(0)} messages/s (${(ingestMs / 1000).toFixed(1)} s on average), ${(perSec / ingestRate).toFixed(2)}× of it delivered`;

    const idealNote = `the ideal fan-out (each message stored, its event POSTed signed, then stored once with its outcome; ${o.messages} at once by one plain process on the same server, webhook-floor.ts): ${ideal.rate.toFixed(0)} deliveries/s (${(ideal.ms / 1000).toFixed(1)} s, outcomes stored at ${(ideal.storedMs / 1000).toFixed(1)} s) = ${(ideal.rate / plainRate).toFixed(2)}× the receiver; the platform ${(perSec / ideal.rate).toFixed(2)}× of it`;
    console.log(`webhooks — ${o.messages} inbound messages in one burst → webhook deliveries to a local receiver`);
    console.log(
      `  delivered ${distinct} distinct events (${duplicated} duplicated, ${lost} ${complete ? 'lost' : 'not yet delivered'}) in ${((lastAt - t0) / 1000).toFixed(1)} s: ${perSec.toFixed(0)} deliveries/s`,
    );
    console.log(`  the receiver under autocannon (16 connections): ${plainRate.toFixed(0)} req/s`);
    console.log(`  inbound → delivered: p50 ${percentile(lat, 50).toFixed(0)} ms, p99 ${percentile(lat, 99).toFixed(0)} ms`);
    const ingest = `events queued by the instance over ${(lastQueued / 1000).toFixed(1)} s after the burst (${(distinct / (lastQueued / 1000)).toFixed(0)}/s); queued → delivered p50 ${percentile(waited, 50).toFixed(0)} ms, p99 ${percentile(waited, 99).toFixed(0)} ms`;
    console.log(`  ${ingest}`);
    console.log(`  ${floor}`);
    console.log(`  ${idealNote}`);
    console.log(`  ${apiIngest}`);
    console.log(`  ${load}`);
    const reproduce = `npm run bench -w api -- webhooks --messages ${o.messages}`;
    benchRow({
      component: 'api',
      figure: `webhooks ${o.messages} burst: deliveries/s vs receiver under autocannon`,
      value: perSec / plainRate,
      unit: '×',
      goal: '≥ 0.7',
      reproduce,
      note: `${perSec.toFixed(1)} deliveries/s vs ${plainRate.toFixed(0)} req/s; ${ingest}; ${apiIngest}; ${load}${window}`,
    });
    benchRow({
      component: 'api',
      figure: `webhooks ${o.messages} burst: deliveries/s vs the instance's ingest alone (the floor)`,
      value: perSec / ingestRate,
      unit: '×',
      goal: '',
      reproduce,
      note: `${floor}; ${load}`,
    });
    benchRow({
      component: 'api',
      figure: `webhooks ${o.messages} burst: ideal fan-out on the same server / receiver under autocannon`,
      value: ideal.rate / plainRate,
      unit: '×',
      goal: '',
      reproduce,
      note: `${idealNote}; ${load}`,
    });
    benchRow({
      component: 'api',
      figure: `webhooks ${o.messages} burst: deliveries/s vs the ideal fan-out`,
      value: perSec / ideal.rate,
      unit: '×',
      goal: '',
      reproduce,
      note: `${perSec.toFixed(1)} vs ${ideal.rate.toFixed(1)} deliveries/s; ${load}`,
    });
    benchRow({
      component: 'api',
      figure: `webhooks ${o.messages} burst: p99 inbound → delivered`,
      value: complete ? percentile(lat, 99) : Number.NaN,
      unit: 'ms',
      goal: '',
      reproduce,
      note: complete ? `p50 ${percentile(lat, 50).toFixed(0)} ms` : `not measured: not all delivered${window}`,
    });
    benchRow({
      component: 'api',
      figure: `webhooks ${o.messages} burst: lost event ids`,
      value: complete ? lost : Number.NaN,
      unit: '',
      goal: '= 0',
      reproduce,
      note: complete ? '' : `not measured: the burst was not delivered within the run${window}`,
    });
    benchRow({
      component: 'api',
      figure: `webhooks ${o.messages} burst: duplicated event ids`,
      value: duplicated,
      unit: '',
      goal: '= 0',
      reproduce,
    });
  } finally {
    await receiver.close();
  }
}
