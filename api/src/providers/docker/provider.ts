/**
 * `DockerProvider`: every instance is one container on a Docker engine, driven through its API with dockerode — the
 * provider for plain Docker hosts (the engine's own socket, or a `docker:dind` daemon reached over TCP).
 *
 * Per instance `<id>` (all in the engine; the provider keeps nothing on disk and nothing that an api restart loses):
 * - container `<prefix><id>` from the instance image, on its own bridge network `<network>-<id>` (no instance can
 *   open another's ports; `networks.ts`), the seccomp profile that lets Chromium keep its sandbox (`seccomp.ts`),
 *   restart policy `unless-stopped`, a memory limit, a large `/dev/shm` for Chromium, no capabilities,
 *   `no-new-privileges`; labels `app.kubernetes.io/managed-by=wacloud-api`, `wacloud.io/instance=<id>`,
 *   `wacloud.io/owner=<owner>`, `wacloud.io/engine`, `wacloud.io/scope=<network>` and `wacloud.io/spec-hash` (a hash
 *   of everything the container was created from: when the wanted spec changes — a new image, a rotated key secret,
 *   other options — the container is recreated, keeping its volume);
 * - named volume `<prefix><id>-data` at `/data` (the stored WhatsApp session), labelled like the container;
 * - database `wacloud_inst_<id>` on the instances' MongoDB server (dropped on delete, best effort); with `databaseUsers`
 *   a user of that name limited to it (password derived from `keySecret`, only in the container's `MONGODB_URI`).
 *
 * Internal API key: derived, never stored by the api — `base64url(HMAC-SHA256(keySecret, "wacloud/internal-key/v1:" +
 * id))` — so a restarted api recovers every key from its secret alone, and a key stays valid across container
 * recreations. It reaches the container as `INTERNAL_API_KEY` (anyone who may call the Docker API can read it there,
 * as they can read everything else of the containers); it is never logged. Rotating the secret recreates the
 * containers at the next create/resume/reconcile, their sessions kept.
 *
 * How the api reaches instances ({@link DockerReach}): `network` — the api joins each instance network and uses
 * `http://<container name>:8080` / `:8081`; `published` — ports 8080/8081 are published on random ports of the
 * daemon's host (bound to `publishIp`) and the api uses `http://<publishedHost>:<port>` (a dind daemon: `dind`).
 *
 * Lifecycle: suspend = stop (container and volume kept; `unless-stopped` keeps it stopped across daemon restarts),
 * resume = start, delete = remove the container and the volume. {@link DockerProvider.reconcile} adopts what runs,
 * starts what should run, stops what should be suspended and removes what the database does not know — only among
 * containers and volumes labelled managed-by wacloud-api and scope `<network>`, so two deployments on one engine
 * (with different networks) leave each other alone.
 *
 * Files: `options.ts`, `spec.ts` (the container, pure), `phase.ts` (container state → phase, pure), `engine.ts`
 * (connection and error translation).
 *
 * Errors: the engine unreachable, refusing or failing → `ProviderError('unavailable')` with what to check.
 */
import http from 'node:http';
import https from 'node:https';
import Docker from 'dockerode';
import type { Logger } from 'pino';
import { LABELS } from '@wacloud/crds';
import {
  ProviderError,
  type Engine,
  type InstanceEndpoints,
  type InstanceProvider,
  type ProviderStatus,
  type ProvisionRequest,
} from '../provider.js';
import * as database from '../shared/database.js';
import { HealthCache, probeHealth } from '../shared/health.js';
import { assertInstanceId, isInstanceId } from '../shared/instance-id.js';
import { KeyedLock } from '../shared/keyed-lock.js';
import { MANAGED_BY_API, MANAGED_BY_API_SELECTOR } from '../shared/labels.js';
import { RECONCILE_CONCURRENCY, runReconcileTasks, type ReconcileTask } from '../shared/reconcile-set.js';
import { dockerConnection, engineFailure, engineMessage, statusCodeOf } from './engine.js';
import type { DockerProviderOptions } from './options.js';
import { InstanceNetworks } from './networks.js';
import { phaseOf, stateOf } from './phase.js';
import { loadSeccompProfile } from './seccomp.js';
import { containerUrls, type ContainerUrls } from './urls.js';
import {
  DOCKER_LABELS,
  buildContainerSpec,
  containerName,
  deriveInternalKey,
  instanceLabels,
  volumeName,
  type ContainerSpec,
  type ContainerSpecOptions,
} from './spec.js';

