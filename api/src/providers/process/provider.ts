/**
 * `ProcessProvider` — the embedded default {@link InstanceProvider}: every instance is a Node.js process on this
 * machine (`process.execPath <instanceMain> --instance-id=<id> --data-dir=<dir>`), supervised by the api.
 *
 * - `records.ts` — the on-disk state under `<dataRoot>/<id>/` (the provider keeps nothing else);
 * - `supervisor.ts` — start, adoption, restart with backoff, stop;
 * - `procfs.ts` — process identity and liveness from `/proc` (Linux only);
 * - `cgroups.ts` — each instance's memory limit (a memory cgroup of its own, where the cgroup file system allows).
 *
 * Processes are spawned detached (their own session and process group) with their output going to a file, so they
 * survive the api's exit, even a `kill -9`. A restarted api calls {@link ProcessProvider.reconcile}, which adopts the
 * processes that are still alive and healthy (identified by pid file + `/proc/<pid>/cmdline`) instead of starting
 * duplicates, and supervises adopted processes by polling their liveness.
 */
import path from 'node:path';
import type { DatabaseUsers } from '@wacloud/kit/mongo-users';
import type { Logger } from 'pino';
import { ProviderError, type InstanceEndpoints, type InstanceProvider, type ProviderStatus, type ProvisionRequest } from '../provider.js';
import { dropInstanceDatabase, dropInstanceDatabaseUser, ensureInstanceDatabaseUser, mongoUriWithDatabase } from '../shared/database.js';
import { HealthCache, probeHealth } from '../shared/health.js';
import { assertInstanceId } from '../shared/instance-id.js';
import { KeyedLock } from '../shared/keyed-lock.js';
import { RECONCILE_CONCURRENCY, runReconcileTasks, strayIds } from '../shared/reconcile-set.js';
import { InstanceCgroups } from './cgroups.js';
import { ProcessRecords } from './records.js';
import { Supervisor } from './supervisor.js';

export type { ProcessInstanceRecord } from './records.js';

export interface ProcessProviderOptions {
  /** Path of the instance's entry point (`instance/dist/main.js`); run with `process.execPath`. */
  instanceMain: string;
  /** Directory holding one directory per instance (`<dataRoot>/<id>`); created when missing. */
  dataRoot: string;
  /**
   * MongoDB server URI without a database, with the admin's credentials when {@link databaseUsers} is set; each
   * instance gets database `wacloud_inst_<id>` on it.
   */
  mongoUri: string;
  /**
   * Gives each instance its own database user (`readWrite` on its database only; random password in
   * `<dataRoot>/<id>/db-password`, mode 0600), created before its process starts and dropped on delete. Without it,
   * instances get {@link mongoUri} itself naming their database. Closed by {@link ProcessProvider.close}.
   */
  databaseUsers?: DatabaseUsers | undefined;
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
  /**
   * Nice value (0–19) of instance processes and their browsers, and of their autogroup where the kernel has them:
   * below the api's CPU priority, so that busy instances cannot starve the api (and the gateway) every tenant shares.
   * Default {@link DEFAULT_INSTANCE_NICE}; 0: as spawned. docs/architecture.md, "CPU priority of instances".
   */
  nice?: number | undefined;
  /**
   * Memory limit of each instance (its process and browsers), bytes, through a memory cgroup of its own where the
   * cgroup file system is writable (`cgroups.ts`); 0: none. Default {@link DEFAULT_INSTANCE_MEMORY_BYTES}.
   * docs/architecture.md, "Memory limits of instances".
   */
  memoryBytes?: number | undefined;
  /** Directory under which the instances' memory cgroups are made; default `wacloud-instances` under the api's own. */
  cgroupParent?: string | undefined;
}

/** Nice value of instance processes unless configured (`PROCESS_INSTANCE_NICE`): CPU weight 110 against the api's 1024. */
export const DEFAULT_INSTANCE_NICE = 10;
/** Memory limit of an instance unless configured (`PROCESS_MEMORY_LIMIT`), bytes: the docker provider's default too. */
export const DEFAULT_INSTANCE_MEMORY_BYTES = 2 * 1024 ** 3;

/** Status shows `Provisioning` (not `Failed`) for this long (ms) after a start or the first crash of a streak. */
const PROVISIONING_GRACE_MS = 30_000;

