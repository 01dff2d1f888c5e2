/**
 * `ProcessProvider` — the embedded default {@link InstanceProvider}: every instance is a Node.js process on this
 * machine (`process.execPath <instanceMain> --instance-id=<id> --data-dir=<dir>`), supervised by the api.
 *
 * Layout of `<dataRoot>/<id>/` (the only state; the provider keeps nothing else on disk):
 * - `provider.json` — {@link ProcessInstanceRecord}: owner, name, engine, suspended, ports, createdAt (no secrets);
 * - `internal-key` — the instance's internal API key (mode 0600; read by the instance via `INTERNAL_API_KEY_FILE`;
 *   never logged);
 * - `pid` — pid of the running instance process (also its process-group id);
 * - `instance.log` — the process' stdout and stderr (appended; the provider adds a line per start);
 * - `data/` — the instance's `DATA_DIR` (the stored WhatsApp session).
 *
 * Processes are spawned detached (their own session and process group) with their output going to a file, so they
 * survive the api's exit, even a `kill -9`. A restarted api calls {@link ProcessProvider.reconcile}, which adopts the
 * processes that are still alive and healthy (identified by pid file + `/proc/<pid>/cmdline`) instead of starting
 * duplicates, and supervises adopted processes by polling their liveness.
 *
 * Linux only: process identity and liveness are read from `/proc`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { appendFile, mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import mongoose from 'mongoose';
import type { Logger } from 'pino';
import {
  ProviderError,
  type Engine,
  type InstanceEndpoints,
  type InstanceProvider,
  type ProviderStatus,
  type ProvisionRequest,
} from './provider.js';
import { KeyedLock } from './keyed-lock.js';

export interface ProcessProviderOptions {
  /** Path of the instance's entry point (`instance/dist/main.js`); run with `process.execPath`. */
  instanceMain: string;
  /** Directory holding one directory per instance (`<dataRoot>/<id>`); created when missing. */
  dataRoot: string;
  /** MongoDB server URI without a database; each instance gets database `wacloud_inst_<id>` on it. */
  mongoUri: string;
  /** Simulated network's base URL, passed as `SIMNET_URL` (required for instances with engine `simulated`). */
  simnetUrl?: string | undefined;
  /** Address instances bind to (`HOST`). Default `127.0.0.1`. */
  host?: string | undefined;
  logger: Logger;
  /** Restart delays after unexpected exits: `initialMs` (default 500 ms) doubling up to `maxMs` (default 30 000 ms). */
  restartBackoff?: { initialMs?: number | undefined; maxMs?: number | undefined } | undefined;
  /**
   * Extra environment for instances (e.g. `LOG_LEVEL`, `CHROMIUM_PATH`). Instances do not inherit the api's
   * environment beyond `PATH`, `HOME`, `TMPDIR`, `TZ`, `LANG`, `LC_ALL`; the provider's own variables win.
   */
  env?: NodeJS.ProcessEnv | undefined;
  /** Drop the instance's MongoDB database on {@link ProcessProvider.delete} (best effort). Default true. */
  dropDatabaseOnDelete?: boolean | undefined;
}

/** Contents of `<dataRoot>/<id>/provider.json`. */
export interface ProcessInstanceRecord {
  id: string;
  owner: string;
  name: string;
  engine: Engine;
  suspended: boolean;
  /** Public API port on `host`. */
  publicPort: number;
  /** Internal API port on `host`. */
  internalPort: number;
  /** ISO 8601 creation time. */
  createdAt: string;
}

/** What the provider knows about one supervised instance in this api process. */
interface Runtime {
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
  /** Last time /health answered, ms since the epoch (0: never). */
  lastHealthyAt: number;
  restartTimer: NodeJS.Timeout | undefined;
  pollTimer: NodeJS.Timeout | undefined;
}