export class DockerProvider implements InstanceProvider {
  readonly kind = 'docker' as const;
  private readonly docker: Docker;
  private readonly agent: http.Agent;
  private readonly log: Logger;
  private readonly prefix: string;
  private readonly publishedHost: string;
  private readonly concurrency: number;
  private readonly stopTimeoutS: number;
  private readonly specOptions: ContainerSpecOptions;
  /** Whether the provider wants instance `id` running (true) or stopped (false); filled by every operation. */
  private readonly wanted = new Map<string, boolean>();
  /** Last /health success per instance and container run (`<container id>@<StartedAt>`). */
  private readonly healthy = new HealthCache();
  private readonly locks = new KeyedLock();
  private readonly networks: InstanceNetworks;
  private closed = false;

  /**
   * Connects lazily (the first call reaches the engine).
   * @throws ProviderError `unavailable` for a malformed `dockerHost`, unreadable TLS files, a `mongoUri` that is not
   * a MongoDB URI, or no readable seccomp profile (`seccompProfile` unset and the shipped one missing).
   */
  constructor(private readonly opts: DockerProviderOptions) {
    const conn = dockerConnection(opts.dockerHost, opts.certPath);
    try {
      database.mongoUriWithDatabase(opts.mongoUri, 'probe');
    } catch (err) {
      throw new ProviderError('unavailable', `instances' MongoDB URI: ${(err as Error).message}`);
    }
    this.agent = conn.protocol === 'https' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    // docker-modem takes `agent` (missing from the typings): a pool of our own, destroyed by close().
    this.docker = new Docker({ ...conn, agent: this.agent, timeout: opts.requestTimeoutMs ?? 60_000 } as Docker.DockerOptions);
    this.log = opts.logger.child({ provider: 'docker', network: opts.network });
    this.prefix = opts.namePrefix ?? 'wacloud-';
    this.publishedHost = opts.publishedHost ?? '127.0.0.1';
    this.concurrency = Math.max(1, opts.reconcileConcurrency ?? RECONCILE_CONCURRENCY);
    this.stopTimeoutS = opts.stopTimeoutS ?? 10;
    const loopback = ['127.0.0.1', 'localhost', '::1'].includes(this.publishedHost);
    this.networks = new InstanceNetworks({
      docker: this.docker,
      scope: opts.network,
      reach: opts.reach,
      apiContainer: opts.apiContainer,
      failure: (what, err) => this.failure(what, err),
    });
    this.specOptions = {
      ...opts,
      seccompProfile: opts.seccompProfile ?? loadSeccompProfile(),
      publishIp: opts.publishIp ?? (loopback ? (this.publishedHost === '::1' ? '::1' : '127.0.0.1') : '0.0.0.0'),
    };
  }

  /**
   * Creates the network (when missing), the session volume and the container, or brings an existing container to
   * `req`: recreated (volume kept) when its spec hash differs, then started — or stopped when `req.suspended`.
   * Idempotent. Pulls the image when the engine does not have it.
   * @throws ProviderError `invalid_id`; `unavailable` (engine unreachable or refusing, image missing and not pullable,
   * the container name taken by a container wacloud does not manage, simulated engine without SIMNET_URL).
   */
  async create(req: ProvisionRequest): Promise<void> {
    assertInstanceId(req.id);
    this.assertOpen();
    await this.withLock(req.id, () => this.ensure(req));
    this.log.info({ instance: req.id, owner: req.owner, suspended: req.suspended }, 'instance container ensured');
  }

