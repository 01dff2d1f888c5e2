/**
 * ProcessProvider against real things only: a MongoDB-wire server (testenv), the simulated WhatsApp network and
 * instance processes built from instance/ (`npx tsc -b .` first), and — for the api-crash case — the provider
 * running inside a separate host process (fixtures/process-provider-host.ts) that the test SIGKILLs.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, rmdirSync, statSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mongoose from 'mongoose';
import { pino } from 'pino';
import { countProcesses, eventually, startMongo, type ManagedProcess, type MongoServer } from '@wacloud/testenv';
import { InstanceCgroups, memoryCgroupOf } from '../../src/providers/process/cgroups.js';
import { ProcessProvider } from '../../src/providers/process/provider.js';
import { ProviderError, type ProvisionRequest } from '../../src/providers/provider.js';
import { instanceDatabaseName } from '../../src/providers/shared/database.js';
import type { HostConfig } from './fixtures/process-provider-host.js';
import { startTsHost } from '../fixtures/ts-host.js';
import { startSimnet } from '../../../instance/test/harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..', '..');
const instanceMain = path.join(repoRoot, 'instance', 'dist', 'main.js');
const hostScript = path.join(here, 'fixtures', 'process-provider-host.ts');
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const instanceEnv = { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn', PERSIST_FLUSH_MS: '50' };

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Live processes of instance `id` under `root` (its data dir is in the instance's argv). */
const procsOf = (root: string, id: string) => countProcesses(new RegExp(`--data-dir=${escape(path.join(root, id, 'data'))}( |$)`));
const pidOf = (root: string, id: string) => Number(readFileSync(path.join(root, id, 'pid'), 'utf8').trim());
const readRecord = (root: string, id: string) => JSON.parse(readFileSync(path.join(root, id, 'provider.json'), 'utf8'));
/** The nice value of every thread of `pid` (field 19 of `/proc/<pid>/task/<tid>/stat`). */
const threadNices = (pid: number) =>
  readdirSync(`/proc/${pid}/task`).map((tid) => {
    const st = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[16]);
  });