/** An instance that stayed up this long (ms) resets the restart backoff. */
const STABLE_MS = 60_000;
/** Status shows `Provisioning` (not `Failed`) for this long (ms) after a start or the first crash of a streak. */
const PROVISIONING_GRACE_MS = 30_000;
/** SIGTERM → SIGKILL grace on stop, ms. */
const STOP_GRACE_MS = 10_000;
/** /health request timeout, ms. */
const HEALTH_TIMEOUT_MS = 2_000;
/** How often adopted (non-child) processes are checked for liveness, ms. */
const ADOPTED_POLL_MS = 2_000;
/** How long reconcile waits for /health of a surviving process before replacing it, ms. */
const ADOPT_HEALTH_WAIT_MS = 5_000;
/** A /health success younger than this (ms) lets endpoints() skip its own check. */
const HEALTHY_CACHE_MS = 3_000;
/** Instances reconciled concurrently. */
const RECONCILE_CONCURRENCY = 8;
const ID_RE = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
const INHERITED_ENV = ['PATH', 'HOME', 'TMPDIR', 'TZ', 'LANG', 'LC_ALL'] as const;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** MongoDB database name of an instance: `wacloud_inst_<id>` with anything but `[A-Za-z0-9_]` turned into `_`. */
export function instanceDatabaseName(id: string): string {
  return `wacloud_inst_${id.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/**
 * `mongodb://h1,h2/old?x` + `db` → `mongodb://h1,h2/db?x` (string surgery: multi-host URIs are not WHATWG URLs).
 * @throws Error when `uri` is not a `mongodb://` or `mongodb+srv://` URI.
 */
export function mongoUriWithDatabase(uri: string, db: string): string {
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?#]+)(\/[^?#]*)?(\?[^#]*)?$/.exec(uri.trim());
  if (!m) throw new Error('mongoUri must be a mongodb:// or mongodb+srv:// URI');
  return `${m[1]}/${db}${m[3] ?? ''}`;
}

/** A free TCP port on `host` (the kernel picks one for port 0, then it is released). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Parsed `GET /health` of an instance. */
interface Health {
  sessionState: string | undefined;
  uptimeMs: number | undefined;
}

/** `GET <baseUrl>/health` without connection reuse; undefined on any failure or a non-200/non-ok answer. */
function getHealth(baseUrl: string, timeoutMs = HEALTH_TIMEOUT_MS): Promise<Health | undefined> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (h: Health | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(h);
    };
    const req = http.get(`${baseUrl}/health`, { agent: false, headers: { connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => finish(undefined));
      res.on('end', () => {
        if (res.statusCode !== 200) return finish(undefined);
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { status?: unknown; session?: { state?: unknown }; uptimeMs?: unknown };
          if (body.status !== 'ok') return finish(undefined);
          finish({
            sessionState: typeof body.session?.state === 'string' ? body.session.state : undefined,
            uptimeMs: typeof body.uptimeMs === 'number' ? body.uptimeMs : undefined,
          });
        } catch {
          finish(undefined);
        }
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish(undefined);
    }, timeoutMs);
    req.on('error', () => finish(undefined));
  });
}

/** The command line of `pid` split into arguments; undefined when it is gone or a zombie. */
function liveCmdline(pid: number): string[] | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return undefined;
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.split('\0').filter((a) => a.length > 0);
  } catch {
    return undefined;
  }
}

/** Sends `signal` to process group `pgid`; false when the group no longer exists. */
function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; rejects with the first error after all settle. */
async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const errors: unknown[] = [];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      try {
        await fn(item);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}

function isRecord(v: unknown): v is ProcessInstanceRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.id === 'string' &&
    typeof r.owner === 'string' &&
    typeof r.name === 'string' &&
    (r.engine === 'webjs' || r.engine === 'simulated') &&
    typeof r.suspended === 'boolean' &&
    Number.isInteger(r.publicPort) &&
    Number.isInteger(r.internalPort) &&
    typeof r.createdAt === 'string'
  );
}

export class ProcessProvider implements InstanceProvider {
  readonly kind = 'process' as const;
  private readonly instanceMain: string;
  private readonly dataRoot: string;
  private readonly host: string;
  private readonly urlHost: string;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly log: Logger;
  private readonly runtimes = new Map<string, Runtime>();
  private readonly locks = new KeyedLock();
  private readonly keys = new Map<string, string>();
  private closed = false;