  /**
   * Stops the container (SIGTERM, SIGKILL after `stopTimeoutS`); container and volume are kept. Idempotent.
   * @throws ProviderError `invalid_id`, `not_found` when there is no container, `unavailable`.
   */
  async suspend(id: string): Promise<void> {
    assertInstanceId(id);
    this.assertOpen();
    await this.withLock(id, async () => {
      const c = await this.inspect(id);
      if (!c) throw new ProviderError('not_found', `instance ${id} has no container`);
      this.wanted.set(id, false);
      await this.stopContainer(c.Id);
    });
    this.log.info({ instance: id }, 'instance suspended (container stopped)');
  }

  /**
   * Starts the container again with its volume (recreating it first when its spec is outdated). Idempotent.
   * @throws ProviderError `invalid_id`, `not_found` when there is no container, `unavailable`.
   */
  async resume(id: string): Promise<void> {
    assertInstanceId(id);
    this.assertOpen();
    await this.withLock(id, async () => {
      const c = await this.inspect(id);
      if (!c) throw new ProviderError('not_found', `instance ${id} has no container`);
      const labels = c.Config.Labels ?? {};
      const engine = labels[DOCKER_LABELS.ENGINE] === 'webjs' ? 'webjs' : 'simulated';
      await this.ensure({ id, owner: labels[LABELS.OWNER] ?? '', name: id, engine: engine as Engine, suspended: false });
    });
    this.log.info({ instance: id }, 'instance resumed (container started)');
  }

  /**
   * Restarts a running container (SIGTERM, SIGKILL after `stopTimeoutS`, started again with its volume: the session is
   * kept) before resolving; a stopped (suspended) one is left stopped.
   * @throws ProviderError `invalid_id`, `not_found` when there is no container, `unavailable`.
   */
  async restart(id: string): Promise<void> {
    assertInstanceId(id);
    this.assertOpen();
    await this.withLock(id, async () => {
      const c = await this.inspect(id);
      if (!c) throw new ProviderError('not_found', `instance ${id} has no container`);
      if (!c.State.Running) return;
      await this.call(`restart ${c.Name}`, () => this.docker.getContainer(c.Id).restart({ t: this.stopTimeoutS }));
      this.healthy.forget(id);
    });
  }

  /**
   * Removes the instance's containers (every one labelled with it in this scope, killed if running), its volume and
   * (best effort) its database. A missing instance is fine.
   * @throws ProviderError `invalid_id`, `unavailable`.
   */
  async delete(id: string): Promise<void> {
    assertInstanceId(id);
    this.assertOpen();
    const removed = await this.withLock(id, () => this.removeInstance(id, this.opts.dropDatabaseOnDelete ?? true));
    if (removed) this.log.info({ instance: id }, 'instance deleted (container and volume removed)');
  }

  /**
   * The container's state as a phase ({@link phaseOf}); for a running container the session state from its `/health`.
   * `NotFound` when there is no container.
   * @throws ProviderError `invalid_id`, `unavailable`.
   */
  async status(id: string): Promise<ProviderStatus> {
    assertInstanceId(id);
    this.assertOpen();
    const c = await this.inspect(id);
    if (!c) return { phase: 'NotFound' };
    let sessionState: string | undefined;
    if (c.State.Running && !c.State.Restarting) {
      const urls = this.urlsOf(c);
      const h = urls ? await probeHealth(urls.publicUrl) : undefined;
      if (h) {
        this.markHealthy(id, c);
        sessionState = h.sessionState ?? 'Unknown';
      }
    }
    return phaseOf(stateOf(c), this.wanted.get(id), sessionState);
  }

