/**
 * `npm run bench -w api -- inbox [--agents 10] [--rate 20] [--seconds 60] [--json]` (issue 15, acceptance 4): the
 * delay from a customer's send on the simulated network to every entitled agent's live event.
 *
 * Real processes throughout, started by {@link startPlatform} (`platform.ts`): a MongoDB-wire server, simnet, and the
 * built api (process provider, simulated engine, its metrics listener on) with one instance logged in on simnet. N agents are invited and accept, get
 * canRead on the instance, and each connects to `/v1/live` with a single-use ticket. Customers (20 phones, round
 * robin) then send `rate` messages per second for `seconds` seconds through simnet's `POST /hooks/send`, each with a
 * numbered body; the clock starts just before the request. Every agent's socket records the first `message.new` frame
 * per body. After the last send the run waits for stragglers while they keep coming (until none for 30 s, at most
 * 10 min): an event that comes late is delayed, not lost.
 *
 * Reports: p50 / p99 / max delay over all (agent, message) pairs in ms, events lost (expected − received pairs; must be
 * 0), the send pacing actually achieved, and the api process's CPU time (user + system from /proc, from the first send
 * to the end of the drain) per message and per delivered event, and the api's ingest requests (count and mean duration,
 * from its metrics listener) to tell a slow ingest from a slow instance. The instance's own CPU is not counted.
 */
import { readFileSync } from 'node:fs';
import { benchLog, benchOut, finishReport, freePort, parseBenchArgs, percentile, table } from '@wacloud/testenv';
import { startPlatform } from './platform.js';

const PASSWORD = 'correct horse battery staple';
const CUSTOMERS = 20;
/** After the last send: wait for stragglers while they keep coming (a late event is delayed, not lost). */
const STALL_MS = 30_000;
const DRAIN_MAX_MS = 600_000;

const USAGE = `npm run bench -w api -- inbox [--agents N] [--rate per-second] [--seconds S] [--json]\n`;

interface InboxReport {
  bench: 'inbox';
  server: string;
  agents: number;
  rate: number;
  seconds: number;
  messages: number;
  expectedEvents: number;
  receivedEvents: number;
  lostEvents: number;
  achievedRate: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  apiCpuMs: number;
  apiCpuMsPerMessage: number;
  apiCpuMsPerEvent: number;
  /** The api's ingest of instance events during the run: requests answered and their mean duration, ms. */
  ingestRequests: number;
  ingestMeanMs: number;
  /** How long the stragglers took after the last send, ms. */
  drainMs: number;
  totalMs?: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers of many shapes, read field by field
type Json = { status: number; body: any };

async function call(url: string, init: RequestInit = {}, token?: string): Promise<Json> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(init.headers as Record<string, string>) };
  if (token) headers['authorization'] = `Bearer ${token}`;
  const res = await fetch(url, { ...init, headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

function must(r: Json, status: number, what: string): Json['body'] {
  if (r.status !== status) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The process's CPU time (user + system), ms, from /proc/<pid>/stat (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14, 15 of the whole line)
}

/**
 * Waits until `count()` reaches `expected`, or no event came for {@link STALL_MS}, or {@link DRAIN_MAX_MS} passed.
 * @returns how long it waited, ms
 */
async function drain(count: () => number, expected: number): Promise<number> {
  const start = Date.now();
  let last = count();
  let progressAt = start;
  while (count() < expected && Date.now() - progressAt < STALL_MS && Date.now() - start < DRAIN_MAX_MS) {
    await new Promise((r) => setTimeout(r, 500));
    if (count() > last) {
      last = count();
      progressAt = Date.now();
    }
  }
  if (count() < expected) benchLog(`drain: ${count()}/${expected} after ${((Date.now() - start) / 1000).toFixed(0)} s`);
  return Date.now() - start;
}

/** The api's count and summed duration (s) of ingest requests, from its metrics listener. */
async function ingestTotals(url: string): Promise<{ count: number; sum: number }> {
  const text = await (await fetch(url)).text();
  const total = { count: 0, sum: 0 };
  for (const line of text.split('\n')) {
    if (!line.startsWith('http_request_duration_seconds_') || !line.includes('instance-events')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('http_request_duration_seconds_count')) total.count += value;
    else if (line.startsWith('http_request_duration_seconds_sum')) total.sum += value;
  }
  return total;
}

/** One agent's live socket: the receive time of the first `message.new` per bench body. */
interface AgentSocket {
  got: Map<number, number>;
  close(): void;
}

async function connectAgent(api: string, token: string, onFrame: (seq: number, at: number) => void): Promise<AgentSocket> {
  const { ticket } = must(await call(`${api}/v1/live/ticket`, { method: 'POST' }, token), 201, 'live ticket');
  const got = new Map<number, number>();
  const ws = new WebSocket(`${api.replace(/^http/, 'ws')}/v1/live?ticket=${encodeURIComponent(ticket)}`);
  ws.onmessage = (m) => {
    const at = performance.now();
    const f = JSON.parse(String(m.data)) as { type: string; data?: { message?: { body?: string; fromMe?: boolean } } };
    if (f.type !== 'message.new' || f.data?.message?.fromMe) return;
    const seq = /^bench (\d+)$/.exec(f.data?.message?.body ?? '')?.[1];
    if (seq === undefined || got.has(Number(seq))) return;
    got.set(Number(seq), at);
    onFrame(Number(seq), at);
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error('live socket failed to open'));
  });
  ws.onclose = (e) => benchLog(`an agent's socket closed: ${e.code} ${e.reason}`);
  return { got, close: () => ws.close() };
}