  /** @throws Error when `mongoUri` is not a MongoDB URI. */
  constructor(private readonly opts: ProcessProviderOptions) {
    mongoUriWithDatabase(opts.mongoUri, 'probe');
    this.instanceMain = path.resolve(opts.instanceMain);
    this.dataRoot = path.resolve(opts.dataRoot);
    this.host = opts.host ?? '127.0.0.1';
    const h = this.host === '0.0.0.0' ? '127.0.0.1' : this.host === '::' ? '::1' : this.host;
    this.urlHost = h.includes(':') ? `[${h}]` : h;
    this.initialBackoffMs = opts.restartBackoff?.initialMs ?? 500;
    this.maxBackoffMs = Math.max(this.initialBackoffMs, opts.restartBackoff?.maxMs ?? 30_000);
    this.log = opts.logger.child({ provider: 'process' });
  }

  /**
   * Creates the instance, or brings an existing one to `req` (owner, name, engine, suspended); ports and key of an
   * existing instance are kept. Unless suspended, its process is started (or adopted when one already runs).
   * @throws Error for an invalid id; ProviderError `unavailable` for a simulated instance without `simnetUrl`, after
   *   close(), or when the files cannot be written.
   */
  async create(req: ProvisionRequest): Promise<void> {
    this.assertOpen();
    if (!ID_RE.test(req.id)) throw new Error(`invalid instance id ${JSON.stringify(req.id)}: expected a DNS label of at most 40 characters`);
    if (req.engine === 'simulated' && !this.opts.simnetUrl && !this.opts.env?.SIMNET_URL) {
      throw new ProviderError('unavailable', 'the simulated engine needs simnetUrl');
    }
    await this.withLock(req.id, () => this.converge(req));
  }

  /**
   * Stops the process (SIGTERM to its group, SIGKILL after 10 s) and records `suspended`; data and session stay.
   * @throws ProviderError `not_found` for an unknown id.
   */
  async suspend(id: string): Promise<void> {
    await this.withLock(id, async () => {
      const rec = await this.requireRecord(id);
      if (!rec.suspended) await this.writeRecord({ ...rec, suspended: true });
      await this.stopInstance(id);
      this.log.info({ instance: id }, 'instance suspended');
    });
  }

  /**
   * Starts a suspended instance again with the same ports, key and data dir (the stored session resumes).
   * @throws ProviderError `not_found` for an unknown id, `unavailable` after close().
   */
  async resume(id: string): Promise<void> {
    this.assertOpen();
    await this.withLock(id, async () => {
      const rec = await this.requireRecord(id);
      await this.converge({ id, owner: rec.owner, name: rec.name, engine: rec.engine, suspended: false });
    });
  }

  /** Stops the instance, drops its database (best effort, failures logged) and removes `<dataRoot>/<id>`. */
  async delete(id: string): Promise<void> {
    if (!ID_RE.test(id)) return;
    await this.withLock(id, async () => {
      await this.stopInstance(id);
      this.runtimes.delete(id);
      this.keys.delete(id);
      if (!(await this.exists(this.instDir(id)))) return;
      if (this.opts.dropDatabaseOnDelete ?? true) await this.dropDatabase(id);
      await rm(this.instDir(id), { recursive: true, force: true });
      this.log.info({ instance: id }, 'instance deleted');
    });
  }

