/**
 * `DockerProvider`: every instance is one container on a Docker engine, driven through its API with dockerode — the
 * provider for plain Docker hosts (the engine's own socket, or a `docker:dind` daemon reached over TCP).
 *
 * Per instance `<id>` (all in the engine; the provider keeps nothing on disk and nothing that an api restart loses):
 * - container `<prefix><id>` from the instance image, on the user-defined bridge network (created when missing),
 *   restart policy `unless-stopped`, a memory limit, a large `/dev/shm` for Chromium, no capabilities,
 *   `no-new-privileges`; labels `app.kubernetes.io/managed-by=wacloud-api`, `wacloud.io/instance=<id>`,
 *   `wacloud.io/owner=<owner>`, `wacloud.io/engine`, `wacloud.io/scope=<network>` and `wacloud.io/spec-hash` (a hash
 *   of everything the container was created from: when the wanted spec changes — a new image, a rotated key secret,
 *   other options — the container is recreated, keeping its volume);
 * - named volume `<prefix><id>-data` at `/data` (the stored WhatsApp session), labelled like the container;
 * - database `wacloud_inst_<id>` on the instances' MongoDB server (dropped on delete, best effort).
 *
 * Internal API key: derived, never stored by the api — `base64url(HMAC-SHA256(keySecret, "wacloud/internal-key/v1:" +
 * id))` — so a restarted api recovers every key from its secret alone, and a key stays valid across container
 * recreations. It reaches the container as `INTERNAL_API_KEY` (anyone who may call the Docker API can read it there,
 * as they can read everything else of the containers); it is never logged. Rotating the secret recreates the
 * containers at the next create/resume/reconcile, their sessions kept.
 *
 * How the api reaches instances ({@link DockerReach}): `network` — the api is attached to the same network and uses
 * `http://<container name>:8080` / `:8081`; `published` — ports 8080/8081 are published on random ports of the
 * daemon's host (bound to `publishIp`) and the api uses `http://<publishedHost>:<port>` (a dind daemon: `dind`).
 *
 * Lifecycle: suspend = stop (container and volume kept; `unless-stopped` keeps it stopped across daemon restarts),
 * resume = start, delete = remove the container and the volume. {@link DockerProvider.reconcile} adopts what runs,
 * starts what should run, stops what should be suspended and removes what the database does not know — only among
 * containers and volumes labelled managed-by wacloud-api and scope `<network>`, so two deployments on one engine
 * (with different networks) leave each other alone.
 *
 * Errors: the engine unreachable, refusing or failing → `ProviderError('unavailable')` with what to check.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import Docker from 'dockerode';
import mongoose from 'mongoose';
import type { Logger } from 'pino';
import { LABELS, PORTS } from '@wacloud/crds';
import { instanceDatabaseName, mongoUriWithDatabase } from './process.js';
import {
  ProviderError,
  type Engine,
  type InstanceEndpoints,
  type InstanceProvider,
  type ProviderPhase,
  type ProviderStatus,
  type ProvisionRequest,
} from './provider.js';
import { KeyedLock } from './keyed-lock.js';

/** How the api reaches instance containers (see the module comment). */
export type DockerReach = 'network' | 'published';