export class ProcessProvider implements InstanceProvider {
  readonly kind = 'process' as const;
  private readonly host: string;
  private readonly urlHost: string;
  private readonly log: Logger;
  private readonly records: ProcessRecords;
  private readonly supervisor: Supervisor;
  private readonly locks = new KeyedLock();
  private readonly health = new HealthCache();
  /** The `MONGODB_URI` of each instance this provider has ensured (carries the instance's password; never logged). */
  private readonly mongoUris = new Map<string, string>();
  private closed = false;

  /**
   * @throws ProviderError `unavailable` when `mongoUri` is not a MongoDB URI, `nice` not an integer 0–19 or
   *   `memoryBytes` not a whole number ≥ 0.
   */
  constructor(private readonly opts: ProcessProviderOptions) {
    try {
      mongoUriWithDatabase(opts.mongoUri, 'probe');
    } catch (err) {
      throw new ProviderError('unavailable', `instances' MongoDB URI: ${(err as Error).message}`);
    }
    const nice = opts.nice ?? DEFAULT_INSTANCE_NICE;
    if (!Number.isInteger(nice) || nice < 0 || nice > 19) {
      throw new ProviderError('unavailable', `instances' nice value must be an integer from 0 to 19, not ${nice}`);
    }
    const memoryBytes = opts.memoryBytes ?? DEFAULT_INSTANCE_MEMORY_BYTES;
    if (!Number.isSafeInteger(memoryBytes) || memoryBytes < 0) {
      throw new ProviderError('unavailable', `instances' memory limit must be a whole number of bytes (0: none), not ${memoryBytes}`);
    }
    this.host = opts.host ?? '127.0.0.1';
    const h = this.host === '0.0.0.0' ? '127.0.0.1' : this.host === '::' ? '::1' : this.host;
    this.urlHost = h.includes(':') ? `[${h}]` : h;
    this.log = opts.logger.child({ provider: 'process' });
    this.records = new ProcessRecords(path.resolve(opts.dataRoot));
    const initialBackoffMs = opts.restartBackoff?.initialMs ?? 500;
    this.supervisor = new Supervisor({
      instanceMain: path.resolve(opts.instanceMain),
      host: this.host,
      mongoUriOf: (id) => this.mongoUris.get(id),
      simnetUrl: opts.simnetUrl,
      env: opts.env,
      initialBackoffMs,
      maxBackoffMs: Math.max(initialBackoffMs, opts.restartBackoff?.maxMs ?? 30_000),
      records: this.records,
      locks: this.locks,
      health: this.health,
      url: (port) => this.url(port),
      nice,
      cgroups: new InstanceCgroups({ memoryBytes, parent: opts.cgroupParent, log: this.log }),
      log: this.log,
    });
  }

  /**
   * Creates the instance, or brings an existing one to `req` (owner, name, engine, suspended); ports and key of an
   * existing instance are kept. Unless suspended, its process is started (or adopted when one already runs).
   * @throws ProviderError `invalid_id`; `unavailable` for a simulated instance without `simnetUrl`, after close(), or
   *   when the files cannot be written.
   */
  async create(req: ProvisionRequest): Promise<void> {
    assertInstanceId(req.id);
    this.assertOpen();
    if (req.engine === 'simulated' && !this.opts.simnetUrl && !this.opts.env?.SIMNET_URL) {
      throw new ProviderError('unavailable', 'the simulated engine needs simnetUrl');
    }
    await this.withLock(req.id, () => this.converge(req));
  }

  /**
   * Stops the process (SIGTERM to its group, SIGKILL after 10 s) and records `suspended`; data and session stay.
   * @throws ProviderError `invalid_id`, `not_found` for an unknown id, `unavailable`.
   */
  async suspend(id: string): Promise<void> {
    assertInstanceId(id);
    await this.withLock(id, async () => {
      const rec = await this.records.require(id);
      if (!rec.suspended) await this.records.write({ ...rec, suspended: true });
      await this.supervisor.stop(id);
      this.log.info({ instance: id }, 'instance suspended');
    });
  }

  /**
   * Starts a suspended instance again with the same ports, key and data dir (the stored session resumes).
   * @throws ProviderError `invalid_id`, `not_found` for an unknown id, `unavailable` (also after close()).
   */
  async resume(id: string): Promise<void> {
    assertInstanceId(id);
    this.assertOpen();
    await this.withLock(id, async () => {
      const rec = await this.records.require(id);
      await this.converge({ id, owner: rec.owner, name: rec.name, engine: rec.engine, suspended: false });
    });
  }

