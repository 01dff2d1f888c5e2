/**
 * What the docker provider creates per instance, as pure functions: the container's create options (image, env,
 * labels, ports, volume, limits, hardening) with a hash of them, the names of container and volume, the labels, and
 * the derived internal API key.
 */
import { createHash, createHmac } from 'node:crypto';
import type Docker from 'dockerode';
import { LABELS, PORTS } from '@wacloud/crds';
import { ProviderError, type ProvisionRequest } from '../provider.js';
import { instanceMongoUri } from '../shared/database.js';
import { ownershipLabels } from '../shared/labels.js';
import { DEFAULT_INSTANCE_CPU_SHARES, type DockerProviderOptions } from './options.js';

/** Labels of the docker provider (besides {@link LABELS}`.MANAGED_BY`, `.NAME`, `.INSTANCE`, `.OWNER`). */
export const DOCKER_LABELS = {
  ENGINE: 'wacloud.io/engine',
  /** The network name: which deployment of the api the container belongs to. */
  SCOPE: 'wacloud.io/scope',
  /** sha256 of the container's create options (the label itself excluded). */
  SPEC_HASH: 'wacloud.io/spec-hash',
} as const;
/** Where the session volume is mounted (the image's `DATA_DIR` and `VOLUME`). */
export const DATA_DIR = '/data';

/** The instance's public and internal API ports in the container, as Docker names them. */
export const PUBLIC_PORT = `${PORTS.public.port}/tcp`;
export const INTERNAL_PORT = `${PORTS.internal.port}/tcp`;

/** The options of one container as the provider creates it (dockerode's create options). */
export type ContainerSpec = Docker.ContainerCreateOptions & { name: string };

/** Parts of {@link DockerProviderOptions} that shape the container (what {@link buildContainerSpec} reads). */
export type ContainerSpecOptions = Pick<
  DockerProviderOptions,
  | 'image'
  | 'network'
  | 'reach'
  | 'publishIp'
  | 'mongoUri'
  | 'simnetUrl'
  | 'extraHosts'
  | 'memoryBytes'
  | 'shmSizeBytes'
  | 'cpus'
  | 'cpuShares'
  | 'namePrefix'
  | 'env'
  | 'stopTimeoutS'
  | 'seccompProfile'
>;

/** Container name of instance `id`: `<prefix><id>`. */
export function containerName(id: string, prefix = 'wacloud-'): string {
  return `${prefix}${id}`;
}

/**
 * Network of instance `id`: `<scope network>-<id>`, its own bridge (instances never share one, so none can open
 * another's ports).
 */
export function instanceNetworkName(scope: string, id: string): string {
  return `${scope}-${id}`;
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
    ...ownershipLabels(req.owner),
    [LABELS.NAME]: 'wacloud-instance',
    [LABELS.INSTANCE]: req.id,
    [DOCKER_LABELS.ENGINE]: req.engine,
    [DOCKER_LABELS.SCOPE]: scope,
  };
}

/**
 * The create options of instance `req`'s container (pure): image, name, environment (`INSTANCE_ID`, `ENGINE`,
 * `MONGODB_URI` naming the instance's database, `INTERNAL_API_KEY`, `SIMNET_URL` for the simulated engine, ports,
 * `DATA_DIR`), labels incl. {@link DOCKER_LABELS}.SPEC_HASH, exposed ports (published on random host ports bound to
 * `publishIp` for reach `published`), the session volume at {@link DATA_DIR}, the instance's own network
 * ({@link instanceNetworkName}), restart policy
 * `unless-stopped`, memory / shm / CPU limits, extra hosts, no capabilities, `no-new-privileges`, the seccomp profile
 * `seccompProfile` (JSON text; none: the engine's default).
 * @throws ProviderError `unavailable` when the engine is `simulated` and no `simnetUrl` is configured, or `mongoUri` is
 * not a MongoDB URI.
 */
export function buildContainerSpec(req: ProvisionRequest, o: ContainerSpecOptions, internalKey: string): ContainerSpec {
  const prefix = o.namePrefix ?? 'wacloud-';
  if (req.engine === 'simulated' && !o.simnetUrl) {
    throw new ProviderError(
      'unavailable',
      `instance ${req.id} uses the simulated engine but no simulated network is configured (set SIMNET_URL)`,
    );
  }
  let mongoUri: string;
  try {
    mongoUri = instanceMongoUri(o.mongoUri, req.id);
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
  const memory = o.memoryBytes ?? 2 * 1024 * 1024 * 1024;
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
      NetworkMode: instanceNetworkName(o.network, req.id),
      RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
      Mounts: [{ Type: 'volume', Source: volumeName(req.id, prefix), Target: DATA_DIR }],
      ShmSize: o.shmSizeBytes ?? 512 * 1024 * 1024,
      // MemorySwap equal to Memory: no swap beyond the limit (Docker's default lets a container swap as much again).
      ...(memory !== 0 ? { Memory: memory, MemorySwap: memory } : {}),
      ...(o.cpus ? { NanoCpus: Math.round(o.cpus * 1e9) } : {}),
      ...((o.cpuShares ?? DEFAULT_INSTANCE_CPU_SHARES) > 0 ? { CpuShares: o.cpuShares ?? DEFAULT_INSTANCE_CPU_SHARES } : {}),
      ...(o.extraHosts?.length ? { ExtraHosts: [...o.extraHosts] } : {}),
      ...(published ? { PortBindings: { [PUBLIC_PORT]: bind, [INTERNAL_PORT]: bind } } : {}),
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true', ...(o.seccompProfile ? [`seccomp=${o.seccompProfile}`] : [])],
    },
  };
  spec.Labels![DOCKER_LABELS.SPEC_HASH] = createHash('sha256').update(canonicalJson(spec)).digest('hex').slice(0, 32);
  return spec;
}
