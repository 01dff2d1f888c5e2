/**
 * Supervision of the process provider's instance processes: start (detached, in their own process group, output to
 * instance.log), adoption of processes that survived an api restart, restart with exponential backoff after an
 * unexpected exit, and deliberate stops (SIGTERM to the group, SIGKILL after a grace period).
 *
 * Children of this api are watched through their `exit` event; adopted processes (not our children) are polled.
 * Callers hold the instance's lock (see {@link KeyedLock}) around {@link Supervisor.ensureRunning} and
 * {@link Supervisor.stop}; restarts take it themselves.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Logger } from 'pino';
import { probeHealth, type HealthCache } from '../shared/health.js';
import type { KeyedLock } from '../shared/keyed-lock.js';
import type { InstanceCgroups } from './cgroups.js';
import { findProcesses, groupPids, killGroup, lowerGroupPriority, runsWith } from './procfs.js';
import type { ProcessInstanceRecord, ProcessRecords } from './records.js';

/** What the supervisor knows about one instance in this api process. */
export interface Runtime {
  id: string;
  /** Whether the instance should run (false after suspend/delete/unknown-in-reconcile: exits are not restarted). */
  wanted: boolean;
  /** Pid (= process-group id) of the live process, own child or adopted; undefined while none runs. */
  pid: number | undefined;
  adopted: boolean;
  /** When the current process was started or adopted, ms since the epoch. */
  startedAt: number;
  /** Start of the current attempt to come up (first start or first crash of a streak), ms since the epoch. */
  streakStartedAt: number;
  /** Unexpected exits since the instance last stayed up for {@link STABLE_MS}. */
  crashes: number;
  /** Next restart delay, ms. */
  backoffMs: number;
  lastExit: string | undefined;
  /** Out-of-memory kills in the instance's cgroup when the current process was started or adopted. */
  oomKills: number | undefined;
  restartTimer: NodeJS.Timeout | undefined;
  pollTimer: NodeJS.Timeout | undefined;
}

export interface SupervisorOptions {
  /** Absolute path of the instance's entry point; run with `process.execPath`. */
  instanceMain: string;
  /** Address instances bind to (`HOST`). */
  host: string;
  /** The `MONGODB_URI` of instance `id` (its own database and credentials), set before it is started. */
  mongoUriOf(id: string): string | undefined;
  simnetUrl?: string | undefined;
  /** Extra environment of instances; the supervisor's own variables win. */
  env?: NodeJS.ProcessEnv | undefined;
  /** First restart delay, ms; doubled per crash up to `maxBackoffMs`. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  records: ProcessRecords;
  locks: KeyedLock;
  health: HealthCache;
  /** `http://<host>:<port>`. */
  url(port: number): string;
  /**
   * Nice value (0–19) instances run at, below the api's CPU priority so that a busy instance cannot starve the api every
   * tenant shares; set at start and adoption, never raised (`procfs.ts` {@link lowerGroupPriority}); 0: left as spawned.
   */
  nice: number;
  /** The instances' memory cgroups: each process is placed in its instance's at start and adoption (`cgroups.ts`). */
  cgroups: InstanceCgroups;
  log: Logger;
}

