/**
 * The process provider's memory limits (`providers/process/cgroups.ts`): where this process's memory cgroup is
 * (mountinfo and /proc/self/cgroup of v1, v2 and container machines), and — on this machine's real cgroup file system
 * — an instance's processes and the processes they start land in its cgroup, a process over its limit is killed by the
 * kernel inside it, the provider reports such an exit, and the cgroup goes with the instance.
 *
 * Where the cgroup file system is not writable (no root, no delegation) the provider must say so and run instances
 * anyway: that is what these tests check there.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { eventually, startMongo, type ManagedProcess, type MongoServer } from '@wacloud/testenv';
import { loadConfig } from '../../src/config.js';
import { DEFAULT_CGROUP_PARENT_NAME, InstanceCgroups, memoryCgroupOf, type MemoryCgroup } from '../../src/providers/process/cgroups.js';
import { registerInstanceMetrics } from '../../src/providers/metrics.js';
import { ProcessProvider } from '../../src/providers/process/provider.js';
import type { ProvisionRequest } from '../../src/providers/provider.js';
import { startSimnet } from '../../../instance/test/harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..', '..');
const instanceMain = path.join(repoRoot, 'instance', 'dist', 'main.js');
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const MiB = 1024 ** 2;
const suffix = Math.random().toString(36).slice(2, 8);

/** This test process's memory cgroup (the api's would be found the same way). */
const own: MemoryCgroup | undefined = (() => {
  try {
    return memoryCgroupOf(readFileSync('/proc/self/cgroup', 'utf8'), readFileSync('/proc/self/mountinfo', 'utf8'));
  } catch {
    return undefined;
  }
})();
/** The memory cgroup directory of live `pid`, as the kernel reports it (relative to its hierarchy's root). */
function cgroupPathOf(pid: number): string | undefined {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  const v1 = lines.find((l) => /^\d+:[^:]*\bmemory\b[^:]*:/.test(l));
  return (v1 ?? lines.find((l) => l.startsWith('0::')))?.replace(/^\d+:[^:]*:/, '');
}
const parents: string[] = [];
/** A parent for one test's cgroups under this process's own (removed in afterAll). */
const newParent = (name: string) => {
  const p = path.join(own?.dir ?? '/nonexistent', `wacloud-test-${name}-${suffix}`);
  parents.push(p);
  return p;
};
afterAll(() => {
  for (const p of parents) {
    for (const d of existsSync(p) ? readdirSync(p, { withFileTypes: true }) : []) if (d.isDirectory()) rmdirQuiet(path.join(p, d.name));
    rmdirQuiet(p);
  }
});
function rmdirQuiet(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    /* gone, or still busy */
  }
}

describe('memoryCgroupOf', () => {
  const v1Mounts = [
    '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
    '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
    '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
    '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
  ].join('\n');

  test('cgroup v1 (hybrid): the memory hierarchy, not the unified one', () => {
    const self = '4:memory:/process_api/0a40\n1:cpu:/\n0::/';
    expect(memoryCgroupOf(self, v1Mounts)).toEqual({ version: 1, dir: '/sys/fs/cgroup/memory/process_api/0a40' });
  });

  test('cgroup v2: the unified hierarchy; in a container (cgroup namespace) its root', () => {
    const mounts = '30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate';
    expect(memoryCgroupOf('0::/system.slice/wacloud.service', mounts)).toEqual({
      version: 2,
      dir: '/sys/fs/cgroup/system.slice/wacloud.service',
    });
    expect(memoryCgroupOf('0::/', mounts)).toEqual({ version: 2, dir: '/sys/fs/cgroup' });
  });

  test("a mount of a subtree (a container's view of v1) and escaped mount points; none when the cgroup is not visible", () => {
    const mounts = '50 40 0:32 /docker/abc /sys/fs/cgroup/my\\040memory ro - cgroup cgroup rw,memory';
    expect(memoryCgroupOf('9:memory:/docker/abc', mounts)).toEqual({ version: 1, dir: '/sys/fs/cgroup/my memory' });
    expect(memoryCgroupOf('9:memory:/docker/abc/sub', mounts)).toEqual({ version: 1, dir: '/sys/fs/cgroup/my memory/sub' });
    expect(memoryCgroupOf('9:memory:/docker/abcdef', mounts)).toBeUndefined();
    expect(memoryCgroupOf('9:memory:/x', v1Mounts.replace(/rw,memory/, 'rw,pids'))).toBeUndefined();
    expect(memoryCgroupOf('', '')).toBeUndefined();
  });
});