  /**
   * URLs of the instance's public and internal API (reach `network`: `http://<container>:8080`/`:8081`; `published`:
   * `http://<publishedHost>:<host port>`) and its internal key.
   * @throws ProviderError `invalid_id`; `not_found` when there is no container; `not_ready` when it is not running, has
   * no published ports yet, or does not answer `/health`; `unavailable`.
   */
  async endpoints(id: string): Promise<InstanceEndpoints> {
    assertInstanceId(id);
    this.assertOpen();
    const c = await this.inspect(id);
    if (!c) throw new ProviderError('not_found', `instance ${id} has no container`);
    if (!c.State.Running || c.State.Restarting)
      throw new ProviderError('not_ready', `instance ${id} is not running (container ${c.State.Status})`);
    const urls = this.urlsOf(c);
    if (!urls) throw new ProviderError('not_ready', `instance ${id}: the container's ports are not published yet`);
    if (!this.healthy.isFresh(id, this.runOf(c))) {
      if (!(await probeHealth(urls.publicUrl))) throw new ProviderError('not_ready', `instance ${id} does not answer /health yet`);
      this.markHealthy(id, c);
    }
    return { ...urls, internalKey: deriveInternalKey(this.opts.keySecret, id) };
  }

  /**
   * Makes the engine match `desired` within this provider's scope: every desired instance is ensured like
   * {@link create} (a running container with the current spec is adopted untouched; a missing one is created, an
   * outdated one recreated with its volume; then started, or stopped when suspended); extra containers labelled with
   * a desired instance but named otherwise are removed; managed containers and volumes of instances not desired are
   * removed (their databases are left alone). Every operation is attempted; afterwards the first failure is thrown.
   * @throws ProviderError `invalid_id` (before anything is done) when a desired id is invalid; `unavailable` when the
   * engine cannot be listed; the first failed operation otherwise.
   */
  async reconcile(desired: ProvisionRequest[]): Promise<void> {
    for (const r of desired) assertInstanceId(r.id);
    this.assertOpen();
    const filters = { label: [MANAGED_BY_API_SELECTOR, `${DOCKER_LABELS.SCOPE}=${this.opts.network}`] };
    const [containers, volumes, networks] = await Promise.all([
      this.call('list containers', () => this.docker.listContainers({ all: true, filters })),
      this.call('list volumes', () => this.docker.listVolumes({ filters })),
      this.call('list networks', () => this.networks.list()),
    ]);
    const want = new Map(desired.map((r) => [r.id, r]));
    const counts = { ensured: 0, removed: 0, extra: 0 };
    const tasks: ReconcileTask[] = [];
    for (const req of want.values()) {
      tasks.push({
        what: 'ensure',
        id: req.id,
        run: async () => {
          await this.withLock(req.id, () => this.ensure(req));
          counts.ensured++;
        },
      });
    }
    const unknown = new Set<string>();
    for (const c of containers) {
      const id = c.Labels[LABELS.INSTANCE] ?? '';
      const name = (c.Names[0] ?? '').replace(/^\//, '');
      if (want.has(id)) {
        if (name === containerName(id, this.prefix)) continue;
        tasks.push({
          what: 'remove extra container',
          id,
          run: async () => {
            await this.withLock(id, () => this.removeContainer(c.Id, id));
            counts.extra++;
          },
        });
      } else if (isInstanceId(id)) unknown.add(id);
      else tasks.push({ what: 'remove unlabelled container', id: name, run: () => this.removeContainer(c.Id, id) });
    }
    for (const v of volumes.Volumes ?? []) {
      const id = v.Labels?.[LABELS.INSTANCE] ?? '';
      if (!want.has(id) && isInstanceId(id)) unknown.add(id);
    }
    for (const id of networks) if (!want.has(id) && isInstanceId(id)) unknown.add(id);
    for (const id of unknown) {
      tasks.push({
        what: 'remove',
        id,
        run: async () => {
          if (await this.withLock(id, () => this.removeInstance(id, false))) counts.removed++;
        },
      });
    }
    const outcome = await runReconcileTasks(tasks, { concurrency: this.concurrency, log: this.log });
    this.log.info(
      { desired: want.size, containers: containers.length, ...counts, failed: outcome.failed },
      'reconciled instance containers',
    );
    outcome.throwFirst();
  }

  /** Closes the provider's connections to the engine; later calls fail with `unavailable`. Containers keep running. */
  async close(): Promise<void> {
    this.closed = true;
    this.agent.destroy();
    await this.opts.databaseUsers?.close();
  }

  // ---- operations (callers hold the instance's lock) -----------------------------------------------------------

  /** The instance's network, volume, container with the current spec, then started or stopped as `req.suspended` says. */
  private async ensure(req: ProvisionRequest): Promise<void> {
    const password = () => database.deriveDatabasePassword(this.opts.keySecret, req.id);
    const mongoUri = await database.ensureInstanceDatabaseUser(this.opts.databaseUsers, this.opts.mongoUri, req.id, password);
    const spec = buildContainerSpec(req, { ...this.specOptions, mongoUri }, deriveInternalKey(this.opts.keySecret, req.id));
    this.wanted.set(req.id, !req.suspended);
    let c = await this.inspect(req.id);
    if (c && c.Config.Labels?.[LABELS.MANAGED_BY] !== MANAGED_BY_API) {
      throw new ProviderError('unavailable', `container ${spec.name} exists but is not managed by wacloud; remove or rename it`);
    }
    await this.networks.ensure(req.id);
    await this.call(`create volume ${volumeName(req.id, this.prefix)}`, () =>
      this.docker.createVolume({ Name: volumeName(req.id, this.prefix), Labels: instanceLabels(req, this.opts.network) }),
    );
    if (c && c.Config.Labels?.[DOCKER_LABELS.SPEC_HASH] !== spec.Labels![DOCKER_LABELS.SPEC_HASH]) {
      this.log.info(
        { instance: req.id, container: c.Id.slice(0, 12) },
        'container spec changed (image, key or options); recreating it with its volume',
      );
      await this.removeContainer(c.Id, req.id);
      c = undefined;
    }
    if (!c) {
      await this.createContainer(spec);
      c = await this.inspect(req.id);
      if (!c) throw new ProviderError('unavailable', `container ${spec.name} vanished right after its creation`);
      this.log.info({ instance: req.id, container: c.Id.slice(0, 12), image: spec.Image }, 'container created');
    }
    if (req.suspended) {
      await this.stopContainer(c.Id);
      return;
    }
    if (c.State.Paused) await this.call(`unpause ${spec.name}`, () => this.docker.getContainer(c.Id).unpause());
    if (!c.State.Running) {
      try {
        await this.docker.getContainer(c.Id).start();
      } catch (err) {
        if (statusCodeOf(err) === 304) return; // started meanwhile
        if (statusCodeOf(err) !== 404 || !/network/i.test(engineMessage(err))) throw this.failure(`start ${spec.name}`, err);
        // Its network was removed and created again: a container keeps the old network's id, so it is recreated.
        this.log.warn({ instance: req.id }, "the container's network is gone; recreating the container with its volume");
        await this.removeContainer(c.Id, req.id);
        await this.createContainer(spec);
        await this.call(`start ${spec.name}`, () => this.docker.getContainer(spec.name).start(), [304]);
      }
      this.log.info({ instance: req.id }, 'container started');
    }
  }

  /** Creates the container, pulling the image first when the engine does not have it; a concurrent create is fine. */
  private async createContainer(spec: ContainerSpec): Promise<void> {
    try {
      await this.docker.createContainer(spec);
      return;
    } catch (err) {
      if (statusCodeOf(err) === 409) return; // created meanwhile (by another api replica or a retried call)
      if (statusCodeOf(err) !== 404 || !/image/i.test(engineMessage(err))) throw this.failure(`create container ${spec.name}`, err);
    }
    await this.pull(spec.Image!);
    await this.call(`create container ${spec.name}`, () => this.docker.createContainer(spec), [409]);
  }

  /** Pulls `image`, waiting for the end of the progress stream. */
  private async pull(image: string): Promise<void> {
    this.log.info({ image }, 'pulling the instance image');
    try {
      const stream = await this.docker.pull(image);
      await new Promise<void>((resolve, reject) =>
        this.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      throw new ProviderError(
        'unavailable',
        `the Docker engine at ${this.opts.dockerHost} has no image ${image} and cannot pull it: ${engineMessage(err)}`,
      );
    }
  }

  /** Stops container `cid` (already stopped: fine). */
  private async stopContainer(cid: string): Promise<void> {
    await this.call(`stop container ${cid.slice(0, 12)}`, () => this.docker.getContainer(cid).stop({ t: this.stopTimeoutS }), [304, 404]);
  }

  /**
   * Removes container `cid` of instance `id` by force with its anonymous volumes (named ones, the session's, stay;
   * missing: fine).
   */
  private async removeContainer(cid: string, id: string): Promise<void> {
    await this.call(`remove container ${cid.slice(0, 12)}`, () => this.docker.getContainer(cid).remove({ force: true, v: true }), [404]);
    this.healthy.forget(id);
  }

  /**
   * Removes every container labelled with `id` in this scope, then its network, its volume and optionally its
   * database and its user; false when nothing existed.
   */
  private async removeInstance(id: string, dropDatabase: boolean): Promise<boolean> {
    this.wanted.delete(id);
    const filters = { label: [`${LABELS.INSTANCE}=${id}`, `${DOCKER_LABELS.SCOPE}=${this.opts.network}`, MANAGED_BY_API_SELECTOR] };
    const labelled = await this.call('list containers', () => this.docker.listContainers({ all: true, filters }));
    const ids = new Set(labelled.map((c) => c.Id));
    const named = await this.inspect(id);
    if (named && named.Config.Labels?.[LABELS.MANAGED_BY] === MANAGED_BY_API) ids.add(named.Id);
    for (const cid of ids) await this.removeContainer(cid, id);
    await this.networks.remove(id);
    const vol = volumeName(id, this.prefix);
    let volumeRemoved = false;
    try {
      await this.docker.getVolume(vol).remove();
      volumeRemoved = true;
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw this.failure(`remove volume ${vol}`, err);
    }
    if (dropDatabase) await database.dropInstanceDatabase(this.opts.mongoUri, id, this.log);
    if (ids.size > 0 || volumeRemoved || dropDatabase) await database.dropInstanceDatabaseUser(this.opts.databaseUsers, id, this.log);
    return ids.size > 0 || volumeRemoved;
  }

  // ---- engine access -------------------------------------------------------------------------------------------

  /** The container of instance `id` (by name), or undefined when there is none. */
  private async inspect(id: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await this.docker.getContainer(containerName(id, this.prefix)).inspect();
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined;
      throw this.failure(`inspect container of ${id}`, err);
    }
  }

  /** Base URLs of a running container's APIs, or undefined while its ports are not published. */
  private urlsOf(c: Docker.ContainerInspectInfo): ContainerUrls | undefined {
    return containerUrls(c, this.opts.reach, this.publishedHost);
  }

  /** One run of a container: `<container id>@<StartedAt>`. */
  private runOf(c: Docker.ContainerInspectInfo): string {
    return `${c.Id}@${c.State.StartedAt}`;
  }

  /** Records a /health success of `c`'s current run (forgetting the instance's earlier runs). */
  private markHealthy(id: string, c: Docker.ContainerInspectInfo): void {
    this.healthy.mark(id, this.runOf(c));
  }

  /**
   * Runs one engine call; status codes in `ok` count as success (e.g. 304 "already started", 404 "already gone").
   * @throws ProviderError `unavailable` on any other failure.
   */
  private async call<T>(what: string, fn: () => Promise<T>, ok: number[] = []): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const code = statusCodeOf(err);
      if (code !== undefined && ok.includes(code)) return undefined as T;
      throw this.failure(what, err);
    }
  }

  /** A `ProviderError('unavailable')` saying what failed and, for connection failures, what to check. */
  private failure(what: string, err: unknown): ProviderError {
    if (this.closed && !(err instanceof ProviderError)) return new ProviderError('unavailable', 'the docker provider is closed');
    return engineFailure(this.opts.dockerHost, what, err);
  }

  /** Serializes operations on one instance (create/suspend/resume/delete/reconcile, see {@link KeyedLock}). */
  private withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(id, fn);
  }

  /** @throws ProviderError `unavailable` after close(). */
  private assertOpen(): void {
    if (this.closed) throw new ProviderError('unavailable', 'the docker provider is closed');
  }
}