/** Runs the inbox benchmark with the arguments after `inbox`. */
export async function main(argv: string[]): Promise<void> {
  const args = parseBenchArgs(['inbox', ...argv], {
    benches: ['inbox'] as const,
    usage: USAGE,
    sizes: {
      agents: { flag: 'agents', env: 'BENCH_INBOX_AGENTS', def: 10, min: 1, max: 200 },
      rate: { flag: 'rate', env: 'BENCH_INBOX_RATE', def: 20, min: 1, max: 1000 },
      seconds: { flag: 'seconds', env: 'BENCH_INBOX_SECONDS', def: 60, min: 1, max: 3600 },
    },
  });
  const { agents: nAgents, rate, seconds } = args.sizes;
  const started = Date.now();
  const metricsPort = await freePort();
  const platform = await startPlatform(benchLog, { METRICS_PORT: String(metricsPort), METRICS_HOST: '127.0.0.1' });
  const sockets: AgentSocket[] = [];
  try {
    const { apiUrl: base, simnetUrl: sim, owner, instanceId, phone: instancePhone } = platform;
    benchLog(`api ${base}, simnet ${sim}, ${platform.mongoKind}; setting up ${nAgents} agents…`);
    const phones = Array.from({ length: CUSTOMERS }, (_, i) => `1555701${String(i).padStart(4, '0')}`);
    for (const phone of phones) await call(`${sim}/hooks/accounts`, { method: 'POST', body: JSON.stringify({ phone, pushname: phone }) });

    const tokens: string[] = [];
    for (let i = 0; i < nAgents; i++) {
      const inv = must(
        await call(
          `${base}/v1/invitations`,
          { method: 'POST', body: JSON.stringify({ email: `bench-agent-${i}-${process.pid}@example.com`, role: 'agent' }) },
          owner,
        ),
        201,
        'invite',
      );
      const acc = must(
        await call(`${base}/v1/invitations/accept`, { method: 'POST', body: JSON.stringify({ token: inv.token, password: PASSWORD }) }),
        200,
        'accept',
      );
      const agentEmail = inv.email as string;
      const members = must(await call(`${base}/v1/members`, {}, owner), 200, 'members').items as Array<{ id: string; email: string }>;
      const memberId = members.find((m) => m.email === agentEmail)?.id;
      if (!memberId) throw new Error(`no member ${agentEmail}`);
      must(
        await call(
          `${base}/v1/members/${memberId}/rights/${instanceId}`,
          { method: 'PUT', body: JSON.stringify({ canRead: true, canWrite: false, canManageChats: false }) },
          owner,
        ),
        200,
        'rights',
      );
      tokens.push(acc.accessToken as string);
    }
    const sentAt = new Map<number, number>();
    let received = 0;
    for (const t of tokens) sockets.push(await connectAgent(base, t, () => received++));

    // Warm-up (not measured): one message per customer reaches every agent, so conversations exist and the path works.
    for (const [i, phone] of phones.entries())
      await call(`${sim}/hooks/send`, {
        method: 'POST',
        body: JSON.stringify({ from: phone, to: instancePhone, text: `bench ${1_000_000 + i}` }),
      });
    await until('the warm-up messages at every agent', async () => sockets.every((s) => s.got.size >= phones.length), 60_000);
    received = 0;

    const total = rate * seconds;
    benchLog(`sending ${total} messages at ${rate}/s for ${seconds} s to ${nAgents} agents…`);
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const ingest0 = await ingestTotals(metricsUrl);
    const cpu0 = cpuMs(platform.apiPid);
    const t0 = performance.now();
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sentAt.set(i, performance.now());
      sends.push(
        call(`${sim}/hooks/send`, {
          method: 'POST',
          body: JSON.stringify({ from: phones[i % phones.length], to: instancePhone, text: `bench ${i}` }),
        }),
      );
    }
    const sendSpan = (performance.now() - t0) / 1000;
    await Promise.all(sends);
    const expected = total * nAgents;
    const drainMs = await drain(() => received, expected);
    const cpu = cpuMs(platform.apiPid) - cpu0;
    const ingest1 = await ingestTotals(metricsUrl);
    const ingestRequests = ingest1.count - ingest0.count;

    const delays: number[] = [];
    let got = 0;
    for (const s of sockets)
      for (const [seq, at] of s.got) {
        const sent = sentAt.get(seq);
        if (sent === undefined) continue; // a warm-up message
        got++;
        delays.push(at - sent);
      }
    const r: InboxReport = {
      bench: 'inbox',
      server: platform.mongoKind,
      agents: nAgents,
      rate,
      seconds,
      messages: total,
      expectedEvents: expected,
      receivedEvents: got,
      lostEvents: expected - got,
      achievedRate: total / sendSpan,
      p50Ms: percentile(delays, 50),
      p99Ms: percentile(delays, 99),
      maxMs: delays.length ? Math.max(...delays) : Number.NaN,
      apiCpuMs: cpu,
      apiCpuMsPerMessage: cpu / total,
      apiCpuMsPerEvent: got ? cpu / got : Number.NaN,
      ingestRequests,
      ingestMeanMs: ingestRequests ? ((ingest1.sum - ingest0.sum) * 1000) / ingestRequests : Number.NaN,
      drainMs,
    };
    benchOut(
      table(
        ['agents', 'msgs', 'msg/s', 'events', 'lost', 'p50 ms', 'p99 ms', 'max ms', 'api CPU ms/msg', 'api CPU ms/event'],
        [
          [
            r.agents,
            r.messages,
            r.achievedRate,
            r.receivedEvents,
            r.lostEvents,
            r.p50Ms,
            r.p99Ms,
            r.maxMs,
            r.apiCpuMsPerMessage,
            r.apiCpuMsPerEvent,
          ],
        ],
      ),
    );
    benchOut(`ingest (POST /internal/v1/instance-events): ${r.ingestRequests} requests, mean ${r.ingestMeanMs.toFixed(1)} ms`);
    benchOut(`drain after the last send: ${(r.drainMs / 1000).toFixed(1)} s`);
    benchOut(`check: events lost ${r.lostEvents} → ${r.lostEvents === 0 ? 'OK' : 'FAILED'} (${platform.mongoKind})`);
    if (r.lostEvents !== 0) process.exitCode = 1;
    finishReport(r, started, args.json);
  } finally {
    for (const s of sockets) s.close();
    await platform.stop();
  }
}