describe('configuration', () => {
  test('PROCESS_MEMORY_LIMIT (2g by default, 0: none) and PROCESS_CGROUP_PARENT; the provider refuses a bad limit', () => {
    const env = { MONGODB_URI: 'mongodb://127.0.0.1:27017/wacloud', JWT_SECRET: 'j'.repeat(32), SIMNET_URL: 'http://127.0.0.1:7300' };
    expect(loadConfig(env)).toMatchObject({ processMemoryLimit: 2 * 1024 ** 3, processCgroupParent: undefined });
    expect(loadConfig({ ...env, PROCESS_MEMORY_LIMIT: '0' }).processMemoryLimit).toBe(0);
    expect(loadConfig({ ...env, PROCESS_MEMORY_LIMIT: '768m', PROCESS_CGROUP_PARENT: '/sys/fs/cgroup/wacloud' })).toMatchObject({
      processMemoryLimit: 768 * MiB,
      processCgroupParent: '/sys/fs/cgroup/wacloud',
    });
    expect(() => loadConfig({ ...env, PROCESS_MEMORY_LIMIT: 'lots' })).toThrow(/PROCESS_MEMORY_LIMIT/);
    const base = { instanceMain, dataRoot: os.tmpdir(), mongoUri: 'mongodb://127.0.0.1:1', logger };
    for (const memoryBytes of [-1, 1.5])
      expect(() => new ProcessProvider({ ...base, memoryBytes })).toThrow(/memory limit must be a whole number of bytes/);
    // 0: no limit, no cgroups made.
    expect(new InstanceCgroups({ memoryBytes: 0, parent: newParent('none'), log: logger }).unavailable).toBe('no memory limit configured');
    expect(existsSync(parents.at(-1)!)).toBe(false);
  });
});

/** The memory limit of cgroup `dir` and, where the kernel accounts swap, its swap limit (v1: memory+swap, bytes). */
function limitsOf(dir: string): { memory: number; swap?: number } {
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8').trim();
  if (own!.version === 1) {
    const memsw = path.join(dir, 'memory.memsw.limit_in_bytes');
    return {
      memory: Number(read('memory.limit_in_bytes')),
      ...(existsSync(memsw) ? { swap: Number(read('memory.memsw.limit_in_bytes')) } : {}),
    };
  }
  return {
    memory: Number(read('memory.max')),
    ...(existsSync(path.join(dir, 'memory.swap.max')) ? { swap: Number(read('memory.swap.max')) } : {}),
  };
}

/** What {@link limitsOf} should read for a limit of `bytes`: no swap beyond it (v1 memory+swap = limit, v2 swap 0). */
function withSwap(dir: string, bytes: number): { memory: number; swap?: number } {
  const swapFile = own!.version === 1 ? 'memory.memsw.limit_in_bytes' : 'memory.swap.max';
  return { memory: bytes, ...(existsSync(path.join(dir, swapFile)) ? { swap: own!.version === 1 ? bytes : 0 } : {}) };
}

