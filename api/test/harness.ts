/**
 * api test harness: a real MongoDB-wire server, a real simulated WhatsApp network, and the api as its own process
 * (`node dist/main.js`) — with the process provider it spawns real instance processes.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startProcess, uniqueDbName, waitForPort, type ManagedProcess, type MongoServer } from '@wacloud/testenv';

export const apiDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const JWT_SECRET = 'test-jwt-secret-0123456789abcdef-0123456789';

export interface RunningApi {
  url: string;
  proc: ManagedProcess;
  env: NodeJS.ProcessEnv;
  dataRoot: string;
  call<T = any>(
    method: string,
    p: string,
    o?: { token?: string | undefined; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: T; headers: Headers }>;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  restart(): Promise<RunningApi>;
}

export async function startApiProcess(o: {
  mongo: MongoServer;
  simnetUrl?: string;
  env?: NodeJS.ProcessEnv;
  db?: string;
}): Promise<RunningApi> {
  const port = await freePort();
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'wacloud-api-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    MONGODB_URI: o.mongo.dbUri(o.db ?? uniqueDbName('api')),
    JWT_SECRET,
    PROVIDER: 'process',
    ENGINE: 'simulated',
    ...(o.simnetUrl ? { SIMNET_URL: o.simnetUrl } : {}),
    PROCESS_DATA_ROOT: dataRoot,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    ...o.env,
  };
  return launch(env, port, dataRoot);
}

async function launch(env: NodeJS.ProcessEnv, port: number, dataRoot: string): Promise<RunningApi> {
  const proc = startProcess({ command: process.execPath, args: [path.join(apiDir, 'dist', 'main.js')], env });
  try {
    await Promise.race([
      waitForPort(port, '127.0.0.1', 30_000),
      proc.exited.then((c) => {
        throw new Error(`api exited with ${c}:\n${proc.output()}`);
      }),
    ]);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  const api: RunningApi = {
    url,
    proc,
    env,
    dataRoot,
    async call(method, p, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      let body = opts.raw;
      if (opts.body !== undefined) {
        headers['content-type'] ??= 'application/json';
        body = JSON.stringify(opts.body);
      }
      const res = await fetch(url + p, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed as never, headers: res.headers };
    },
    stop: async () => void (await proc.stop()),
    kill9: () => proc.kill9(),
    restart: () => launch(env, port, dataRoot),
  };
  return api;
}

/** Registers, logs in and deposits `deposit` minor units; returns the access token. */
export async function tenant(api: RunningApi, email: string, deposit = 0): Promise<string> {
  const reg = await api.call('POST', '/v1/auth/register', { body: { email, password: 'correct horse battery' } });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
  const login = await api.call('POST', '/v1/auth/login', { body: { email, password: 'correct horse battery' } });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${JSON.stringify(login.body)}`);
  const token = login.body.accessToken as string;
  if (deposit > 0) {
    const d = await api.call('POST', '/v1/wallet/deposits', { token, body: { amount: deposit } });
    if (d.status !== 201) throw new Error(`deposit: ${d.status} ${JSON.stringify(d.body)}`);
  }
  return token;
}
