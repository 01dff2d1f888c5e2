/**
 * Test harness for the instance service: a real MongoDB-wire server, a real simulated WhatsApp network (simnet) and
 * real instance processes (`node dist/main.js`) on loopback. Nothing here is mocked; the simulated network stands in
 * for WhatsApp's servers behind the Engine interface only.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  eventually,
  freePort,
  startMongo,
  startProcess,
  uniqueDbName,
  waitForPort,
  type ManagedProcess,
  type MongoServer,
} from '@wacloud/testenv';

export const instanceDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const mainJs = path.join(instanceDir, 'dist', 'main.js');
/** The simulated network's server (workspace `simnet`, built by `npm run build`). */
export const simnetJs = path.join(instanceDir, '..', 'simnet', 'dist', 'main.js');

export interface RunningSimnet {
  url: string;
  proc: ManagedProcess;
  hook<T = unknown>(p: string, body?: unknown, method?: string): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

/** Starts the simulated WhatsApp network as its own process. */
export async function startSimnet(): Promise<RunningSimnet> {
  const port = await freePort();
  const proc = startProcess({
    command: process.execPath,
    args: [simnetJs],
    env: { ...process.env, SIMNET_PORT: String(port), SIMNET_HOST: '127.0.0.1' },
  });
  await proc.waitForOutput(/simnet listening/, 20_000);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    proc,
    async hook(p, body, method = body === undefined ? 'GET' : 'POST') {
      const res = await fetch(url + p, {
        method,
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as never };
    },
    stop: async () => void (await proc.stop()),
  };
}

export interface RunningInstance {
  publicUrl: string;
  internalUrl: string;
  internalKey: string;
  mongoUri: string;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  proc: ManagedProcess;
  /** Public API call with a token (or none). */
  api<T = any>(
    method: string,
    p: string,
    opts?: { token?: string | undefined; body?: unknown; rawBody?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: T; headers: Headers }>;
  /** Internal API call with the internal key (or `key`). */
  internal<T = any>(method: string, p: string, body?: unknown, key?: string): Promise<{ status: number; body: T }>;
  /** Creates an instance token through the internal API. */
  token(permissions: 'r' | 'w' | 'rw', name?: string): Promise<string>;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  /** Starts the process again with the same environment (ports, database, data dir). */
  restart(): Promise<RunningInstance>;
}

export interface InstanceOptions {
  mongo: MongoServer;
  simnetUrl: string;
  env?: NodeJS.ProcessEnv;
  dataDir?: string;
  db?: string;
}

/** Starts an instance process with the simulated engine and waits until both ports answer. */
export async function startInstance(o: InstanceOptions): Promise<RunningInstance> {
  const [port, internalPort] = [await freePort(), await freePort()];
  const internalKey = `test-internal-key-${Math.random().toString(36).slice(2)}`;
  const dataDir = o.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'wacloud-instance-'));
  const mongoUri = o.mongo.dbUri(o.db ?? uniqueDbName('inst'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    INTERNAL_PORT: String(internalPort),
    HOST: '127.0.0.1',
    MONGODB_URI: mongoUri,
    INTERNAL_API_KEY: internalKey,
    ENGINE: 'simulated',
    SIMNET_URL: o.simnetUrl,
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    PERSIST_FLUSH_MS: '50',
    // The tests' webhook receivers listen on loopback, which the SSRF guard refuses unless the operator opens it.
    WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8',
    // The send queue unpaced unless a test sets its pacing (the defaults pace about 1 message/s).
    SEND_RATE_PER_S: '0',
    SEND_CHAT_GAP_MS: '0',
    ...o.env,
  };
  return launch(env, { port, internalPort, internalKey, dataDir, mongoUri });
}

async function launch(
  env: NodeJS.ProcessEnv,
  a: { port: number; internalPort: number; internalKey: string; dataDir: string; mongoUri: string },
): Promise<RunningInstance> {
  const proc = startProcess({ command: process.execPath, args: [mainJs], env });
  try {
    await Promise.race([
      Promise.all([waitForPort(a.port, '127.0.0.1', 30_000), waitForPort(a.internalPort, '127.0.0.1', 30_000)]),
      proc.exited.then((code) => {
        throw new Error(`instance exited with ${code}:\n${proc.output()}`);
      }),
    ]);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const publicUrl = `http://127.0.0.1:${a.port}`;
  const internalUrl = `http://127.0.0.1:${a.internalPort}`;
  const inst: RunningInstance = {
    publicUrl,
    internalUrl,
    internalKey: a.internalKey,
    mongoUri: a.mongoUri,
    dataDir: a.dataDir,
    env,
    proc,
    async api(method, p, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      let body: string | undefined = opts.rawBody;
      if (opts.body !== undefined) {
        headers['content-type'] ??= 'application/json';
        body = JSON.stringify(opts.body);
      }
      const res = await fetch(publicUrl + p, { method, headers, body });
      const ct = res.headers.get('content-type') ?? '';
      const payload = ct.includes('json')
        ? await res.json()
        : ct.startsWith('image/')
          ? Buffer.from(await res.arrayBuffer())
          : await res.text();
      return { status: res.status, body: payload as never, headers: res.headers };
    },
    async internal(method, p, body, key = a.internalKey) {
      const res = await fetch(internalUrl + p, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as never };
    },
    async token(permissions, name = `${permissions}-token`) {
      const r = await inst.internal<{ token: string }>('POST', '/internal/v1/tokens', { name, permissions });
      if (r.status !== 201) throw new Error(`token creation failed: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.token;
    },
    stop: async () => void (await proc.stop()),
    kill9: () => proc.kill9(),
    restart: () => launch(env, a),
  };
  return inst;
}

/**
 * Logs the instance in on the simulated network: POST /v1/session/login, then "scans" the returned QR with the
 * phone `phone` through the simnet hook, and waits for WORKING.
 */
export async function loginWithQr(inst: RunningInstance, simnet: RunningSimnet, phone: string, wToken: string): Promise<void> {
  const login = await inst.api<{ state: string; qr?: string; qrImage?: string }>('POST', '/v1/session/login', { token: wToken });
  if (login.status !== 200 || !login.body.qr) throw new Error(`login did not return a QR: ${login.status} ${JSON.stringify(login.body)}`);
  const scan = await simnet.hook('/hooks/scan', { qr: login.body.qr, phone, pushname: `User ${phone}` });
  if (scan.status >= 300) throw new Error(`scan failed: ${scan.status} ${JSON.stringify(scan.body)}`);
  await eventually(async () => (await inst.api<{ session: { state: string } }>('GET', '/health')).body.session.state === 'WORKING', 15_000);
}

/** The receiver's own HMAC check (independent of the service's code): v1=hex(hmac_sha256(secret, ts + "." + body)). */
export function expectedSignature(secret: string, timestamp: string, rawBody: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
}

export interface ReceivedRequest {
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  body: any;
  status: number;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedRequest[];
  /** Status codes to answer, in order; 200 once exhausted. */
  script: number[];
  /** While true, requests are recorded but not answered (until {@link WebhookReceiver.release}). */
  holding: boolean;
  /** Stops holding and answers the requests held (their clients may be gone). */
  release(): void;
  close(): Promise<void>;
}

/** A real HTTP server that records webhook deliveries and answers with scripted statuses. */
export async function startReceiver(script: number[] = []): Promise<WebhookReceiver> {
  const http = await import('node:http');
  const received: ReceivedRequest[] = [];
  const held: Array<() => void> = [];
  const r: WebhookReceiver = {
    url: '',
    received,
    script: [...script],
    holding: false,
    release: () => {
      r.holding = false;
      for (const answer of held.splice(0)) answer();
    },
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const status = r.script.length ? r.script.shift()! : 200;
      received.push({ headers: req.headers, rawBody, body: JSON.parse(rawBody || 'null'), status });
      const answer = () => void res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'nope');
      if (r.holding) held.push(answer);
      else answer();
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${port}/hook`;
  r.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return r;
}

/** The servers of a test file that needs one instance on the simulated network. */
export interface InstanceEnv {
  mongo: MongoServer;
  simnet: RunningSimnet;
  inst: RunningInstance;
}

/**
 * Registers `beforeAll` / `afterAll` hooks that start a MongoDB-wire server, simnet and one instance (simulated
 * engine), and stop them after the file. The returned object's fields are set once `beforeAll` has run.
 */
export function withInstanceOnSimnet(): InstanceEnv {
  const env = {} as InstanceEnv;
  beforeAll(async () => {
    env.mongo = await startMongo();
    env.simnet = await startSimnet();
    env.inst = await startInstance({ mongo: env.mongo, simnetUrl: env.simnet.url });
  }, 60_000);
  afterAll(async () => {
    await env.inst?.stop();
    await Promise.allSettled([env.simnet?.stop(), env.mongo?.stop()]);
  });
  return env;
}