  /**
   * `NotFound` without a directory; `Suspended`; `Running` (with the session state) when /health answers;
   * otherwise `Provisioning` during the first 30 s of a start or restart streak, `Failed` after (with the last lines
   * of instance.log), or `Pending` when this provider has not been asked to run it.
   * @throws ProviderError `unavailable` when provider.json is unreadable.
   */
  async status(id: string): Promise<ProviderStatus> {
    if (!ID_RE.test(id)) return { phase: 'NotFound' };
    const rec = await this.readRecord(id);
    if (!rec) return { phase: 'NotFound' };
    if (rec.suspended) return { phase: 'Suspended' };
    const rt = this.runtimes.get(id);
    const health = await getHealth(this.url(rec.publicPort));
    if (health) {
      if (rt) rt.lastHealthyAt = Date.now();
      return { phase: 'Running', sessionState: health.sessionState };
    }
    if (!rt || !rt.wanted) return { phase: 'Pending', message: 'not running (not started by this provider)' };
    const now = Date.now();
    if (now - rt.streakStartedAt < PROVISIONING_GRACE_MS) {
      return { phase: 'Provisioning', message: rt.crashes > 0 ? `restarting after ${rt.lastExit ?? 'an exit'} (${rt.crashes}×)` : 'starting' };
    }
    const why = rt.pid !== undefined ? `not answering /health for ${Math.round((now - rt.startedAt) / 1000)} s` : `exited (${rt.lastExit ?? 'unknown'}), ${rt.crashes} restarts`;
    const tail = await this.logTail(id);
    return { phase: 'Failed', message: tail ? `${why}; last log lines:\n${tail}` : why };
  }

  /**
   * Public/internal URLs and the internal key, read from the instance's files.
   * @throws ProviderError `not_found` for an unknown id; `not_ready` when suspended, not running or not answering
   *   /health yet.
   */
  async endpoints(id: string): Promise<InstanceEndpoints> {
    if (!ID_RE.test(id)) throw new ProviderError('not_found', `no instance ${id}`);
    const rec = await this.readRecord(id);
    if (!rec) throw new ProviderError('not_found', `no instance ${id}`);
    if (rec.suspended) throw new ProviderError('not_ready', `instance ${id} is suspended`);
    const rt = this.runtimes.get(id);
    if (rt?.wanted && rt.pid === undefined) throw new ProviderError('not_ready', `instance ${id} is restarting`);
    const publicUrl = this.url(rec.publicPort);
    if (!rt || Date.now() - rt.lastHealthyAt > HEALTHY_CACHE_MS) {
      if (!(await getHealth(publicUrl))) throw new ProviderError('not_ready', `instance ${id} does not answer yet`);
      if (rt) rt.lastHealthyAt = Date.now();
    }
    return { publicUrl, internalUrl: this.url(rec.internalPort), internalKey: await this.readKey(id) };
  }

  /**
   * Called once at api start. Each desired instance is created when missing and brought to its request: a surviving
   * healthy process is adopted (no duplicate is started), a dead or unhealthy one replaced, a suspended one stopped.
   * Instances in dataRoot that are not desired are stopped (their data is kept; a warning is logged).
   * @throws the first per-instance failure, after all instances were handled.
   */
  async reconcile(desired: ProvisionRequest[]): Promise<void> {
    this.assertOpen();
    const wanted = new Set(desired.map((d) => d.id));
    await mkdir(this.dataRoot, { recursive: true, mode: 0o700 });
    const strays = (await this.listIds()).filter((id) => !wanted.has(id));
    for (const id of this.runtimes.keys()) if (!wanted.has(id) && !strays.includes(id)) strays.push(id);
    await mapLimit(desired, RECONCILE_CONCURRENCY, (req) => this.create(req));
    await mapLimit(strays, RECONCILE_CONCURRENCY, (id) =>
      this.withLock(id, async () => {
        const running = this.findProcesses(id).length > 0;
        await this.stopInstance(id);
        if (running) this.log.warn({ instance: id }, 'stopped an instance the api does not know (its data is kept)');
      }),
    );
  }

  /** Stops supervising (timers, exit handling); the instance processes keep running. */
  async close(): Promise<void> {
    this.closed = true;
    for (const rt of this.runtimes.values()) {
      clearTimeout(rt.restartTimer);
      clearInterval(rt.pollTimer);
      rt.restartTimer = undefined;
      rt.pollTimer = undefined;
    }
    await this.locks.idle();
  }

  // ---- convergence -------------------------------------------------------------------------------------------