  /**
   * Restarts the process of a running instance (SIGTERM to its group, SIGKILL after 10 s, then a new process with the
   * same ports, key and data dir: the stored session resumes); a suspended instance is left stopped. The new process
   * is spawned before this resolves.
   * @throws ProviderError `invalid_id`, `not_found` for an unknown id, `unavailable` (also after close()).
   */
  async restart(id: string): Promise<void> {
    assertInstanceId(id);
    this.assertOpen();
    await this.withLock(id, async () => {
      const rec = await this.records.require(id);
      if (rec.suspended) return;
      await this.supervisor.stop(id);
      await this.converge({ id, owner: rec.owner, name: rec.name, engine: rec.engine, suspended: false });
      this.log.info({ instance: id }, 'instance restarted');
    });
  }

  /**
   * Stops the instance, drops its database and its database user (best effort, failures logged) and removes
   * `<dataRoot>/<id>`. A missing
   * instance is fine.
   * @throws ProviderError `invalid_id`, `unavailable` when the files cannot be removed.
   */
  async delete(id: string): Promise<void> {
    assertInstanceId(id);
    await this.withLock(id, async () => {
      await this.supervisor.stop(id);
      this.supervisor.forget(id);
      this.records.forgetKey(id);
      if (!(await this.records.exists(id))) return;
      this.mongoUris.delete(id);
      if (this.opts.dropDatabaseOnDelete ?? true) await dropInstanceDatabase(this.opts.mongoUri, id, this.log);
      await dropInstanceDatabaseUser(this.opts.databaseUsers, id, this.log);
      await this.records.remove(id);
      this.log.info({ instance: id }, 'instance deleted');
    });
  }

  /**
   * `NotFound` without a directory; `Suspended`; `Running` (with the session state) when /health answers;
   * otherwise `Provisioning` during the first 30 s of a start or restart streak, `Failed` after (with the last lines
   * of instance.log), or `Pending` when this provider has not been asked to run it.
   * @throws ProviderError `invalid_id`; `unavailable` when provider.json is unreadable.
   */
  async status(id: string): Promise<ProviderStatus> {
    assertInstanceId(id);
    const rec = await this.records.read(id);
    if (!rec) return { phase: 'NotFound' };
    if (rec.suspended) return { phase: 'Suspended' };
    const rt = this.supervisor.get(id);
    const health = await probeHealth(this.url(rec.publicPort));
    if (health) {
      if (rt) this.health.mark(id, String(rt.pid));
      return { phase: 'Running', sessionState: health.sessionState };
    }
    if (!rt || !rt.wanted) return { phase: 'Pending', message: 'not running (not started by this provider)' };
    const now = Date.now();
    if (now - rt.streakStartedAt < PROVISIONING_GRACE_MS) {
      return {
        phase: 'Provisioning',
        message: rt.crashes > 0 ? `restarting after ${rt.lastExit ?? 'an exit'} (${rt.crashes}×)` : 'starting',
      };
    }
    const why =
      rt.pid !== undefined
        ? `not answering /health for ${Math.round((now - rt.startedAt) / 1000)} s`
        : `exited (${rt.lastExit ?? 'unknown'}), ${rt.crashes} restarts`;
    const tail = await this.records.logTail(id);
    return { phase: 'Failed', message: tail ? `${why}; last log lines:\n${tail}` : why };
  }

  /**
   * Public/internal URLs and the internal key, read from the instance's files.
   * @throws ProviderError `invalid_id`; `not_found` for an unknown id; `not_ready` when suspended, not running or not
   *   answering /health yet.
   */
  async endpoints(id: string): Promise<InstanceEndpoints> {
    assertInstanceId(id);
    const rec = await this.records.read(id);
    if (!rec) throw new ProviderError('not_found', `no instance ${id}`);
    if (rec.suspended) throw new ProviderError('not_ready', `instance ${id} is suspended`);
    const rt = this.supervisor.get(id);
    if (rt?.wanted && rt.pid === undefined) throw new ProviderError('not_ready', `instance ${id} is restarting`);
    const publicUrl = this.url(rec.publicPort);
    if (!rt || !this.health.isFresh(id, String(rt.pid))) {
      if (!(await probeHealth(publicUrl))) throw new ProviderError('not_ready', `instance ${id} does not answer yet`);
      if (rt) this.health.mark(id, String(rt.pid));
    }
    return { publicUrl, internalUrl: this.url(rec.internalPort), internalKey: await this.records.readKey(id) };
  }