export interface DockerProviderOptions {
  /**
   * The engine's API: `unix:///var/run/docker.sock` or `tcp://host:port` (TLS with {@link certPath}, or on port 2376).
   */
  dockerHost: string;
  /** Directory holding `ca.pem`, `cert.pem`, `key.pem` for a TLS engine (Docker's `DOCKER_CERT_PATH`). */
  certPath?: string | undefined;
  /** Instance image, e.g. `wacloud/instance:0.1.0`; pulled when the engine does not have it. */
  image: string;
  /** User-defined bridge network of the instances; created when missing. Also the provider's scope label. */
  network: string;
  reach: DockerReach;
  /** `published`: host name or address where the api reaches the published ports. Default `127.0.0.1`. */
  publishedHost?: string | undefined;
  /** `published`: host address the ports are bound to. Default `127.0.0.1` for a loopback `publishedHost`, else `0.0.0.0`. */
  publishIp?: string | undefined;
  /** MongoDB server URI (as the instances reach it) without a database; each instance gets `wacloud_inst_<id>` on it. */
  mongoUri: string;
  /** Simulated network's base URL as the instances reach it (`SIMNET_URL`; required for engine `simulated`). */
  simnetUrl?: string | undefined;
  /** Secret the internal keys are derived from (≥ 32 bytes of entropy; changing it recreates every container). */
  keySecret: string;
  /** `/etc/hosts` entries of the containers, `name:address` (`host.docker.internal:host-gateway`). */
  extraHosts?: string[] | undefined;
  /** Memory limit of a container, bytes; 0: none. Default 2 GiB. */
  memoryBytes?: number | undefined;
  /** Size of a container's `/dev/shm`, bytes (Chromium needs far more than Docker's 64 MiB). Default 512 MiB. */
  shmSizeBytes?: number | undefined;
  /** CPU limit of a container, in CPUs (e.g. 1.5); undefined: none. */
  cpus?: number | undefined;
  /** Prefix of container and volume names. Default `wacloud-`. */
  namePrefix?: string | undefined;
  /** Extra environment of the instances (e.g. `LOG_LEVEL`); the provider's own variables win. */
  env?: Record<string, string> | undefined;
  logger: Logger;
  /** Socket idle timeout of one engine request, ms. Default 60 000. */
  requestTimeoutMs?: number | undefined;
  /** Grace between SIGTERM and SIGKILL when a container is stopped, seconds. Default 10. */
  stopTimeoutS?: number | undefined;
  /** Instances reconciled concurrently. Default 8. */
  reconcileConcurrency?: number | undefined;
  /**
   * Drop the instance's MongoDB database on {@link DockerProvider.delete} (best effort, through {@link mongoUri}, which
   * the api must then reach too). Default true.
   */
  dropDatabaseOnDelete?: boolean | undefined;
}

/** Value of `app.kubernetes.io/managed-by` on everything the provider creates; only those are ever removed. */
export const MANAGED_BY_API = 'wacloud-api';
/** Labels of the docker provider (besides {@link LABELS}`.MANAGED_BY`, `.INSTANCE`, `.OWNER`). */
export const DOCKER_LABELS = {
  ENGINE: 'wacloud.io/engine',
  /** The network name: which deployment of the api the container belongs to. */
  SCOPE: 'wacloud.io/scope',
  /** sha256 of the container's create options (the label itself excluded). */
  SPEC_HASH: 'wacloud.io/spec-hash',
} as const;
/** Where the session volume is mounted (the image's `DATA_DIR` and `VOLUME`). */
export const DATA_DIR = '/data';

const PUBLIC_PORT = `${PORTS.public.port}/tcp`;
const INTERNAL_PORT = `${PORTS.internal.port}/tcp`;
const ID_RE = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
/** /health request timeout, ms. */
const HEALTH_TIMEOUT_MS = 2_000;
/** A /health success younger than this (ms) lets endpoints() skip its own check. */
const HEALTHY_CACHE_MS = 3_000;
/** Restarts after which a crash-looping container is reported `Failed` rather than `Provisioning`. */
const CRASH_LOOP_RESTARTS = 3;

/** The options of one container as the provider creates it (dockerode's create options). */
export type ContainerSpec = Docker.ContainerCreateOptions & { name: string };

/** Parts of {@link DockerProviderOptions} that shape the container (what {@link buildContainerSpec} reads). */
export type ContainerSpecOptions = Pick<
  DockerProviderOptions,
  'image' | 'network' | 'reach' | 'publishIp' | 'mongoUri' | 'simnetUrl' | 'extraHosts' | 'memoryBytes' | 'shmSizeBytes' | 'cpus' | 'namePrefix' | 'env' | 'stopTimeoutS'
>;

/** Container name of instance `id`: `<prefix><id>`. */
export function containerName(id: string, prefix = 'wacloud-'): string {
  return `${prefix}${id}`;
}

/** Session volume name of instance `id`: `<prefix><id>-data`. */
export function volumeName(id: string, prefix = 'wacloud-'): string {
  return `${prefix}${id}-data`;
}

/**
 * The internal API key of instance `id`: `base64url(HMAC-SHA256(secret, "wacloud/internal-key/v1:" + id))`, 43
 * characters. Deterministic, so nothing needs storing.
 */
export function deriveInternalKey(secret: string, id: string): string {
  return createHmac('sha256', secret).update(`wacloud/internal-key/v1:${id}`).digest('base64url');
}