  /** Writes files for `req` and makes the runtime match it (caller holds the lock). */
  private async converge(req: ProvisionRequest): Promise<void> {
    await mkdir(this.dataRoot, { recursive: true, mode: 0o700 });
    let rec = await this.readRecord(req.id);
    let engineChanged = false;
    if (!rec) {
      const [publicPort, internalPort] = await this.allocatePorts();
      rec = { id: req.id, owner: req.owner, name: req.name, engine: req.engine, suspended: req.suspended, publicPort, internalPort, createdAt: new Date().toISOString() };
      await mkdir(path.join(this.instDir(req.id), 'data'), { recursive: true, mode: 0o700 });
      await this.writeRecord(rec);
      this.log.info({ instance: req.id, publicPort, internalPort, engine: req.engine }, 'instance created');
    } else if (rec.owner !== req.owner || rec.name !== req.name || rec.engine !== req.engine || rec.suspended !== req.suspended) {
      engineChanged = rec.engine !== req.engine;
      rec = { ...rec, owner: req.owner, name: req.name, engine: req.engine, suspended: req.suspended };
      await this.writeRecord(rec);
    }
    await mkdir(path.join(this.instDir(req.id), 'data'), { recursive: true, mode: 0o700 });
    await this.ensureKey(req.id);
    if (rec.suspended) {
      await this.stopInstance(req.id);
      return;
    }
    if (engineChanged) await this.stopInstance(req.id);
    await this.ensureRunning(rec);
  }

  /** Starts (or adopts) the process of a non-suspended instance unless it already runs or a restart is pending. */
  private async ensureRunning(rec: ProcessInstanceRecord): Promise<void> {
    this.assertOpen();
    let rt = this.runtimes.get(rec.id);
    if (rt?.wanted && (rt.pid !== undefined || rt.restartTimer !== undefined)) return;
    if (!rt) {
      rt = {
        id: rec.id, wanted: true, pid: undefined, adopted: false, startedAt: 0, streakStartedAt: Date.now(), crashes: 0,
        backoffMs: this.initialBackoffMs, lastExit: undefined, lastHealthyAt: 0, restartTimer: undefined, pollTimer: undefined,
      };
      this.runtimes.set(rec.id, rt);
    }
    rt.wanted = true;
    rt.crashes = 0;
    rt.backoffMs = this.initialBackoffMs;
    rt.streakStartedAt = Date.now();
    if (await this.tryAdopt(rec, rt)) return;
    await this.spawnInstance(rec, rt);
  }

