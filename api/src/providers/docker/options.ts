/**
 * Options of the docker provider (`provider.ts` describes what it does with them).
 */
import type { DatabaseUsers } from '@wacloud/kit/mongo-users';
import type { Logger } from 'pino';

/** How the api reaches instance containers (see `provider.ts`): on the network, or through published ports. */
export type DockerReach = 'network' | 'published';

/** CPU weight of instance containers unless configured (`DOCKER_CPU_SHARES`): a quarter of the api container's 1024. */
export const DEFAULT_INSTANCE_CPU_SHARES = 256;

export interface DockerProviderOptions {
  /**
   * The engine's API: `unix:///var/run/docker.sock` or `tcp://host:port` (TLS with {@link certPath}, or on port 2376).
   */
  dockerHost: string;
  /** Directory holding `ca.pem`, `cert.pem`, `key.pem` for a TLS engine (Docker's `DOCKER_CERT_PATH`). */
  certPath?: string | undefined;
  /** Instance image, e.g. `wacloud/instance:0.1.0`; pulled when the engine does not have it. */
  image: string;
  /**
   * The provider's scope (its label on every object) and the prefix of the instances' networks: each instance gets
   * its own bridge network `<network>-<id>`, created with it and removed with it.
   */
  network: string;
  reach: DockerReach;
  /**
   * Reach `network`: the api's own container on that engine, joined to every instance network. Default: this host's
   * name (a container's default host name is its short id).
   */
  apiContainer?: string | undefined;
  /** `published`: host name or address where the api reaches the published ports. Default `127.0.0.1`. */
  publishedHost?: string | undefined;
  /** `published`: host address the ports are bound to. Default `127.0.0.1` for a loopback `publishedHost`, else `0.0.0.0`. */
  publishIp?: string | undefined;
  /**
   * MongoDB server URI (as the instances reach it) without a database; each instance gets `wacloud_inst_<id>` on it.
   * With {@link databaseUsers}, it carries the admin's credentials and the api must reach it too.
   */
  mongoUri: string;
  /**
   * Gives each instance its own database user (`readWrite` on its database only), ensured before its container is
   * created and dropped with it (closed by the provider's close()); without it, instances get {@link mongoUri} itself
   * naming their database.
   */
  databaseUsers?: DatabaseUsers | undefined;
  /** Simulated network's base URL as the instances reach it (`SIMNET_URL`; required for engine `simulated`). */
  simnetUrl?: string | undefined;
  /** Secret the internal keys are derived from (≥ 32 bytes of entropy; changing it recreates every container). */
  keySecret: string;
  /** `/etc/hosts` entries of the containers, `name:address` (`host.docker.internal:host-gateway`). */
  extraHosts?: string[] | undefined;
  /** Memory limit of a container, bytes, swap included (`MemorySwap` is set to the same); 0: none. Default 2 GiB. */
  memoryBytes?: number | undefined;
  /** Size of a container's `/dev/shm`, bytes (Chromium needs far more than Docker's 64 MiB). Default 512 MiB. */
  shmSizeBytes?: number | undefined;
  /** CPU limit of a container, in CPUs (e.g. 1.5); undefined: none. */
  cpus?: number | undefined;
  /**
   * CPU weight of a container (Docker's `CpuShares`; the engine's default is 1024, which the api's own container has):
   * below it, busy instances cannot starve the api every tenant shares (docs/architecture.md, "CPU priority of
   * instances"). Default {@link DEFAULT_INSTANCE_CPU_SHARES}; 0: the engine's default.
   */
  cpuShares?: number | undefined;
  /** Prefix of container and volume names. Default `wacloud-`. */
  namePrefix?: string | undefined;
  /**
   * Seccomp profile of the containers as JSON text (Docker's `seccomp=<json>`): default the Chromium profile
   * shipped in `instance/seccomp/chromium.json` (`seccomp.ts`), which lets Chromium keep its sandbox; `''`: the
   * engine's default profile (Chromium then runs without its sandbox, see docs/security.md).
   */
  seccompProfile?: string | undefined;
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