/** JSON with object keys sorted at every level (a stable input for hashing). */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Labels that identify the provider's objects of instance `id` (container and volume alike). */
export function instanceLabels(req: Pick<ProvisionRequest, 'id' | 'owner' | 'engine'>, scope: string): Record<string, string> {
  return {
    [LABELS.MANAGED_BY]: MANAGED_BY_API,
    [LABELS.NAME]: 'wacloud-instance',
    [LABELS.INSTANCE]: req.id,
    [LABELS.OWNER]: req.owner,
    [DOCKER_LABELS.ENGINE]: req.engine,
    [DOCKER_LABELS.SCOPE]: scope,
  };
}

/**
 * The create options of instance `req`'s container (pure): image, name, environment (`INSTANCE_ID`, `ENGINE`,
 * `MONGODB_URI` naming the instance's database, `INTERNAL_API_KEY`, `SIMNET_URL` for the simulated engine, ports,
 * `DATA_DIR`), labels incl. {@link DOCKER_LABELS}.SPEC_HASH, exposed ports (published on random host ports bound to
 * `publishIp` for reach `published`), the session volume at {@link DATA_DIR}, the network, restart policy
 * `unless-stopped`, memory / shm / CPU limits, extra hosts, no capabilities, `no-new-privileges`.
 * @throws ProviderError `unavailable` when the engine is `simulated` and no `simnetUrl` is configured, or `mongoUri` is
 * not a MongoDB URI.
 */