  /**
   * Adopts a surviving process of this instance: the pid in the pid file, alive, with our command line, answering
   * /health (waiting up to {@link ADOPT_HEALTH_WAIT_MS}). Every other process of the instance is stopped.
   */
  private async tryAdopt(rec: ProcessInstanceRecord, rt: Runtime): Promise<boolean> {
    const found = this.findProcesses(rec.id);
    if (found.length === 0) return false;
    const recorded = await this.readPid(rec.id);
    let adopted: number | undefined;
    if (recorded !== undefined && found.includes(recorded)) {
      const deadline = Date.now() + ADOPT_HEALTH_WAIT_MS;
      for (;;) {
        if (!this.isOurs(recorded, rec.id)) break;
        if (await getHealth(this.url(rec.publicPort))) {
          adopted = recorded;
          break;
        }
        if (Date.now() > deadline) break;
        await sleep(250);
      }
    }
    const others = found.filter((p) => p !== adopted);
    if (others.length > 0) {
      this.log.warn({ instance: rec.id, pids: others }, 'stopping leftover instance processes');
      await Promise.all(others.map((p) => this.terminate(p, rec.id)));
    }
    if (adopted === undefined) return false;
    rt.pid = adopted;
    rt.adopted = true;
    rt.startedAt = Date.now();
    rt.lastHealthyAt = Date.now();
    this.watchAdopted(rt, adopted);
    this.log.info({ instance: rec.id, pid: adopted }, 'adopted running instance process');
    return true;
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

  /** Spawns the instance process detached, output appended to instance.log, pid recorded (caller holds the lock). */
  private async spawnInstance(rec: ProcessInstanceRecord, rt: Runtime): Promise<void> {
    const dir = this.instDir(rec.id);
    const dataDir = path.join(dir, 'data');
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const base: NodeJS.ProcessEnv = {};
    for (const k of INHERITED_ENV) if (process.env[k] !== undefined) base[k] = process.env[k];
    const env: NodeJS.ProcessEnv = {
      ...base,
      ...this.opts.env,
      PORT: String(rec.publicPort),
      INTERNAL_PORT: String(rec.internalPort),
      HOST: this.host,
      MONGODB_URI: mongoUriWithDatabase(this.opts.mongoUri, instanceDatabaseName(rec.id)),
      INTERNAL_API_KEY_FILE: path.join(dir, 'internal-key'),
      ENGINE: rec.engine,
      DATA_DIR: dataDir,
      INSTANCE_ID: rec.id,
    };
    delete env.INTERNAL_API_KEY;
    if (this.opts.simnetUrl) env.SIMNET_URL = this.opts.simnetUrl;
    const logPath = path.join(dir, 'instance.log');
    await appendFile(logPath, `--- wacloud process provider: starting instance ${rec.id} at ${new Date().toISOString()}\n`, { mode: 0o600 });
    const fd = openSync(logPath, 'a', 0o600);
    let pid: number | undefined;
    try {
      const child = spawn(process.execPath, [this.instanceMain, `--instance-id=${rec.id}`, `--data-dir=${dataDir}`], {
        cwd: dir,
        env,
        detached: true,
        stdio: ['ignore', fd, fd],
      });
      child.on('error', (err) => this.log.error({ instance: rec.id, err }, 'instance process error'));
      pid = child.pid;
      if (pid !== undefined) {
        const p = pid;
        child.once('exit', (code, signal) => this.onExit(rt, p, signal ? `signal ${signal}` : `exit code ${code}`));
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
      this.onExit(rt, undefined, 'spawn failed');
      return;
    }
    rt.pid = pid;
    await this.writeAtomic(path.join(dir, 'pid'), `${pid}\n`, 0o644);
    this.log.info({ instance: rec.id, pid, publicPort: rec.publicPort }, 'instance process started');
  }

  /** An instance process ended (`pid` undefined: it never started). Restarts it with backoff unless deliberate. */
  private onExit(rt: Runtime, pid: number | undefined, why: string): void {
    if (pid !== undefined) {
      if (rt.pid !== pid) return; // a process we already replaced or stopped
      killGroup(pid, 'SIGKILL'); // leftovers of the group (e.g. browsers)
    }
    rt.pid = undefined;
    rt.lastExit = why;
    clearInterval(rt.pollTimer);
    rt.pollTimer = undefined;
    if (this.closed || !rt.wanted) return;
    const now = Date.now();
    if (rt.startedAt > 0 && now - rt.startedAt >= STABLE_MS) {
      rt.crashes = 0;
      rt.backoffMs = this.initialBackoffMs;
    }
    if (rt.crashes === 0) rt.streakStartedAt = now;
    rt.crashes += 1;
    const delay = rt.backoffMs;
    rt.backoffMs = Math.min(rt.backoffMs * 2, this.maxBackoffMs);
    this.log.warn({ instance: rt.id, pid, why, restartInMs: delay, crashes: rt.crashes }, 'instance process exited unexpectedly; restarting');
    clearTimeout(rt.restartTimer);
    rt.restartTimer = setTimeout(() => {
      rt.restartTimer = undefined;
      this.withLock(rt.id, () => this.restart(rt)).catch((err: unknown) => {
        this.log.error({ instance: rt.id, err }, 'instance restart failed');
        if (!this.closed && rt.wanted && rt.pid === undefined && rt.restartTimer === undefined) this.onExit(rt, undefined, 'restart failed');
      });
    }, delay);
    rt.restartTimer.unref();
  }

  private async restart(rt: Runtime): Promise<void> {
    if (this.closed || !rt.wanted || rt.pid !== undefined) return;
    const rec = await this.readRecord(rt.id);
    if (!rec || rec.suspended) {
      rt.wanted = false;
      return;
    }
    const stray = this.findProcesses(rt.id);
    await Promise.all(stray.map((p) => this.terminate(p, rt.id)));
    await this.spawnInstance(rec, rt);
  }

  /** Deliberately stops every process of the instance (no restart) and forgets its pid (caller holds the lock). */
  private async stopInstance(id: string): Promise<void> {
    const rt = this.runtimes.get(id);
    if (rt) {
      rt.wanted = false;
      clearTimeout(rt.restartTimer);
      clearInterval(rt.pollTimer);
      rt.restartTimer = undefined;
      rt.pollTimer = undefined;
    }
    const pids = new Set(this.findProcesses(id));
    if (rt?.pid !== undefined) pids.add(rt.pid);
    await Promise.all([...pids].map((p) => this.terminate(p, id)));
    if (rt) rt.pid = undefined;
    await rm(path.join(this.instDir(id), 'pid'), { force: true });
    if (pids.size > 0) this.log.info({ instance: id, pids: [...pids] }, 'instance process stopped');
  }

  /** SIGTERM to the process group of `pid`, SIGKILL after {@link STOP_GRACE_MS}; resolves once it is gone. */
  private async terminate(pid: number, id: string): Promise<void> {
    if (!this.isOurs(pid, id)) return;
    killGroup(pid, 'SIGTERM');
    const deadline = Date.now() + STOP_GRACE_MS;
    while (this.isOurs(pid, id) && Date.now() < deadline) await sleep(50);
    if (this.isOurs(pid, id)) {
      this.log.warn({ instance: id, pid }, 'instance did not stop in time; SIGKILL');
      killGroup(pid, 'SIGKILL');
      while (this.isOurs(pid, id)) await sleep(50);
    }
    killGroup(pid, 'SIGKILL');
  }

  // ---- files and processes -----------------------------------------------------------------------------------

  private instDir(id: string): string {
    return path.join(this.dataRoot, id);
  }

  private url(port: number): string {
    return `http://${this.urlHost}:${port}`;
  }

  /** Whether `pid` is alive (not a zombie) and runs this provider's instance main for instance `id`. */
  private isOurs(pid: number, id: string): boolean {
    const args = liveCmdline(pid);
    return args !== undefined && args.includes(this.instanceMain) && args.includes(`--data-dir=${path.join(this.instDir(id), 'data')}`);
  }

  /** Pids of every live process running instance `id` of this dataRoot (read from /proc). */
  private findProcesses(id: string): number[] {
    const marker = `--data-dir=${path.join(this.instDir(id), 'data')}`;
    const out: number[] = [];
    let entries: string[];
    try {
      entries = readdirSync('/proc');
    } catch {
      return out;
    }
    for (const e of entries) {
      if (!/^\d+$/.test(e)) continue;
      const args = liveCmdline(Number(e));
      if (args?.includes(marker) && args.includes(this.instanceMain)) out.push(Number(e));
    }
    return out;
  }

  private async exists(p: string): Promise<boolean> {
    return stat(p).then(
      () => true,
      () => false,
    );
  }

  /** @throws ProviderError `unavailable` when provider.json exists but is not a valid record. */
  private async readRecord(id: string): Promise<ProcessInstanceRecord | undefined> {
    let text: string;
    try {
      text = await readFile(path.join(this.instDir(id), 'provider.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw new ProviderError('unavailable', `cannot read provider.json of ${id}: ${(err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!isRecord(parsed) || parsed.id !== id) throw new ProviderError('unavailable', `provider.json of ${id} is corrupt`);
    return parsed;
  }

  /** @throws ProviderError `not_found` when the instance does not exist. */
  private async requireRecord(id: string): Promise<ProcessInstanceRecord> {
    const rec = ID_RE.test(id) ? await this.readRecord(id) : undefined;
    if (!rec) throw new ProviderError('not_found', `no instance ${id}`);
    return rec;
  }

  private async writeRecord(rec: ProcessInstanceRecord): Promise<void> {
    const { id, owner, name, engine, suspended, publicPort, internalPort, createdAt } = rec;
    await mkdir(this.instDir(id), { recursive: true, mode: 0o700 });
    await this.writeAtomic(path.join(this.instDir(id), 'provider.json'), `${JSON.stringify({ id, owner, name, engine, suspended, publicPort, internalPort, createdAt }, null, 2)}\n`, 0o644);
  }

  /** Writes through a temporary file and rename, so readers never see a partial file. */
  private async writeAtomic(file: string, content: string, mode: number): Promise<void> {
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, content, { mode });
    await rename(tmp, file);
  }

  /** Creates `internal-key` (32 random bytes, base64url, mode 0600) unless it exists. */
  private async ensureKey(id: string): Promise<void> {
    const file = path.join(this.instDir(id), 'internal-key');
    try {
      await writeFile(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }

  /** @throws ProviderError `not_found` when the key file is missing. */
  private async readKey(id: string): Promise<string> {
    const cached = this.keys.get(id);
    if (cached) return cached;
    try {
      const key = (await readFile(path.join(this.instDir(id), 'internal-key'), 'utf8')).trim();
      this.keys.set(id, key);
      return key;
    } catch {
      throw new ProviderError('not_found', `instance ${id} has no internal key`);
    }
  }

  private async readPid(id: string): Promise<number | undefined> {
    try {
      const n = Number((await readFile(path.join(this.instDir(id), 'pid'), 'utf8')).trim());
      return Number.isInteger(n) && n > 1 ? n : undefined;
    } catch {
      return undefined;
    }
  }

  /** Ids of the instance directories in dataRoot (those with a provider.json). */
  private async listIds(): Promise<string[]> {
    let entries: string[];
    try {
      entries = await readdir(this.dataRoot);
    } catch {
      return [];
    }
    const ids: string[] = [];
    for (const e of entries) if (ID_RE.test(e) && (await this.exists(path.join(this.dataRoot, e, 'provider.json')))) ids.push(e);
    return ids;
  }

  /** Two distinct free ports, avoiding those recorded for other instances (which may be stopped right now). */
  private async allocatePorts(): Promise<[number, number]> {
    const used = new Set<number>();
    for (const id of await this.listIds()) {
      const rec = await this.readRecord(id).catch(() => undefined);
      if (rec) used.add(rec.publicPort).add(rec.internalPort);
    }
    const ports: number[] = [];
    for (let i = 0; ports.length < 2 && i < 50; i++) {
      const p = await freePort(this.host);
      if (!used.has(p)) {
        used.add(p);
        ports.push(p);
      }
    }
    if (ports.length < 2) throw new ProviderError('unavailable', 'no free ports');
    return [ports[0]!, ports[1]!];
  }

  /** Last lines of instance.log (at most ~1 000 characters). */
  private async logTail(id: string): Promise<string> {
    try {
      const fh = await open(path.join(this.instDir(id), 'instance.log'), 'r');
      try {
        const { size } = await fh.stat();
        const len = Math.min(size, 8192);
        const buf = Buffer.alloc(len);
        await fh.read(buf, 0, len, size - len);
        const lines = buf.toString('utf8').split('\n').filter((l) => l.trim().length > 0).slice(-5);
        const text = lines.join('\n');
        return text.length > 1000 ? text.slice(-1000) : text;
      } finally {
        await fh.close();
      }
    } catch {
      return '';
    }
  }

  /** Drops the instance's database (best effort, ~10 s bound; failures are logged). */
  private async dropDatabase(id: string): Promise<void> {
    const db = instanceDatabaseName(id);
    const conn = mongoose.createConnection(mongoUriWithDatabase(this.opts.mongoUri, db), { serverSelectionTimeoutMS: 5_000, socketTimeoutMS: 10_000 });
    try {
      await conn.asPromise();
      await conn.dropDatabase();
      this.log.info({ instance: id, database: db }, 'instance database dropped');
    } catch (err) {
      this.log.warn({ instance: id, database: db, err }, 'could not drop the instance database');
    } finally {
      await conn.close().catch(() => undefined);
    }
  }

  // ---- plumbing ----------------------------------------------------------------------------------------------

  /** Serializes operations on one instance (create/suspend/resume/delete/reconcile/restart, see {@link KeyedLock}). */
  private withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(id, fn);
  }

  /** @throws ProviderError `unavailable` after close(). */
  private assertOpen(): void {
    if (this.closed) throw new ProviderError('unavailable', 'the process provider is closed');
  }
}
