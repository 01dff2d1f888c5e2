/**
 * `npm run bench -w api -- inbox [--agents 10] [--rate 20] [--seconds 60] [--json]` (issue 15, acceptance 4): the
 * delay from a customer's send on the simulated network to every entitled agent's live event.
 *
 * Real processes throughout: a MongoDB-wire server (testenv `startMongo()`), simnet, and the built api (`dist/main.js`,
 * process provider, simulated engine) with one instance logged in on simnet. N agents are invited and accept, get
 * canRead on the instance, and each connects to `/v1/live` with a single-use ticket. Customers (20 phones, round
 * robin) then send `rate` messages per second for `seconds` seconds through simnet's `POST /hooks/send`, each with a
 * numbered body; the clock starts just before the request. Every agent's socket records the first `message.new` frame
 * per body. After the last send the run waits (at most 60 s) until every agent got every message.
 *
 * Reports: p50 / p99 / max delay over all (agent, message) pairs in ms, events lost (expected − received pairs; must be
 * 0), the send pacing actually achieved, and the api process's CPU time (user + system from /proc, from the first send
 * to the end of the drain) per message and per delivered event. The instance's own CPU is not counted.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  benchLog,
  benchOut,
  finishReport,
  freePort,
  parseBenchArgs,
  percentile,
  startMongo,
  startProcess,
  table,
  waitForPort,
  type ManagedProcess,
} from '@wacloud/testenv';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PASSWORD = 'correct horse battery staple';
const INSTANCE_PHONE = '15557000001';
const CUSTOMERS = 20;
const DRAIN_MS = 60_000;

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
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'wacloud-bench-inbox-'));
  const mongo = await startMongo();
  let simnet: ManagedProcess | undefined;
  let api: ManagedProcess | undefined;
  const sockets: AgentSocket[] = [];
  try {
    const simnetPort = await freePort();
    simnet = startProcess({
      command: process.execPath,
      args: [path.join(repo, 'simnet/dist/main.js')],
      env: { ...process.env, SIMNET_PORT: String(simnetPort), SIMNET_HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    });
    await simnet.waitForOutput(/simnet listening/, 20_000);
    const sim = `http://127.0.0.1:${simnetPort}`;
    const apiPort = await freePort();
    api = startProcess({
      command: process.execPath,
      args: [path.join(repo, 'api/dist/main.js')],
      env: {
        ...process.env,
        PORT: String(apiPort),
        HOST: '127.0.0.1',
        MONGODB_URI: mongo.dbUri(`bench_inbox_${process.pid}`),
        JWT_SECRET: 'bench-inbox-jwt-secret-0123456789abcdef',
        PROVIDER: 'process',
        ENGINE: 'simulated',
        SIMNET_URL: sim,
        PROCESS_DATA_ROOT: dataRoot,
        LOG_LEVEL: 'warn',
      },
    });
    await waitForPort(apiPort, '127.0.0.1', 30_000);
    const base = `http://127.0.0.1:${apiPort}`;
    benchLog(`api ${base}, simnet ${sim}, ${mongo.kind}; setting up one instance and ${nAgents} agents…`);

    const email = `bench-owner-${process.pid}@example.com`;
    must(await call(`${base}/v1/auth/register`, { method: 'POST', body: JSON.stringify({ email, password: PASSWORD }) }), 201, 'register');
    const owner = must(
      await call(`${base}/v1/auth/login`, { method: 'POST', body: JSON.stringify({ email, password: PASSWORD }) }),
      200,
      'login',
    ).accessToken as string;
    must(
      await call(
        `${base}/v1/wallet/deposits`,
        { method: 'POST', body: JSON.stringify({ amount: 10_000 }), headers: { 'idempotency-key': `bench-${process.pid}` } },
        owner,
      ),
      201,
      'deposit',
    );
    const instanceId = must(
      await call(`${base}/v1/instances`, { method: 'POST', body: JSON.stringify({ name: 'bench' }) }, owner),
      201,
      'instance',
    ).id as string;
    const phones = Array.from({ length: CUSTOMERS }, (_, i) => `1555701${String(i).padStart(4, '0')}`);
    for (const phone of [INSTANCE_PHONE, ...phones])
      await call(`${sim}/hooks/accounts`, { method: 'POST', body: JSON.stringify({ phone, pushname: phone }) });
    const qr = await until(
      'the QR',
      async () => (await call(`${base}/v1/instances/${instanceId}/api/v1/session/login`, { method: 'POST' }, owner)).body?.qr as string,
      120_000,
    );
    must(await call(`${sim}/hooks/scan`, { method: 'POST', body: JSON.stringify({ qr, phone: INSTANCE_PHONE }) }), 200, 'scan');
    await until(
      'WORKING',
      async () => (await call(`${base}/v1/instances/${instanceId}`, {}, owner)).body?.sessionState === 'WORKING',
      60_000,
    );

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
      const memberId = acc.user.memberId as string;
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
        body: JSON.stringify({ from: phone, to: INSTANCE_PHONE, text: `bench ${1_000_000 + i}` }),
      });
    await until('the warm-up messages at every agent', async () => sockets.every((s) => s.got.size >= phones.length), 60_000);
    received = 0;

    const total = rate * seconds;
    benchLog(`sending ${total} messages at ${rate}/s for ${seconds} s to ${nAgents} agents…`);
    const cpu0 = cpuMs(api.pid);
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
          body: JSON.stringify({ from: phones[i % phones.length], to: INSTANCE_PHONE, text: `bench ${i}` }),
        }),
      );
    }
    const sendSpan = (performance.now() - t0) / 1000;
    await Promise.all(sends);
    const expected = total * nAgents;
    await until('every event', async () => received >= expected, DRAIN_MS).catch(() =>
      benchLog(`drain: ${received}/${expected} after ${DRAIN_MS / 1000} s`),
    );
    const cpu = cpuMs(api.pid) - cpu0;

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
      server: mongo.kind,
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
    benchOut(`check: events lost ${r.lostEvents} → ${r.lostEvents === 0 ? 'OK' : 'FAILED'} (${mongo.kind})`);
    if (r.lostEvents !== 0) process.exitCode = 1;
    finishReport(r, started, args.json);
  } finally {
    for (const s of sockets) s.close();
    await api?.stop().catch(() => undefined);
    await simnet?.stop().catch(() => undefined);
    killInstances(dataRoot);
    await mongo.stop().catch(() => undefined);
    rmSync(dataRoot, { recursive: true, force: true });
  }
}

/** Instance processes are detached by the process provider: stop the ones started from this run's data root. */
function killInstances(dataRoot: string): void {
  for (const dir of readdirSync(dataRoot)) {
    try {
      const pid = Number(readFileSync(path.join(dataRoot, dir, 'pid'), 'utf8').trim());
      if (pid) process.kill(-pid, 'SIGKILL');
    } catch {
      /* no pid file, or gone */
    }
  }
}