export function buildContainerSpec(req: ProvisionRequest, o: ContainerSpecOptions, internalKey: string): ContainerSpec {
  const prefix = o.namePrefix ?? 'wacloud-';
  if (req.engine === 'simulated' && !o.simnetUrl) {
    throw new ProviderError('unavailable', `instance ${req.id} uses the simulated engine but no simulated network is configured (set SIMNET_URL)`);
  }
  let mongoUri: string;
  try {
    mongoUri = mongoUriWithDatabase(o.mongoUri, instanceDatabaseName(req.id));
  } catch (err) {
    throw new ProviderError('unavailable', `instances' MongoDB URI: ${(err as Error).message}`);
  }
  const env: Record<string, string> = {
    ...o.env,
    INSTANCE_ID: req.id,
    ENGINE: req.engine,
    HOST: '0.0.0.0',
    PORT: String(PORTS.public.port),
    INTERNAL_PORT: String(PORTS.internal.port),
    DATA_DIR,
    MONGODB_URI: mongoUri,
    INTERNAL_API_KEY: internalKey,
  };
  delete env.INTERNAL_API_KEY_FILE;
  if (req.engine === 'simulated' && o.simnetUrl) env.SIMNET_URL = o.simnetUrl;
  const published = o.reach === 'published';
  const bind = [{ HostIp: o.publishIp ?? '0.0.0.0', HostPort: '' }];
  const spec: ContainerSpec = {
    name: containerName(req.id, prefix),
    Image: o.image,
    Env: Object.entries(env)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`),
    Labels: instanceLabels(req, o.network),
    ExposedPorts: { [PUBLIC_PORT]: {}, [INTERNAL_PORT]: {} },
    StopTimeout: o.stopTimeoutS ?? 10,
    HostConfig: {
      NetworkMode: o.network,
      RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
      Mounts: [{ Type: 'volume', Source: volumeName(req.id, prefix), Target: DATA_DIR }],
      ShmSize: o.shmSizeBytes ?? 512 * 1024 * 1024,
      ...(o.memoryBytes !== 0 ? { Memory: o.memoryBytes ?? 2 * 1024 * 1024 * 1024 } : {}),
      ...(o.cpus ? { NanoCpus: Math.round(o.cpus * 1e9) } : {}),
      ...(o.extraHosts?.length ? { ExtraHosts: [...o.extraHosts] } : {}),
      ...(published ? { PortBindings: { [PUBLIC_PORT]: bind, [INTERNAL_PORT]: bind } } : {}),
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
    },
  };
  spec.Labels![DOCKER_LABELS.SPEC_HASH] = createHash('sha256').update(canonicalJson(spec)).digest('hex').slice(0, 32);
  return spec;
}

/**
 * dockerode/docker-modem connection options for `dockerHost` (`unix:///path` or `tcp://host:port`; TLS when `certPath`
 * is given or the port is 2376).
 * @throws ProviderError `unavailable` for any other form, or when the TLS files cannot be read.
 */
export function dockerConnection(dockerHost: string, certPath?: string): Docker.DockerOptions {
  const unix = /^unix:\/\/(\/.+)$/.exec(dockerHost);
  if (unix) return { socketPath: unix[1]!, host: undefined, port: undefined, protocol: 'http' };
  const tcp = /^tcp:\/\/([^/:]+|\[[0-9a-fA-F:.]+\]):(\d{1,5})\/?$/.exec(dockerHost);
  if (!tcp) throw new ProviderError('unavailable', `DOCKER_HOST must be unix:///path/to/docker.sock or tcp://host:port, got ${JSON.stringify(dockerHost)}`);
  const host = tcp[1]!.replace(/^\[|\]$/g, '');
  const port = Number(tcp[2]);
  if (!certPath && port !== 2376) return { host, port, protocol: 'http', socketPath: undefined };
  if (!certPath) throw new ProviderError('unavailable', `DOCKER_HOST ${dockerHost} is a TLS port: set DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem)`);
  try {
    return {
      host,
      port,
      protocol: 'https',
      socketPath: undefined,
      ca: readFileSync(path.join(certPath, 'ca.pem')),
      cert: readFileSync(path.join(certPath, 'cert.pem')),
      key: readFileSync(path.join(certPath, 'key.pem')),
    };
  } catch (err) {
    throw new ProviderError('unavailable', `cannot read the Docker TLS files in ${certPath}: ${(err as Error).message}`);
  }
}

/** What {@link phaseOf} needs of a container. */
export interface ContainerState {
  /** `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`. */
  status: string;
  exitCode: number;
  error: string;
  oomKilled: boolean;
  restartCount: number;
  /** The image's HEALTHCHECK verdict: `starting`, `healthy`, `unhealthy`, or undefined without one. */
  health: string | undefined;
  /** Output of the last failed HEALTHCHECK probe, if any. */
  healthOutput: string | undefined;
}

/**
 * The api's view of a container (pure).
 * @param wanted whether the provider wants it running (true), stopped (false), or does not know (undefined: a stopped
 *   `unless-stopped` container was stopped on purpose, so it counts as suspended).
 * @param sessionState the session state from the instance's `/health`, or undefined when it did not answer.
 */
export function phaseOf(c: ContainerState, wanted: boolean | undefined, sessionState: string | undefined): ProviderStatus {
  const exit = `exit code ${c.exitCode}${c.oomKilled ? ', out of memory' : ''}`;
  const st = (phase: ProviderPhase, message?: string): ProviderStatus => ({ phase, ...(sessionState ? { sessionState } : {}), ...(message ? { message } : {}) });
  switch (c.status) {
    case 'running':
      if (sessionState) return st('Running');
      if (c.health === 'unhealthy') return st('Failed', `the instance fails its health check${c.healthOutput ? `: ${c.healthOutput.trim().slice(0, 200)}` : ''}`);
      return st('Provisioning', 'the instance is starting');
    case 'restarting':
      return c.restartCount >= CRASH_LOOP_RESTARTS ? st('Failed', `the instance keeps exiting (${exit}, ${c.restartCount} restarts)`) : st('Provisioning', `restarting after ${exit}`);
    case 'removing':
      return st('Terminating', 'the container is being removed');
    case 'dead':
      return st('Failed', `the container is dead${c.error ? `: ${c.error}` : ''}`);
    case 'paused':
      return st('Failed', 'the container is paused (resume unpauses it)');
    case 'created':
    case 'exited':
      if (c.error) return st('Failed', `the container cannot start: ${c.error}`);
      if (wanted === false || (wanted === undefined && c.status === 'exited')) return st('Suspended');
      if (c.status === 'created') return st(wanted ? 'Provisioning' : 'Pending', 'the container is created, not started yet');
      return st('Failed', `the container stopped (${exit})`);
    default:
      return st('Provisioning', `container state ${c.status}`);
  }
}

/** A dockerode error's HTTP status code, if it carries one. */
function statusCodeOf(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** The engine's own message of a dockerode error (`json.message`), else the error's. */
function engineMessage(err: unknown): string {
  const e = err as { json?: { message?: unknown }; message?: string; code?: string };
  if (typeof e?.json?.message === 'string') return e.json.message;
  return [e?.code, e?.message].filter(Boolean).join(' ') || String(err);
}

/** Parsed `GET <baseUrl>/health`: the session state, or undefined on any failure or a non-ok answer. */
async function probeHealth(baseUrl: string): Promise<{ sessionState: string } | undefined> {
  try {
    const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
    if (res.status !== 200) {
      await res.body?.cancel();
      return undefined;
    }
    const body = (await res.json()) as { status?: unknown; session?: { state?: unknown } };
    if (body.status !== 'ok') return undefined;
    return { sessionState: typeof body.session?.state === 'string' ? body.session.state : 'Unknown' };
  } catch {
    return undefined;
  }
}

/** Runs `tasks` with at most `limit` in flight. */
async function runLimited(tasks: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}

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
  /** Last /health success per container (`<container id>@<StartedAt>`), ms since the epoch. */
  private readonly healthy = new Map<string, number>();
  private readonly locks = new KeyedLock();
  private network: Promise<void> | undefined;
  private closed = false;

  /**
   * Connects lazily (the first call reaches the engine).
   * @throws ProviderError `unavailable` for a malformed `dockerHost`, unreadable TLS files, or a `mongoUri` that is not
   * a MongoDB URI.
   */
  constructor(private readonly opts: DockerProviderOptions) {
    const conn = dockerConnection(opts.dockerHost, opts.certPath);
    try {
      mongoUriWithDatabase(opts.mongoUri, 'probe');
    } catch (err) {
      throw new ProviderError('unavailable', `instances' MongoDB URI: ${(err as Error).message}`);
    }
    this.agent = conn.protocol === 'https' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    // docker-modem takes `agent` (missing from the typings): a pool of our own, destroyed by close().
    this.docker = new Docker({ ...conn, agent: this.agent, timeout: opts.requestTimeoutMs ?? 60_000 } as Docker.DockerOptions);
    this.log = opts.logger.child({ provider: 'docker', network: opts.network });
    this.prefix = opts.namePrefix ?? 'wacloud-';
    this.publishedHost = opts.publishedHost ?? '127.0.0.1';
    this.concurrency = Math.max(1, opts.reconcileConcurrency ?? 8);
    this.stopTimeoutS = opts.stopTimeoutS ?? 10;
    const loopback = ['127.0.0.1', 'localhost', '::1'].includes(this.publishedHost);
    this.specOptions = { ...opts, publishIp: opts.publishIp ?? (loopback ? (this.publishedHost === '::1' ? '::1' : '127.0.0.1') : '0.0.0.0') };
  }

  /**
   * Creates the network (when missing), the session volume and the container, or brings an existing container to
   * `req`: recreated (volume kept) when its spec hash differs, then started — or stopped when `req.suspended`.
   * Idempotent. Pulls the image when the engine does not have it.
   * @throws ProviderError `unavailable` (engine unreachable or refusing, image missing and not pullable, the container
   * name taken by a container wacloud does not manage, simulated engine without SIMNET_URL).
   */
  async create(req: ProvisionRequest): Promise<void> {
    this.assertOpen();
    this.assertId(req.id);
    await this.withLock(req.id, () => this.ensure(req));
    this.log.info({ instance: req.id, owner: req.owner, suspended: req.suspended }, 'instance container ensured');
  }

  /**
   * Stops the container (SIGTERM, SIGKILL after `stopTimeoutS`); container and volume are kept. Idempotent.
   * @throws ProviderError `not_found` when there is no container, `unavailable`.
   */
  async suspend(id: string): Promise<void> {
    this.assertOpen();
    await this.withLock(id, async () => {
      const c = ID_RE.test(id) ? await this.inspect(id) : undefined;
      if (!c) throw new ProviderError('not_found', `instance ${id} has no container`);
      this.wanted.set(id, false);
      await this.stopContainer(c.Id);
    });
    this.log.info({ instance: id }, 'instance suspended (container stopped)');
  }

  /**
   * Starts the container again with its volume (recreating it first when its spec is outdated). Idempotent.
   * @throws ProviderError `not_found` when there is no container, `unavailable`.
   */
  async resume(id: string): Promise<void> {
    this.assertOpen();
    await this.withLock(id, async () => {
      const c = ID_RE.test(id) ? await this.inspect(id) : undefined;
      if (!c) throw new ProviderError('not_found', `instance ${id} has no container`);
      const labels = c.Config.Labels ?? {};
      const engine = labels[DOCKER_LABELS.ENGINE] === 'webjs' ? 'webjs' : 'simulated';
      await this.ensure({ id, owner: labels[LABELS.OWNER] ?? '', name: id, engine: engine as Engine, suspended: false });
    });
    this.log.info({ instance: id }, 'instance resumed (container started)');
  }

  /**
   * Removes the instance's containers (every one labelled with it in this scope, killed if running), its volume and
   * (best effort) its database. A missing instance is fine.
   * @throws ProviderError `unavailable`.
   */
  async delete(id: string): Promise<void> {
    this.assertOpen();
    if (!ID_RE.test(id)) return; // no container or volume can have such a name
    const removed = await this.withLock(id, () => this.removeInstance(id, this.opts.dropDatabaseOnDelete ?? true));
    if (removed) this.log.info({ instance: id }, 'instance deleted (container and volume removed)');
  }

  /**
   * The container's state as a phase ({@link phaseOf}); for a running container the session state from its `/health`.
   * `NotFound` when there is no container.
   * @throws ProviderError `unavailable`.
   */
  async status(id: string): Promise<ProviderStatus> {
    this.assertOpen();
    const c = ID_RE.test(id) ? await this.inspect(id) : undefined;
    if (!c) return { phase: 'NotFound' };
    let sessionState: string | undefined;
    if (c.State.Running && !c.State.Restarting) {
      const urls = this.urlsOf(c);
      const h = urls ? await probeHealth(urls.publicUrl) : undefined;
      if (h) {
        this.markHealthy(c);
        sessionState = h.sessionState;
      }
    }
    return phaseOf(stateOf(c), this.wanted.get(id), sessionState);
  }

  /**
   * URLs of the instance's public and internal API (reach `network`: `http://<container>:8080`/`:8081`; `published`:
   * `http://<publishedHost>:<host port>`) and its internal key.
   * @throws ProviderError `not_found` when there is no container; `not_ready` when it is not running, has no published
   * ports yet, or does not answer `/health`; `unavailable`.
   */
  async endpoints(id: string): Promise<InstanceEndpoints> {
    this.assertOpen();
    const c = ID_RE.test(id) ? await this.inspect(id) : undefined;
    if (!c) throw new ProviderError('not_found', `instance ${id} has no container`);
    if (!c.State.Running || c.State.Restarting) throw new ProviderError('not_ready', `instance ${id} is not running (container ${c.State.Status})`);
    const urls = this.urlsOf(c);
    if (!urls) throw new ProviderError('not_ready', `instance ${id}: the container's ports are not published yet`);
    const key = this.healthKey(c);
    if (Date.now() - (this.healthy.get(key) ?? 0) > HEALTHY_CACHE_MS) {
      if (!(await probeHealth(urls.publicUrl))) throw new ProviderError('not_ready', `instance ${id} does not answer /health yet`);
      this.markHealthy(c);
    }
    return { ...urls, internalKey: deriveInternalKey(this.opts.keySecret, id) };
  }

  /**
   * Makes the engine match `desired` within this provider's scope: every desired instance is ensured like
   * {@link create} (a running container with the current spec is adopted untouched; a missing one is created, an
   * outdated one recreated with its volume; then started, or stopped when suspended); extra containers labelled with
   * a desired instance but named otherwise are removed; managed containers and volumes of instances not desired are
   * removed (their databases are left alone). Every operation is attempted; afterwards the first failure is thrown.
   * @throws ProviderError `unavailable` when the engine cannot be listed; the first failed operation otherwise.
   */
  async reconcile(desired: ProvisionRequest[]): Promise<void> {
    this.assertOpen();
    await this.ensureNetwork();
    const filters = { label: [`${LABELS.MANAGED_BY}=${MANAGED_BY_API}`, `${DOCKER_LABELS.SCOPE}=${this.opts.network}`] };
    const [containers, volumes] = await Promise.all([
      this.call('list containers', () => this.docker.listContainers({ all: true, filters })),
      this.call('list volumes', () => this.docker.listVolumes({ filters })),
    ]);
    const want = new Map(desired.filter((r) => ID_RE.test(r.id)).map((r) => [r.id, r]));
    const errors: unknown[] = [];
    const counts = { ensured: 0, removed: 0, extra: 0, volumes: 0 };
    const guard = (what: string, id: string, f: () => Promise<void>) => async (): Promise<void> => {
      try {
        await f();
      } catch (err) {
        this.log.warn({ instance: id, err }, `reconcile: ${what} failed`);
        errors.push(err);
      }
    };
    const tasks: Array<() => Promise<void>> = [];
    for (const req of want.values()) {
      tasks.push(
        guard('ensure', req.id, async () => {
          await this.withLock(req.id, () => this.ensure(req));
          counts.ensured++;
        }),
      );
    }
    const unknown = new Set<string>();
    for (const c of containers) {
      const id = c.Labels[LABELS.INSTANCE] ?? '';
      const name = (c.Names[0] ?? '').replace(/^\//, '');
      if (want.has(id)) {
        if (name === containerName(id, this.prefix)) continue;
        tasks.push(
          guard('remove extra container', id, async () => {
            await this.withLock(id, () => this.removeContainer(c.Id));
            counts.extra++;
          }),
        );
      } else if (ID_RE.test(id)) unknown.add(id);
      else tasks.push(guard('remove unlabelled container', name, () => this.removeContainer(c.Id)));
    }
    for (const v of volumes.Volumes ?? []) {
      const id = v.Labels?.[LABELS.INSTANCE] ?? '';
      if (!want.has(id) && ID_RE.test(id)) unknown.add(id);
    }
    for (const id of unknown) {
      tasks.push(
        guard('remove', id, async () => {
          if (await this.withLock(id, () => this.removeInstance(id, false))) counts.removed++;
        }),
      );
    }
    await runLimited(tasks, this.concurrency);
    this.log.info({ desired: want.size, containers: containers.length, ...counts, failed: errors.length }, 'reconciled instance containers');
    if (errors.length > 0) throw errors[0];
  }

  /** Closes the provider's connections to the engine; later calls fail with `unavailable`. Containers keep running. */
  async close(): Promise<void> {
    this.closed = true;
    this.agent.destroy();
  }

  // ---- operations (callers hold the instance's lock) -----------------------------------------------------------

  /** Network, volume, container with the current spec, then started or stopped as `req.suspended` says. */
  private async ensure(req: ProvisionRequest): Promise<void> {
    const spec = buildContainerSpec(req, this.specOptions, deriveInternalKey(this.opts.keySecret, req.id));
    this.wanted.set(req.id, !req.suspended);
    let c = await this.inspect(req.id);
    if (c && c.Config.Labels?.[LABELS.MANAGED_BY] !== MANAGED_BY_API) {
      throw new ProviderError('unavailable', `container ${spec.name} exists but is not managed by wacloud; remove or rename it`);
    }
    await this.ensureNetwork();
    await this.call(`create volume ${volumeName(req.id, this.prefix)}`, () =>
      this.docker.createVolume({ Name: volumeName(req.id, this.prefix), Labels: instanceLabels(req, this.opts.network) }),
    );
    if (c && c.Config.Labels?.[DOCKER_LABELS.SPEC_HASH] !== spec.Labels![DOCKER_LABELS.SPEC_HASH]) {
      this.log.info({ instance: req.id, container: c.Id.slice(0, 12) }, 'container spec changed (image, key or options); recreating it with its volume');
      await this.removeContainer(c.Id);
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
        await this.removeContainer(c.Id);
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
      await new Promise<void>((resolve, reject) => this.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
    } catch (err) {
      throw new ProviderError('unavailable', `the Docker engine at ${this.opts.dockerHost} has no image ${image} and cannot pull it: ${engineMessage(err)}`);
    }
  }

  /** Stops container `cid` (already stopped: fine). */
  private async stopContainer(cid: string): Promise<void> {
    await this.call(`stop container ${cid.slice(0, 12)}`, () => this.docker.getContainer(cid).stop({ t: this.stopTimeoutS }), [304, 404]);
  }

  /** Removes container `cid` by force with its anonymous volumes (named ones, the session's, stay; missing: fine). */
  private async removeContainer(cid: string): Promise<void> {
    await this.call(`remove container ${cid.slice(0, 12)}`, () => this.docker.getContainer(cid).remove({ force: true, v: true }), [404]);
    for (const k of this.healthy.keys()) if (k.startsWith(`${cid}@`)) this.healthy.delete(k);
  }

  /** Removes every container labelled with `id` in this scope, then its volume and optionally its database; false when nothing existed. */
  private async removeInstance(id: string, dropDatabase: boolean): Promise<boolean> {
    this.wanted.delete(id);
    const filters = { label: [`${LABELS.INSTANCE}=${id}`, `${DOCKER_LABELS.SCOPE}=${this.opts.network}`, `${LABELS.MANAGED_BY}=${MANAGED_BY_API}`] };
    const labelled = await this.call('list containers', () => this.docker.listContainers({ all: true, filters }));
    const ids = new Set(labelled.map((c) => c.Id));
    const named = await this.inspect(id);
    if (named && named.Config.Labels?.[LABELS.MANAGED_BY] === MANAGED_BY_API) ids.add(named.Id);
    for (const cid of ids) await this.removeContainer(cid);
    const vol = volumeName(id, this.prefix);
    let volumeRemoved = false;
    try {
      await this.docker.getVolume(vol).remove();
      volumeRemoved = true;
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw this.failure(`remove volume ${vol}`, err);
    }
    if (dropDatabase) await this.dropDatabase(id);
    return ids.size > 0 || volumeRemoved;
  }

  /**
   * Makes sure the user-defined bridge network exists (checked on every call, so a network removed behind the
   * provider's back is created again; concurrent calls share one check).
   */
  private ensureNetwork(): Promise<void> {
    this.network ??= (async () => {
      const name = this.opts.network;
      try {
        await this.docker.getNetwork(name).inspect();
        return;
      } catch (err) {
        if (statusCodeOf(err) !== 404) throw this.failure(`inspect network ${name}`, err);
      }
      try {
        await this.docker.createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: true, Labels: { [LABELS.MANAGED_BY]: MANAGED_BY_API } });
        this.log.info({ network: name }, 'created the instances network');
      } catch (err) {
        if (statusCodeOf(err) !== 409) throw this.failure(`create network ${name}`, err);
      }
    })().finally(() => {
      this.network = undefined;
    });
    return this.network;
  }

  /** Drops the instance's database (best effort, ~5 s bound; failures are logged). */
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
  private urlsOf(c: Docker.ContainerInspectInfo): { publicUrl: string; internalUrl: string } | undefined {
    if (this.opts.reach === 'network') {
      const host = c.Name.replace(/^\//, '');
      return { publicUrl: `http://${host}:${PORTS.public.port}`, internalUrl: `http://${host}:${PORTS.internal.port}` };
    }
    const ports = c.NetworkSettings?.Ports ?? {};
    const pub = ports[PUBLIC_PORT]?.[0]?.HostPort;
    const int = ports[INTERNAL_PORT]?.[0]?.HostPort;
    if (!pub || !int) return undefined;
    const h = this.publishedHost.includes(':') ? `[${this.publishedHost}]` : this.publishedHost;
    return { publicUrl: `http://${h}:${pub}`, internalUrl: `http://${h}:${int}` };
  }

  private healthKey(c: Docker.ContainerInspectInfo): string {
    return `${c.Id}@${c.State.StartedAt}`;
  }

  /** Records a /health success of `c`'s current run (forgetting its earlier runs). */
  private markHealthy(c: Docker.ContainerInspectInfo): void {
    for (const k of this.healthy.keys()) if (k.startsWith(`${c.Id}@`)) this.healthy.delete(k);
    this.healthy.set(this.healthKey(c), Date.now());
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
    if (err instanceof ProviderError) return err;
    const code = statusCodeOf(err);
    if (this.closed) return new ProviderError('unavailable', 'the docker provider is closed');
    if (code === undefined) {
      const sys = (err as { code?: string }).code;
      const hint =
        sys === 'EACCES'
          ? 'permission denied: the api user needs access to the Docker socket'
          : 'is dockerd running there, and is DOCKER_HOST right?';
      return new ProviderError('unavailable', `cannot reach the Docker daemon at ${this.opts.dockerHost} (${what}: ${engineMessage(err)}); ${hint}`);
    }
    return new ProviderError('unavailable', `the Docker daemon at ${this.opts.dockerHost} refused to ${what}: ${code} ${engineMessage(err)}`);
  }

  /** Serializes operations on one instance (create/suspend/resume/delete/reconcile, see {@link KeyedLock}). */
  private withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(id, fn);
  }

  /** @throws ProviderError `unavailable` after close(). */
  private assertOpen(): void {
    if (this.closed) throw new ProviderError('unavailable', 'the docker provider is closed');
  }

  /** @throws ProviderError `unavailable` for an id that is not a DNS label (it names containers and volumes). */
  private assertId(id: string): void {
    if (!ID_RE.test(id)) throw new ProviderError('unavailable', `invalid instance id ${JSON.stringify(id)}: lower-case letters, digits and dashes, at most 40`);
  }
}

/** The parts of an inspected container that {@link phaseOf} reads. */
function stateOf(c: Docker.ContainerInspectInfo): ContainerState {
  const log = c.State.Health?.Log ?? [];
  const lastFailed = [...log].reverse().find((l) => l.ExitCode !== 0);
  return {
    status: c.State.Status,
    exitCode: c.State.ExitCode,
    error: c.State.Error ?? '',
    oomKilled: c.State.OOMKilled,
    restartCount: c.RestartCount ?? 0,
    health: c.State.Health?.Status,
    healthOutput: lastFailed?.Output,
  };
}