  /**
   * Called once at api start. Each desired instance is created when missing and brought to its request: a surviving
   * healthy process is adopted (no duplicate is started), a dead or unhealthy one replaced, a suspended one stopped.
   * Instances in dataRoot that are not desired are stopped (their data is kept; a warning is logged). Empty instance
   * memory cgroups (instances stopped while no api watched) are removed.
   * @throws ProviderError `invalid_id` (before anything is done) when a desired id is invalid, `unavailable` after
   *   close(); otherwise the first per-instance failure, after all instances were handled.
   */
  async reconcile(desired: ProvisionRequest[]): Promise<void> {
    for (const r of desired) assertInstanceId(r.id);
    this.assertOpen();
    const strays = strayIds(
      desired.map((d) => d.id),
      [...(await this.records.listIds()), ...this.supervisor.ids()],
    );
    const ensured = await runReconcileTasks(
      desired.map((req) => ({ what: 'ensure', id: req.id, run: () => this.create(req) })),
      { concurrency: RECONCILE_CONCURRENCY, log: this.log },
    );
    const stopped = await runReconcileTasks(
      strays.map((id) => ({
        what: 'stop',
        id,
        run: () =>
          this.withLock(id, async () => {
            const running = this.supervisor.isRunning(id);
            await this.supervisor.stop(id);
            if (running) this.log.warn({ instance: id }, 'stopped an instance the api does not know (its data is kept)');
          }),
      })),
      { concurrency: RECONCILE_CONCURRENCY, log: this.log },
    );
    this.supervisor.pruneCgroups(); // those of instances stopped while no api watched
    this.log.info(
      { desired: desired.length, strays: strays.length, failed: ensured.failed + stopped.failed },
      'reconciled instance processes',
    );
    ensured.throwFirst();
    stopped.throwFirst();
  }

  /**
   * Memory each running instance uses now, bytes, by id: what its memory cgroup is charged (its processes, browsers
   * included, and their page cache — what `PROCESS_MEMORY_LIMIT` is measured against). Empty where instances run
   * without cgroups (`cgroups.ts`).
   */
  memoryUsage(): ReadonlyMap<string, number> {
    return this.supervisor.memoryUsage();
  }

  /** Stops supervising (timers, exit handling) and closes `databaseUsers`; the instance processes keep running. */
  async close(): Promise<void> {
    this.closed = true;
    this.supervisor.close();
    await this.locks.idle();
    await this.opts.databaseUsers?.close();
  }

  // ---- convergence -------------------------------------------------------------------------------------------

  /** Writes files for `req` and makes the runtime match it (caller holds the lock). */
  private async converge(req: ProvisionRequest): Promise<void> {
    let rec = await this.records.read(req.id);
    let engineChanged = false;
    if (!rec) {
      const [publicPort, internalPort] = await this.records.allocatePorts(this.host);
      rec = {
        id: req.id,
        owner: req.owner,
        name: req.name,
        engine: req.engine,
        suspended: req.suspended,
        publicPort,
        internalPort,
        createdAt: new Date().toISOString(),
      };
      await this.records.ensureDirs(req.id);
      await this.records.write(rec);
      this.log.info({ instance: req.id, publicPort, internalPort, engine: req.engine }, 'instance created');
    } else if (rec.owner !== req.owner || rec.name !== req.name || rec.engine !== req.engine || rec.suspended !== req.suspended) {
      engineChanged = rec.engine !== req.engine;
      rec = { ...rec, owner: req.owner, name: req.name, engine: req.engine, suspended: req.suspended };
      await this.records.write(rec);
    }
    await this.records.ensureDirs(req.id);
    await this.records.ensureKey(req.id);
    const users = this.opts.databaseUsers;
    const uri = await ensureInstanceDatabaseUser(users, this.opts.mongoUri, req.id, () => this.records.ensureDbPassword(req.id));
    this.mongoUris.set(req.id, uri);
    if (rec.suspended) {
      await this.supervisor.stop(req.id);
      return;
    }
    if (engineChanged) await this.supervisor.stop(req.id);
    this.assertOpen();
    await this.supervisor.ensureRunning(rec);
  }

  private url(port: number): string {
    return `http://${this.urlHost}:${port}`;
  }

  /**
   * Serializes operations on one instance (see {@link KeyedLock}); a file-system failure becomes
   * ProviderError `unavailable`.
   */
  private async withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.locks.run(id, fn);
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      throw new ProviderError('unavailable', `instance ${id}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** @throws ProviderError `unavailable` after close(). */
  private assertOpen(): void {
    if (this.closed) throw new ProviderError('unavailable', 'the process provider is closed');
  }
}