describe('InstanceCgroups on this machine', () => {
  test('processes and their children land in the instance cgroup; one over its limit is killed there and counted', async () => {
    const parent = newParent('unit');
    const cgroups = new InstanceCgroups({ memoryBytes: 64 * MiB, parent, log: logger });
    if (cgroups.unavailable) {
      // Not writable here: said so (logged), and placing is a harmless no-op.
      expect(cgroups.unavailable).toMatch(/cannot make instance cgroups|no memory cgroup/);
      expect(() => cgroups.place('i-none', [process.pid])).not.toThrow();
      expect(cgroupPathOf(process.pid)).not.toContain(parent);
      return;
    }
    // A process that starts a child after it was placed: both in the cgroup, with the limit.
    const quiet = spawn(
      process.execPath,
      ['-e', "setTimeout(() => require('child_process').spawn('sleep', ['30'], { stdio: 'ignore' }), 300); setInterval(() => {}, 1000)"],
      { stdio: 'ignore' },
    );
    // A process of the group that ended before its turn is skipped; the others are placed.
    const ended = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((resolve) => ended.once('exit', resolve));
    try {
      cgroups.place('i-quiet', [ended.pid!, quiet.pid!]);
      const dir = cgroups.dirOf('i-quiet');
      expect(limitsOf(dir)).toEqual(withSwap(dir, 64 * MiB));
      // Another api's limit (raised, then lowered again) applies to the group in use, swap included.
      for (const bytes of [128 * MiB, 64 * MiB]) {
        new InstanceCgroups({ memoryBytes: bytes, parent, log: logger }).place('i-quiet', [quiet.pid!]);
        expect(limitsOf(dir)).toEqual(withSwap(dir, bytes));
      }
      const child = await eventually(() => {
        const procs = readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').trim().split('\n').map(Number);
        return procs.length === 2 ? procs.find((p) => p !== quiet.pid) : undefined;
      }, 5_000);
      for (const pid of [quiet.pid!, child]) expect(cgroupPathOf(pid)).toMatch(new RegExp(`/wacloud-test-unit-${suffix}/i-quiet$`));
      process.kill(child, 'SIGKILL');
    } finally {
      quiet.kill('SIGKILL');
    }
    await eventually(() => readFileSync(path.join(cgroups.dirOf('i-quiet'), 'cgroup.procs'), 'utf8').trim() === '', 5_000);
    await cgroups.remove('i-quiet');
    expect(existsSync(cgroups.dirOf('i-quiet'))).toBe(false);

    // A process that grows past 64 MiB once placed: the kernel kills it inside its cgroup.
    const greedy = spawn(process.execPath, ['-e', 'setTimeout(() => { const a = []; for (;;) a.push(Buffer.alloc(8 << 20, 1)); }, 500)'], {
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => greedy.once('exit', (_code, signal) => resolve(signal)));
    cgroups.place('i-greedy', [greedy.pid!]);
    expect(cgroups.oomKills('i-greedy')).toBe(0);
    expect(await exited).toBe('SIGKILL');
    expect(cgroups.oomKills('i-greedy')).toBeGreaterThanOrEqual(1);
    await cgroups.remove('i-greedy');
    expect(existsSync(cgroups.dirOf('i-greedy'))).toBe(false);
  }, 30_000);
});

test('cgroup v2 without the memory controller (the unified hierarchy of a v1 machine): refused with the reason', () => {
  const unified = '/sys/fs/cgroup/unified';
  const controllers = existsSync(`${unified}/cgroup.controllers`) ? readFileSync(`${unified}/cgroup.controllers`, 'utf8') : undefined;
  const parent = path.join(unified, `wacloud-test-v2-${suffix}`);
  parents.push(parent);
  const cgroups = new InstanceCgroups({ memoryBytes: 64 * MiB, parent, own: { version: 2, dir: unified }, log: logger });
  if (controllers !== undefined && !controllers.split(/\s+/).includes('memory')) {
    expect(cgroups.unavailable).toMatch(/the memory controller is not available in \/sys\/fs\/cgroup\/unified\/wacloud-test-v2-/);
  } else {
    expect(cgroups.unavailable === undefined || /cannot make instance cgroups/.test(cgroups.unavailable)).toBe(true);
  }
});

test('a provider that does not report memory (docker, kubernetes) adds no instance series to the metrics', async () => {
  const registry = new Registry();
  registerInstanceMetrics(registry, {});
  expect(registry.getSingleMetric('wacloud_instance_memory_bytes')).toBeUndefined();
  registerInstanceMetrics(registry, { memoryUsage: () => new Map([['i-a', 5]]) });
  expect(await registry.metrics()).toMatch(/^wacloud_instance_memory_bytes\{instance_id="i-a"\} 5$/m);
});

describe('ProcessProvider with memory limits', () => {
  let mongo: MongoServer;
  let simnet: ManagedProcess;
  let simnetUrl: string;
  const roots: string[] = [];
  beforeAll(async () => {
    mongo = await startMongo();
    ({ proc: simnet, url: simnetUrl } = await startSimnet());
  }, 60_000);
  afterAll(async () => {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
    await simnet?.stop();
    await mongo?.stop();
  });
  const provider = (o: { memoryBytes?: number; cgroupParent?: string; restartBackoff?: { initialMs: number; maxMs: number } }) => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'wacloud-procmem-'));
    roots.push(root);
    return new ProcessProvider({
      instanceMain,
      dataRoot: root,
      mongoUri: mongo.uri,
      simnetUrl,
      logger,
      restartBackoff: { initialMs: 200, maxMs: 1_000 },
      env: { LOG_LEVEL: 'warn' },
      ...o,
    });
  };
  const req = (id: string): ProvisionRequest => ({
    id: `${id}-${suffix}`,
    owner: 'user-1',
    name: id,
    engine: 'simulated',
    suspended: false,
  });
  const writable = () => !new InstanceCgroups({ memoryBytes: MiB, parent: newParent('probe'), log: logger }).unavailable;

  test('by default an instance runs in wacloud-instances/<id> under the api cgroup, which goes with the instance', async () => {
    const p = provider({});
    const r = req('mem-default');
    try {
      await p.create(r);
      await eventually(async () => (await p.status(r.id)).phase === 'Running', 20_000);
      const pid = Number(readFileSync(path.join(roots.at(-1)!, r.id, 'pid'), 'utf8'));
      const dir = path.join(own?.dir ?? '/nonexistent', DEFAULT_CGROUP_PARENT_NAME, r.id);
      const registry = new Registry();
      registerInstanceMetrics(registry, p);
      if (!writable()) {
        expect(existsSync(dir)).toBe(false); // runs anyway, without a limit
        expect(p.memoryUsage().size).toBe(0);
        return;
      }
      expect(cgroupPathOf(pid)).toMatch(new RegExp(`/${DEFAULT_CGROUP_PARENT_NAME}/${r.id}$`));
      expect(limitsOf(dir)).toEqual(withSwap(dir, 2 * 1024 ** 3));
      // Its memory as the cgroup counts it, on the api's metrics.
      const usage = p.memoryUsage().get(r.id)!;
      expect(usage).toBeGreaterThan(20 * MiB);
      expect(usage).toBeLessThan(2 * 1024 ** 3);
      const series = new RegExp(`^wacloud_instance_memory_bytes\\{instance_id="${r.id}"\\} (\\d+)$`, 'm');
      expect(Number(series.exec(await registry.metrics())?.[1])).toBeGreaterThan(20 * MiB);
      await p.delete(r.id);
      expect(existsSync(dir)).toBe(false);
      expect(p.memoryUsage().size).toBe(0);
      expect(await registry.metrics()).not.toMatch(series);
    } finally {
      await p.delete(r.id).catch(() => undefined);
      await p.close();
    }
  }, 60_000);

  test('an instance over its limit is killed inside its cgroup, restarted, and its status says why', async () => {
    if (!writable())
      return void expect(new InstanceCgroups({ memoryBytes: MiB, parent: newParent('x'), log: logger }).unavailable).toBeTruthy();
    // 16 MiB: less than an instance needs to start, so each start ends in an out-of-memory kill.
    const p = provider({ memoryBytes: 16 * MiB, cgroupParent: newParent('provider') });
    const r = req('mem-small');
    try {
      await p.create(r);
      const status = await eventually(async () => {
        const s = await p.status(r.id);
        return /memory limit/.test(s.message ?? '') ? s : undefined;
      }, 30_000);
      expect(status.phase).toBe('Provisioning');
      expect(status.message).toMatch(/signal SIGKILL: its memory limit was reached/);
    } finally {
      await p.delete(r.id);
      await p.close();
    }
  }, 60_000);

  test('a kill of another of its processes (a browser) at the limit is not given as the reason of a later exit', async () => {
    if (!writable())
      return void expect(new InstanceCgroups({ memoryBytes: MiB, parent: newParent('x'), log: logger }).unavailable).toBeTruthy();
    const parent = newParent('later');
    // Restarts held back for a minute, so that the status keeps saying why the process ended.
    const p = provider({ memoryBytes: 256 * MiB, cgroupParent: parent, restartBackoff: { initialMs: 60_000, maxMs: 60_000 } });
    const r = req('mem-later');
    let greedy: ReturnType<typeof spawn> | undefined;
    try {
      await p.create(r);
      await eventually(async () => (await p.status(r.id)).phase === 'Running', 20_000);
      const pid = Number(readFileSync(path.join(roots.at(-1)!, r.id, 'pid'), 'utf8'));
      // A process of the instance that grows past the limit, first in line for the kernel's kill (as a browser would be).
      // (512 MiB at most, then idle: bounded even if it were not placed.)
      const grow =
        'setTimeout(() => { const a = []; for (let i = 0; i < 64; i++) a.push(Buffer.alloc(8 << 20, 1)); setInterval(() => a, 1e3); }, 500)';
      const child = spawn(process.execPath, ['-e', grow], { stdio: 'ignore' });
      greedy = child;
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      writeFileSync(`/proc/${child.pid}/oom_score_adj`, '1000');
      new InstanceCgroups({ memoryBytes: 256 * MiB, parent, log: logger }).place(r.id, [child.pid!]);
      expect(await exited).toBe('SIGKILL');
      if (own!.version === 2) {
        // memory.oom.group: the whole instance went with it, and that is its reason.
        const s = await eventually(async () => {
          const st = await p.status(r.id);
          return st.message?.includes('memory limit') ? st : undefined;
        }, 20_000);
        expect(s.message).toMatch(/signal SIGKILL: its memory limit was reached/);
        return;
      }
      expect((await p.status(r.id)).phase).toBe('Running'); // v1: the greedy process alone was killed
      process.kill(pid, 'SIGTERM'); // then the instance process ends on its own (exit code 0)
      const s = await eventually(async () => {
        const st = await p.status(r.id);
        return st.phase === 'Provisioning' && st.message?.startsWith('restarting') ? st : undefined;
      }, 20_000);
      expect(s.message).toBe('restarting after exit code 0 (1×)');
    } finally {
      greedy?.kill('SIGKILL');
      await p.delete(r.id);
      await p.close();
    }
  }, 60_000);
});