/** An instance that stayed up this long (ms) resets the restart backoff. */
const STABLE_MS = 60_000;
/** SIGTERM → SIGKILL grace on stop, ms. */
const STOP_GRACE_MS = 10_000;
/** How often adopted (non-child) processes are checked for liveness, ms. */
const ADOPTED_POLL_MS = 2_000;
/** How long adoption waits for /health of a surviving process before replacing it, ms. */
const ADOPT_HEALTH_WAIT_MS = 5_000;
/** Variables of the api's environment that instances inherit. */
const INHERITED_ENV = ['PATH', 'HOME', 'TMPDIR', 'TZ', 'LANG', 'LC_ALL'] as const;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Supervisor {
  private readonly runtimes = new Map<string, Runtime>();
  private closed = false;

  constructor(private readonly o: SupervisorOptions) {}

  /** The runtime of `id`, if this supervisor has handled it. */
  get(id: string): Runtime | undefined {
    return this.runtimes.get(id);
  }

  /** Ids of every instance this supervisor has handled. */
  ids(): string[] {
    return [...this.runtimes.keys()];
  }

  /** Whether any live process runs instance `id` (read from /proc). */
  isRunning(id: string): boolean {
    return this.find(id).length > 0;
  }

  /** Forgets `id` after its deletion (call {@link stop} first). */
  forget(id: string): void {
    this.runtimes.delete(id);
    this.o.health.forget(id);
  }

  /** Starts (or adopts) the process of a non-suspended instance unless it already runs or a restart is pending. */
  async ensureRunning(rec: ProcessInstanceRecord): Promise<void> {
    let rt = this.runtimes.get(rec.id);
    if (rt?.wanted && (rt.pid !== undefined || rt.restartTimer !== undefined)) return;
    if (!rt) {
      rt = {
        id: rec.id,
        wanted: true,
        pid: undefined,
        adopted: false,
        startedAt: 0,
        streakStartedAt: Date.now(),
        crashes: 0,
        backoffMs: this.o.initialBackoffMs,
        lastExit: undefined,
        oomKills: undefined,
        restartTimer: undefined,
        pollTimer: undefined,
      };
      this.runtimes.set(rec.id, rt);
    }
    rt.wanted = true;
    rt.crashes = 0;
    rt.backoffMs = this.o.initialBackoffMs;
    rt.streakStartedAt = Date.now();
    if (await this.tryAdopt(rec, rt)) return;
    await this.spawnInstance(rec, rt);
  }

  /** Deliberately stops every process of the instance (no restart) and forgets its pid. */
  async stop(id: string): Promise<void> {
    const rt = this.runtimes.get(id);
    if (rt) {
      rt.wanted = false;
      clearTimeout(rt.restartTimer);
      clearInterval(rt.pollTimer);
      rt.restartTimer = undefined;
      rt.pollTimer = undefined;
    }
    const pids = new Set(this.find(id));
    if (rt?.pid !== undefined) pids.add(rt.pid);
    await Promise.all([...pids].map((p) => this.terminate(p, id)));
    if (rt) rt.pid = undefined;
    this.o.health.forget(id);
    await this.o.records.removePid(id);
    await this.o.cgroups.remove(id);
    if (pids.size > 0) this.o.log.info({ instance: id, pids: [...pids] }, 'instance process stopped');
  }

  /** Memory charged to each running instance's cgroup, bytes, by id (`cgroups.ts` `usage`; none without cgroups). */
  memoryUsage(): Map<string, number> {
    const usage = new Map<string, number>();
    for (const rt of this.runtimes.values()) {
      const bytes = rt.pid === undefined ? undefined : this.o.cgroups.usage(rt.id);
      if (bytes !== undefined) usage.set(rt.id, bytes);
    }
    return usage;
  }

  /** Removes the memory cgroups of instances whose processes are gone (see `cgroups.ts` `prune`). */
  pruneCgroups(): void {
    this.o.cgroups.prune();
  }

  /** Stops supervising (timers, exit handling); the processes keep running. */
  close(): void {
    this.closed = true;
    for (const rt of this.runtimes.values()) {
      clearTimeout(rt.restartTimer);
      clearInterval(rt.pollTimer);
      rt.restartTimer = undefined;
      rt.pollTimer = undefined;
    }
  }

  // ---- processes -------------------------------------------------------------------------------------------------

  /** The arguments that identify instance `id`'s processes: our entry point and its data dir. */
  private marker(id: string): string[] {
    return [this.o.instanceMain, `--data-dir=${this.o.records.dataDir(id)}`];
  }

  private find(id: string): number[] {
    return findProcesses(this.marker(id));
  }

  /** Whether `pid` is alive (not a zombie) and runs our instance main for instance `id`. */
  private isOurs(pid: number, id: string): boolean {
    return runsWith(pid, this.marker(id));
  }

  /**
   * Adopts a surviving process of this instance: the pid in the pid file, alive, with our command line, answering
   * /health (waiting up to {@link ADOPT_HEALTH_WAIT_MS}). Every other process of the instance is stopped.
   */
  private async tryAdopt(rec: ProcessInstanceRecord, rt: Runtime): Promise<boolean> {
    const found = this.find(rec.id);
    if (found.length === 0) return false;
    const recorded = await this.o.records.readPid(rec.id);
    let adopted: number | undefined;
    if (recorded !== undefined && found.includes(recorded)) {
      const deadline = Date.now() + ADOPT_HEALTH_WAIT_MS;
      for (;;) {
        if (!this.isOurs(recorded, rec.id)) break;
        if (await probeHealth(this.o.url(rec.publicPort))) {
          adopted = recorded;
          break;
        }
        if (Date.now() > deadline) break;
        await sleep(250);
      }
    }
    const others = found.filter((p) => p !== adopted);
    if (others.length > 0) {
      this.o.log.warn({ instance: rec.id, pids: others }, 'stopping leftover instance processes');
      await Promise.all(others.map((p) => this.terminate(p, rec.id)));
    }
    if (adopted === undefined) return false;
    rt.pid = adopted;
    rt.adopted = true;
    this.confine(rt, adopted, groupPids(adopted));
    rt.startedAt = Date.now();
    this.o.health.mark(rec.id, String(adopted));
    this.watchAdopted(rt, adopted);
    this.o.log.info({ instance: rec.id, pid: adopted }, 'adopted running instance process');
    return true;
  }

  /**
   * Puts the processes `pids` of instance `rt`'s process group `pgid` in its memory cgroup and lowers their CPU
   * priority to the configured nice (both best effort: a refusal is logged); notes the cgroup's out-of-memory kills so
   * far, to tell an exit at the memory limit.
   */
  private confine(rt: Runtime, pgid: number, pids: number[]): void {
    this.o.cgroups.place(rt.id, pids);
    rt.oomKills = this.o.cgroups.oomKills(rt.id);
    if (this.o.nice <= 0) return;
    const change = lowerGroupPriority(pgid, this.o.nice, pids);
    if (change.error)
      this.o.log.warn(
        { instance: rt.id, pid: pgid, nice: this.o.nice, err: change.error },
        'could not lower the instance process priority',
      );
  }

  /** Polls an adopted process' liveness; its death is handled like an unexpected exit of a child. */
  private watchAdopted(rt: Runtime, pid: number): void {
    clearInterval(rt.pollTimer);
    rt.pollTimer = setInterval(() => {
      if (this.closed || rt.pid !== pid) return;
      if (!this.isOurs(pid, rt.id)) this.onExit(rt, pid, 'adopted process disappeared');
    }, ADOPTED_POLL_MS);
    rt.pollTimer.unref();
  }

  /** The environment of instance `rec`: a few inherited variables, the configured extras, then the provider's own. */
  private environment(rec: ProcessInstanceRecord): NodeJS.ProcessEnv {
    const base: NodeJS.ProcessEnv = {};
    for (const k of INHERITED_ENV) if (process.env[k] !== undefined) base[k] = process.env[k];
    const env: NodeJS.ProcessEnv = {
      ...base,
      ...this.o.env,
      PORT: String(rec.publicPort),
      INTERNAL_PORT: String(rec.internalPort),
      HOST: this.o.host,
      MONGODB_URI: this.mongoUri(rec.id),
      INTERNAL_API_KEY_FILE: this.o.records.keyFile(rec.id),
      ENGINE: rec.engine,
      DATA_DIR: this.o.records.dataDir(rec.id),
      INSTANCE_ID: rec.id,
    };
    delete env.INTERNAL_API_KEY;
    if (this.o.simnetUrl) env.SIMNET_URL = this.o.simnetUrl;
    return env;
  }

  /** @throws Error when the provider has not ensured the instance's database URI (a bug: converge sets it first). */
  private mongoUri(id: string): string {
    const uri = this.o.mongoUriOf(id);
    if (!uri) throw new Error(`instance ${id} has no database URI yet`);
    return uri;
  }

  /** Spawns the instance process detached, output appended to instance.log, pid recorded. */
  private async spawnInstance(rec: ProcessInstanceRecord, rt: Runtime): Promise<void> {
    const records = this.o.records;
    await records.ensureDirs(rec.id);
    await records.appendLog(rec.id, `--- wacloud process provider: starting instance ${rec.id} at ${new Date().toISOString()}`);
    const fd = openSync(records.logFile(rec.id), 'a', 0o600);
    let pid: number | undefined;
    try {
      // The instance's V8 flags as its image runs it (NODE_OPTIONS and CMD of instance/Dockerfile; instance/README.md, "Memory").
      const nodeFlags = ['--max-semi-space-size=2', '--optimize-for-size', '--no-opt', '--no-maglev'];
      const args = [...nodeFlags, this.o.instanceMain, `--instance-id=${rec.id}`, `--data-dir=${records.dataDir(rec.id)}`];
      const child = spawn(process.execPath, args, {
        cwd: records.dir(rec.id),
        env: this.environment(rec),
        detached: true,
        stdio: ['ignore', fd, fd],
      });
      child.on('error', (err) => this.o.log.error({ instance: rec.id, err }, 'instance process error'));
      pid = child.pid;
      if (pid !== undefined) {
        const p = pid;
        child.once('exit', (code, signal) => this.onExit(rt, p, signal ? `signal ${signal}` : `exit code ${code}`, signal === 'SIGKILL'));
      }
      child.unref();
    } finally {
      closeSync(fd);
    }
    rt.startedAt = Date.now();
    rt.adopted = false;
    clearInterval(rt.pollTimer);
    rt.pollTimer = undefined;
    if (pid === undefined) {
      rt.pid = undefined;
      this.onExit(rt, undefined, 'spawn failed', false);
      return;
    }
    rt.pid = pid;
    this.confine(rt, pid, [pid]); // just spawned: no children yet
    await records.writePid(rec.id, pid);
    this.o.log.info({ instance: rec.id, pid, publicPort: rec.publicPort }, 'instance process started');
  }

  /**
   * An instance process ended (`pid` undefined: it never started). Restarts it with backoff unless deliberate.
   * `killed`: whether SIGKILL ended it (undefined: not known, an adopted process) — only such an exit is put down to
   * the memory limit when its cgroup counted an out-of-memory kill since the start (the kernel kills with SIGKILL; on
   * cgroup v1 it may have killed a browser of the instance instead, which the engine started again).
   */
  private onExit(rt: Runtime, pid: number | undefined, why: string, killed?: boolean): void {
    if (pid !== undefined) {
      if (rt.pid !== pid) return; // a process we already replaced or stopped
      killGroup(pid, 'SIGKILL'); // leftovers of the group (e.g. browsers)
    }
    rt.pid = undefined;
    const oomKills = this.o.cgroups.oomKills(rt.id);
    if (killed !== false && oomKills !== undefined && oomKills > (rt.oomKills ?? 0))
      why += ': its memory limit was reached (an out-of-memory kill in its cgroup)';
    rt.oomKills = oomKills;
    rt.lastExit = why;
    clearInterval(rt.pollTimer);
    rt.pollTimer = undefined;
    if (this.closed || !rt.wanted) return;
    const now = Date.now();
    if (rt.startedAt > 0 && now - rt.startedAt >= STABLE_MS) {
      rt.crashes = 0;
      rt.backoffMs = this.o.initialBackoffMs;
    }
    if (rt.crashes === 0) rt.streakStartedAt = now;
    rt.crashes += 1;
    const delay = rt.backoffMs;
    rt.backoffMs = Math.min(rt.backoffMs * 2, this.o.maxBackoffMs);
    this.o.log.warn(
      { instance: rt.id, pid, why, restartInMs: delay, crashes: rt.crashes },
      'instance process exited unexpectedly; restarting',
    );
    clearTimeout(rt.restartTimer);
    rt.restartTimer = setTimeout(() => {
      rt.restartTimer = undefined;
      this.o.locks
        .run(rt.id, () => this.restart(rt))
        .catch((err: unknown) => {
          this.o.log.error({ instance: rt.id, err }, 'instance restart failed');
          if (!this.closed && rt.wanted && rt.pid === undefined && rt.restartTimer === undefined)
            this.onExit(rt, undefined, 'restart failed', false);
        });
    }, delay);
    rt.restartTimer.unref();
  }

  private async restart(rt: Runtime): Promise<void> {
    if (this.closed || !rt.wanted || rt.pid !== undefined) return;
    const rec = await this.o.records.read(rt.id);
    if (!rec || rec.suspended) {
      rt.wanted = false;
      return;
    }
    await Promise.all(this.find(rt.id).map((p) => this.terminate(p, rt.id)));
    await this.spawnInstance(rec, rt);
  }

  /** SIGTERM to the process group of `pid`, SIGKILL after {@link STOP_GRACE_MS}; resolves once it is gone. */
  private async terminate(pid: number, id: string): Promise<void> {
    if (!this.isOurs(pid, id)) return;
    killGroup(pid, 'SIGTERM');
    const deadline = Date.now() + STOP_GRACE_MS;
    while (this.isOurs(pid, id) && Date.now() < deadline) await sleep(50);
    if (this.isOurs(pid, id)) {
      this.o.log.warn({ instance: id, pid }, 'instance did not stop in time; SIGKILL');
      killGroup(pid, 'SIGKILL');
      while (this.isOurs(pid, id)) await sleep(50);
    }
    killGroup(pid, 'SIGKILL');
  }
}