/** The nice value a provider configured with `nice` leaves instances at: never above the api's own priority. */
const expectedNice = (nice: number) => Math.max(nice, os.getPriority());
/** The nice of `pid`'s autogroup; undefined when the kernel has none (then threads' nice values alone count). */
const autogroupNiceOf = (pid: number) =>
  existsSync(`/proc/${pid}/autogroup`) ? Number(/nice\s+(-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'))?.[1]) : undefined;

/** Whether `pid` runs (a zombie does not: orphans of a killed host may wait for a reaper). */
function alive(pid: number): boolean {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

/** SIGKILLs every process whose command line mentions `root` (test cleanup). */
function killAllUnder(root: string): void {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(root)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** This process's memory cgroup directory ('/nonexistent' without one: then no provider here makes cgroups). */
const ownMemoryCgroup = (() => {
  try {
    return memoryCgroupOf(readFileSync('/proc/self/cgroup', 'utf8'), readFileSync('/proc/self/mountinfo', 'utf8'))?.dir ?? '/nonexistent';
  } catch {
    return '/nonexistent';
  }
})();
/** The memory cgroup of live `pid` as the kernel reports it (v1 `memory` line, else v2's). */
const memoryCgroupPathOf = (pid: number) => {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  return (lines.find((l) => /^\d+:[^:]*\bmemory\b[^:]*:/.test(l)) ?? lines.find((l) => l.startsWith('0::')))?.replace(/^\d+:[^:]*:/, '');
};

/** This process's autogroup nice before any provider ran (the api's session is never lowered). */
const ownAutogroupNice = autogroupNiceOf(process.pid);

let mongo: MongoServer;
let simnet: ManagedProcess;
let simnetUrl: string;
const roots: string[] = [];
const newRoot = () => {
  const r = mkdtempSync(path.join(os.tmpdir(), 'wacloud-procprov-'));
  roots.push(r);
  return r;
};
const suffix = Math.random().toString(36).slice(2, 8);
const req = (id: string, extra: Partial<ProvisionRequest> = {}): ProvisionRequest => ({
  id: `${id}-${suffix}`,
  owner: 'user-1',
  name: `Instance ${id}`,
  engine: 'simulated',
  suspended: false,
  ...extra,
});

beforeAll(async () => {
  mongo = await startMongo();
  ({ proc: simnet, url: simnetUrl } = await startSimnet());
}, 60_000);

afterAll(async () => {
  for (const r of roots) {
    killAllUnder(r);
    rmSync(r, { recursive: true, force: true });
  }
  // The memory cgroups of the instances killed above (the providers' default parent), once their processes are gone.
  const cgroups = new InstanceCgroups({ memoryBytes: 1, log: logger });
  const ours = () =>
    (existsSync(path.dirname(cgroups.dirOf('x'))) ? readdirSync(path.dirname(cgroups.dirOf('x'))) : []).filter((n) =>
      n.endsWith(`-${suffix}`),
    );
  await eventually(() => (cgroups.prune(), ours().length === 0), 10_000).catch(() => undefined);
  await simnet?.stop();
  await mongo?.stop();
});

async function expectProviderError(p: Promise<unknown>, code: ProviderError['code']): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  expect((err as ProviderError).code).toBe(code);
}

describe('ProcessProvider (in this process)', () => {
  let root: string;
  let provider: ProcessProvider;
  const a = req('a');
  const b = req('b');

  beforeAll(() => {
    root = newRoot();
    provider = new ProcessProvider({
      instanceMain,
      dataRoot: root,
      mongoUri: mongo.uri,
      simnetUrl,
      logger,
      restartBackoff: { initialMs: 200, maxMs: 2_000 },
      env: instanceEnv,
    });
  });
  afterAll(async () => {
    await provider.close();
  });

  test('create starts two instances that answer /health and report Running (session STOPPED)', async () => {
    await Promise.all([provider.create(a), provider.create(b)]);
    for (const r of [a, b]) {
      const st = await eventually(async () => {
        const s = await provider.status(r.id);
        return s.phase === 'Running' ? s : undefined;
      }, 20_000);
      expect(st.sessionState).toBe('STOPPED');
      expect(procsOf(root, r.id)).toBe(1);
      const rec = readRecord(root, r.id);
      expect(rec).toEqual({
        id: r.id,
        owner: 'user-1',
        name: r.name,
        engine: 'simulated',
        suspended: false,
        publicPort: expect.any(Number),
        internalPort: expect.any(Number),
        createdAt: expect.any(String),
      });
      expect(statSync(path.join(root, r.id, 'internal-key')).mode & 0o777).toBe(0o600);
      const key = readFileSync(path.join(root, r.id, 'internal-key'), 'utf8');
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(readFileSync(path.join(root, r.id, 'provider.json'), 'utf8')).not.toContain(key);
    }
    const ports = [a, b].flatMap((r) => [readRecord(root, r.id).publicPort, readRecord(root, r.id).internalPort]);
    expect(new Set(ports).size).toBe(4);

    // Idempotent: a second create keeps the process, the ports and the key.
    const before = { pid: pidOf(root, a.id), rec: readRecord(root, a.id) };
    await provider.create({ ...a, name: 'renamed' });
    expect(pidOf(root, a.id)).toBe(before.pid);
    expect(readRecord(root, a.id)).toEqual({ ...before.rec, name: 'renamed' });
    expect(procsOf(root, a.id)).toBe(1);
  });

  test("instances run below the api's CPU priority: every thread at nice 10, their autogroup too; a bad nice is refused", async () => {
    const pid = pidOf(root, a.id);
    const nices = threadNices(pid);
    expect(nices.length).toBeGreaterThan(1); // Node's own threads, started before the provider lowered the priority
    expect(new Set(nices)).toEqual(new Set([expectedNice(10)]));
    const group = autogroupNiceOf(pid);
    if (group !== undefined) {
      expect(group).toBe(10);
      expect(autogroupNiceOf(process.pid)).toBe(ownAutogroupNice); // the test's (the api's) own session keeps its share
    }
    for (const nice of [-1, 20, 2.5]) {
      expect(() => new ProcessProvider({ instanceMain, dataRoot: root, mongoUri: mongo.uri, simnetUrl, logger, nice })).toThrow(
        /nice value must be an integer from 0 to 19/,
      );
    }
  });

  test('endpoints reach the internal API (token creation) and the public API', async () => {
    const ep = await provider.endpoints(a.id);
    expect(ep.publicUrl).toBe(`http://127.0.0.1:${readRecord(root, a.id).publicPort}`);
    expect(ep.internalUrl).toBe(`http://127.0.0.1:${readRecord(root, a.id).internalPort}`);
    const res = await fetch(`${ep.internalUrl}/internal/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ep.internalKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'test', permissions: 'r' }),
    });
    expect(res.status).toBeLessThan(300);
    const { token } = (await res.json()) as { token: string };
    expect((await fetch(`${ep.publicUrl}/v1/token`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const wrong = await fetch(`${ep.internalUrl}/internal/v1/tokens`, { headers: { authorization: 'Bearer wrong-key-0123456789' } });
    expect(wrong.status).toBe(401);
    await expectProviderError(provider.endpoints('no-such-instance'), 'not_found');
    expect((await provider.status('no-such-instance')).phase).toBe('NotFound');
  });

  test('suspend stops the process and keeps the data; resume brings it back on the same ports with its data', async () => {
    const ep = await provider.endpoints(a.id);
    const created = await fetch(`${ep.internalUrl}/internal/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ep.internalKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'kept', permissions: 'rw' }),
    });
    const { token } = (await created.json()) as { token: string };
    await provider.suspend(a.id);
    expect(procsOf(root, a.id)).toBe(0);
    expect((await provider.status(a.id)).phase).toBe('Suspended');
    expect(readRecord(root, a.id).suspended).toBe(true);
    expect(existsSync(path.join(root, a.id, 'data'))).toBe(true);
    await expectProviderError(provider.endpoints(a.id), 'not_ready');
    await provider.suspend(a.id); // idempotent
    await new Promise((r) => setTimeout(r, 600)); // longer than the restart backoff: a suspended instance stays down
    expect(procsOf(root, a.id)).toBe(0);

    await provider.resume(a.id);
    await eventually(async () => (await provider.status(a.id)).phase === 'Running', 20_000);
    const again = await provider.endpoints(a.id);
    expect(again).toEqual(ep);
    // Same key file, same database: the token made before the suspension still works.
    expect((await fetch(`${again.publicUrl}/v1/token`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect(procsOf(root, a.id)).toBe(1);
    await provider.resume(a.id); // idempotent
    expect(procsOf(root, a.id)).toBe(1);
  });

  test('an instance killed with SIGKILL is restarted and answers again', async () => {
    const pid = pidOf(root, b.id);
    process.kill(pid, 'SIGKILL');
    await eventually(() => pidOf(root, b.id) !== pid, 10_000);
    const st = await eventually(async () => {
      const s = await provider.status(b.id);
      return s.phase === 'Running' ? s : undefined;
    }, 20_000);
    expect(st.sessionState).toBe('STOPPED');
    expect(procsOf(root, b.id)).toBe(1);
    await provider.endpoints(b.id);
  });

  test('delete stops the process, removes the directory and drops the database', async () => {
    await provider.delete(a.id);
    expect(procsOf(root, a.id)).toBe(0);
    expect(existsSync(path.join(root, a.id))).toBe(false);
    expect((await provider.status(a.id)).phase).toBe('NotFound');
    await expectProviderError(provider.endpoints(a.id), 'not_found');
    await provider.delete(a.id); // idempotent
    const conn = await mongoose.createConnection(mongo.uri).asPromise();
    try {
      const { databases } = await conn.db!.admin().listDatabases();
      const names = databases.map((d) => d.name);
      expect(names).not.toContain(instanceDatabaseName(a.id));
      expect(names).toContain(instanceDatabaseName(b.id));
    } finally {
      await conn.close();
    }
    // b is untouched.
    expect((await provider.status(b.id)).phase).toBe('Running');
  });

  test('close() leaves instances running; reconcile() drops unknown instances without deleting their data', async () => {
    const pid = pidOf(root, b.id);
    await provider.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(procsOf(root, b.id)).toBe(1);
    const next = new ProcessProvider({ instanceMain, dataRoot: root, mongoUri: mongo.uri, simnetUrl, logger, env: instanceEnv });
    try {
      await next.reconcile([]);
      expect(procsOf(root, b.id)).toBe(0);
      expect(existsSync(path.join(root, b.id, 'data'))).toBe(true);
      // Gone from /proc's command lines at once; the process itself may take a moment more to finish its exit.
      await eventually(() => !alive(pid), 10_000);
      await next.delete(b.id);
    } finally {
      await next.close();
    }
  });
});

describe('ProcessProvider with an instance that keeps crashing', () => {
  test('restarts it with growing delays, reports Provisioning with the exit, and stops the loop on suspend', async () => {
    const root = newRoot();
    const provider = new ProcessProvider({
      instanceMain: path.join(here, 'fixtures', 'exiting-instance.mjs'),
      dataRoot: root,
      mongoUri: mongo.uri,
      simnetUrl,
      logger,
      restartBackoff: { initialMs: 100, maxMs: 800 },
    });
    const r = req('crashy');
    try {
      await provider.create(r);
      const starts = () => (readFileSync(path.join(root, r.id, 'instance.log'), 'utf8').match(/starting instance/g) ?? []).length;
      await eventually(() => starts() >= 4, 10_000);
      // 100 + 200 + 400 + 800 + 800 … ms: about 5 starts in 2 s, not a hot loop.
      const status = await provider.status(r.id);
      expect(status.phase).toBe('Provisioning');
      expect(status.message).toMatch(/exit code 3/);
      expect(readFileSync(path.join(root, r.id, 'instance.log'), 'utf8')).toContain(`boom: cannot start (--instance-id=${r.id}`);
      await new Promise((res) => setTimeout(res, 1_000));
      expect(starts()).toBeLessThanOrEqual(8);
      await provider.suspend(r.id);
      const after = starts();
      await new Promise((res) => setTimeout(res, 1_200));
      expect(starts()).toBe(after);
      expect((await provider.status(r.id)).phase).toBe('Suspended');
    } finally {
      await provider.delete(r.id);
      await provider.close();
    }
  });
});

describe('ProcessProvider surviving an api crash (provider in a host process)', () => {
  let root: string;
  const hosts: ManagedProcess[] = [];
  const c = req('c');
  const d = req('d');
  const e = req('e');
  const s = req('s', { suspended: true });

  // The restarted api's instance cgroups: another parent than the first one's, to see adoption place the processes.
  const adoptCgroups = new InstanceCgroups({
    memoryBytes: 1024 ** 3,
    parent: path.join(ownMemoryCgroup, `wacloud-test-adopt-${suffix}`),
    log: logger,
  });
  const startHost = async (action: HostConfig['action'], requests: ProvisionRequest[]): Promise<ManagedProcess> => {
    const config: HostConfig = {
      action,
      nice: action === 'create' ? 5 : 12,
      cgroupParent: action === 'create' ? undefined : path.dirname(adoptCgroups.dirOf('x')),
      instanceMain,
      dataRoot: root,
      mongoUri: mongo.uri,
      simnetUrl,
      requests,
      instanceLogLevel: instanceEnv.LOG_LEVEL,
    };
    const host = startTsHost(hostScript, 'PROVIDER_HOST_CONFIG', config);
    hosts.push(host);
    await host.waitForOutput(/host ready/, 40_000);
    return host;
  };

  beforeAll(() => {
    root = newRoot();
  });
  afterAll(async () => {
    for (const h of hosts) await h.kill9();
    const cleanup = new ProcessProvider({ instanceMain, dataRoot: root, mongoUri: mongo.uri, simnetUrl, logger });
    for (const r of [c, d, e, s]) await cleanup.delete(r.id);
    await cleanup.close();
    adoptCgroups.prune();
    if (!adoptCgroups.unavailable) rmdirSync(path.dirname(adoptCgroups.dirOf('x')));
  });

  test('a new provider adopts the surviving instances (same pids, one process each), stops unknown ones, and supervises them', async () => {
    const first = await startHost('create', [c, d, e, s]);
    const pids = { c: pidOf(root, c.id), d: pidOf(root, d.id), e: pidOf(root, e.id) };
    expect(new Set(threadNices(pids.c))).toEqual(new Set([expectedNice(5)]));
    expect(procsOf(root, s.id)).toBe(0);

    await first.kill9(); // the api crashes
    for (const r of [c, d, e]) expect(procsOf(root, r.id)).toBe(1);

    // The restarted api knows c, d and s (suspended); e was deleted from its database meanwhile.
    await startHost('reconcile', [c, d, s]);
    expect(pidOf(root, c.id)).toBe(pids.c);
    expect(pidOf(root, d.id)).toBe(pids.d);
    // Started at nice 5, adopted by a provider configured with 12: lowered at adoption.
    expect(new Set(threadNices(pids.c))).toEqual(new Set([expectedNice(12)]));
    if (autogroupNiceOf(pids.c) !== undefined) expect(autogroupNiceOf(pids.c)).toBe(12);
    // … and put in the new provider's memory cgroup of the instance, where this machine lets it make them.
    if (!adoptCgroups.unavailable) expect(memoryCgroupPathOf(pids.c)).toMatch(new RegExp(`/wacloud-test-adopt-${suffix}/${c.id}$`));
    expect(procsOf(root, c.id)).toBe(1);
    expect(procsOf(root, d.id)).toBe(1);
    expect(procsOf(root, s.id)).toBe(0);
    expect(procsOf(root, e.id)).toBe(0);
    expect(existsSync(path.join(root, e.id, 'data'))).toBe(true);
    expect(alive(pids.e)).toBe(false);

    // The adopted process is not the new host's child, yet its crash is noticed and repaired.
    process.kill(pids.c, 'SIGKILL');
    await eventually(() => existsSync(path.join(root, c.id, 'pid')) && pidOf(root, c.id) !== pids.c, 15_000);
    const viewer = new ProcessProvider({ instanceMain, dataRoot: root, mongoUri: mongo.uri, simnetUrl, logger });
    try {
      await eventually(async () => (await viewer.status(c.id)).phase === 'Running', 20_000);
    } finally {
      await viewer.close();
    }
    expect(procsOf(root, c.id)).toBe(1);
  });
});
