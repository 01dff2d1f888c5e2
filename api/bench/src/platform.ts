/**
 * The platform the end-to-end benchmarks run on, as in api/test/harness.ts: a MongoDB-wire server (testenv), the
 * simulated WhatsApp network and the api (`node dist/main.js`) as their own processes; the api's process provider
 * spawns a real instance process. {@link startPlatform} registers a tenant, creates one instance, logs it in on the
 * simulated network (a phone scans its QR) and returns both ways to reach it: through the gateway and straight to the
 * instance's public port (read from the process provider's `provider.json`), with the same instance token.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

/** api/ (bench/dist/ is two levels below). */
const apiDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const simnetJs = path.resolve(apiDir, '..', 'simnet', 'dist', 'main.js');

export interface Call {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON of several shapes
}

export interface Platform {
  apiUrl: string;
  simnetUrl: string;
  /** The tenant's access token (JWT). */
  owner: string;
  instanceId: string;
  /** An `rw` instance token. */
  instanceToken: string;
  /** Base URL of the instance's public API through the gateway: `<api>/v1/instances/<id>/api`. */
  gatewayBase: string;
  /** Base URL of the instance's public API, straight. */
  directBase: string;
  /** The phone the instance is logged in as. */
  phone: string;
  /** The api's metrics listener: `<url>/metrics` (Prometheus text). */
  apiMetricsUrl: string;
  /** The api process's pid (for its CPU time in /proc). */
  apiPid: number;
  /** Which MongoDB-wire server runs under it (testenv `startMongo().kind`). */
  mongoKind: string;
  /** The instance's own database on that server (the bench's credentials), e.g. to watch its outboxes. */
  instanceDbUri: string;
  /** The api's database (e.g. to watch what its ingest took). */
  apiDbUri: string;
  call(base: string, method: string, p: string, o?: { token?: string; body?: unknown }): Promise<Call>;
  simnet(p: string, body?: unknown): Promise<Call>;
  stop(): Promise<void>;
}

async function call(base: string, method: string, p: string, o: { token?: string; body?: unknown } = {}): Promise<Call> {
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + p, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body };
}

function must(r: Call, status: number, what: string): Call {
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}

/**
 * Starts the platform with one logged-in instance. `apiEnv` goes on top of the api's environment (the gateway's
 * request budgets are raised so that the load is measured, not refused: they are per-window counters either way).
 */
export async function startPlatform(log: (line: string) => void, apiEnv: NodeJS.ProcessEnv = {}): Promise<Platform> {
  const procs: ManagedProcess[] = [];
  let mongo: MongoServer | undefined;
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'wacloud-bench-api-'));
  let deleteInstance: (() => Promise<unknown>) | undefined;
  const stop = async () => {
    // Process-provider instances outlive the api by design: delete it through the api first.
    await deleteInstance?.().catch(() => undefined);
    for (const p of procs.reverse()) await p.stop(10_000).catch(() => undefined);
    await mongo?.stop().catch(() => undefined);
    rmSync(dataRoot, { recursive: true, force: true });
  };
  try {
    mongo = await startMongo();
    const simPort = await freePort();
    const sim = startProcess({
      command: process.execPath,
      args: [simnetJs],
      env: { ...process.env, SIMNET_PORT: String(simPort), SIMNET_HOST: '127.0.0.1' },
    });
    procs.push(sim);
    await sim.waitForOutput(/simnet listening/, 20_000);
    const simnetUrl = `http://127.0.0.1:${simPort}`;
    const port = await freePort();
    const metricsPort = await freePort();
    const apiDbUri = mongo.dbUri(uniqueDbName('bench'));
    const api = startProcess({
      command: process.execPath,
      args: [path.join(apiDir, 'dist', 'main.js')],
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        PORT: String(port),
        HOST: '127.0.0.1',
        METRICS_PORT: String(metricsPort),
        METRICS_HOST: '127.0.0.1',
        MONGODB_URI: apiDbUri,
        JWT_SECRET: 'bench-jwt-secret-0123456789abcdef-0123456789',
        PROVIDER: 'process',
        ENGINE: 'simulated',
        SIMNET_URL: simnetUrl,
        PROCESS_DATA_ROOT: dataRoot,
        LOG_LEVEL: 'warn',
        WEBHOOK_ALLOW_CIDRS: '127.0.0.1/32',
        GATEWAY_RATE_PER_ADDRESS: '100000000',
        GATEWAY_RATE_PER_TENANT: '100000000',
        ...apiEnv,
      },
    });
    procs.push(api);
    await Promise.race([
      waitForPort(port, '127.0.0.1', 30_000),
      api.exited.then((c) => Promise.reject(new Error(`api exited with ${c}:\n${api.output().slice(-3000)}`))),
    ]);
    const apiUrl = `http://127.0.0.1:${port}`;
    const creds = { email: 'bench@example.com', password: 'correct horse battery' };
    must(await call(apiUrl, 'POST', '/v1/auth/register', { body: creds }), 201, 'register');
    const owner = must(await call(apiUrl, 'POST', '/v1/auth/login', { body: creds }), 200, 'login').body.accessToken as string;
    must(await call(apiUrl, 'POST', '/v1/wallet/deposits', { token: owner, body: { amount: 100_000 } }), 201, 'deposit');
    const instanceId = must(await call(apiUrl, 'POST', '/v1/instances', { token: owner, body: { name: 'bench' } }), 201, 'create').body
      .id as string;
    deleteInstance = () => call(apiUrl, 'DELETE', `/v1/instances/${instanceId}`, { token: owner });
    log(`instance ${instanceId} created; waiting for Running`);
    await eventually(
      async () => (await call(apiUrl, 'GET', `/v1/instances/${instanceId}`, { token: owner })).body.phase === 'Running',
      60_000,
      200,
    );
    const instanceToken = must(
      await call(apiUrl, 'POST', `/v1/instances/${instanceId}/tokens`, { token: owner, body: { name: 'bench', permissions: 'rw' } }),
      201,
      'instance token',
    ).body.token as string;
    const gatewayBase = `${apiUrl}/v1/instances/${instanceId}/api`;
    const rec = JSON.parse(readFileSync(path.join(dataRoot, instanceId, 'provider.json'), 'utf8')) as { publicPort: number };
    const directBase = `http://127.0.0.1:${rec.publicPort}`;
    const phone = '15550001000';
    const qr = must(await call(gatewayBase, 'POST', '/v1/session/login', { token: instanceToken }), 200, 'session login').body.qr as string;
    must(await call(simnetUrl, 'POST', '/hooks/scan', { body: { qr, phone, pushname: 'Bench' } }), 200, 'scan');
    await eventually(async () => (await call(directBase, 'GET', '/health')).body?.session?.state === 'WORKING', 30_000, 200);
    log(`instance ${instanceId} logged in as ${phone}`);
    return {
      apiUrl,
      simnetUrl,
      owner,
      instanceId,
      instanceToken,
      gatewayBase,
      directBase,
      phone,
      apiMetricsUrl: `http://127.0.0.1:${metricsPort}`,
      apiPid: api.pid,
      mongoKind: mongo.kind,
      // The process provider's database of an instance (api/src/providers/shared/database.ts instanceDatabaseName).
      instanceDbUri: mongo.dbUri(`wacloud_inst_${instanceId.replace(/[^A-Za-z0-9_]/g, '_')}`),
      apiDbUri,
      call,
      simnet: (p, body) => call(simnetUrl, 'POST', p, { body }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
