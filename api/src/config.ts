/**
 * The api's configuration: read once from the environment with kit's `loadConfig` (validated with zod, defaults
 * filled, secrets from `<NAME>_FILE`, camelCase and frozen: `config.mongodbUri` for `MONGODB_URI`); startup fails fast
 * listing every invalid variable.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  configVariables,
  envBoolean,
  envDurationMs,
  envList,
  envLogLevel,
  envMongoUri,
  envPort,
  envSizeBytes,
  loadConfig as loadKitConfig,
  type ConfigOf,
} from '@wacloud/kit';
import { z } from 'zod';

export { ConfigError };

const here = path.dirname(fileURLToPath(import.meta.url));
const int = z.coerce.number().int();

const shape = {
  PORT: envPort.default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** The api's own database (users, ledger, instances). */
  MONGODB_URI: envMongoUri,
  /** HS256 signing key of access tokens (≥ 32 characters), or JWT_SECRET_FILE: a file holding it (a mounted Secret). */
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters'),
  JWT_ISSUER: z.string().min(1).default('wacloud'),
  /** Access token lifetime, seconds. */
  JWT_TTL_S: int
    .min(60)
    .max(30 * 86_400)
    .default(12 * 3600),
  /** How long an invitation to an organisation can be accepted, seconds (default 7 days). */
  INVITATION_TTL_S: int
    .min(1)
    .max(90 * 86_400)
    .default(7 * 86_400),
  /** Monthly price of one instance, minor currency units (cents). Billing rules: docs/product.md. */
  PRICE_MONTHLY_MINOR: int.min(0).default(1500),
  /** ISO 4217 currency code. */
  CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .default('USD'),
  /** Largest single (emulated) deposit, minor units. */
  MAX_DEPOSIT_MINOR: int.min(1).default(100_000_00),
  /**
   * Where instances run: `process` (child processes of the api; the embedded default), `kubernetes` (WhatsAppInstance
   * resources for the operator) or `docker` (one container per instance on a Docker engine; the DOCKER_* variables).
   */
  PROVIDER: z.enum(['process', 'kubernetes', 'docker']).default('process'),
  /** Engine of new instances. */
  ENGINE: z.enum(['webjs', 'simulated']).default('simulated'),
  /** Simulated WhatsApp network (ENGINE=simulated). */
  SIMNET_URL: z.url().optional(),
  /**
   * process/docker provider: CIDRs the instances' webhook SSRF guard opens (their `WEBHOOK_ALLOW_CIDRS`),
   * comma-separated — e.g. `127.0.0.0/8` for a receiver on this machine. Empty: public addresses only.
   */
  WEBHOOK_ALLOW_CIDRS: envList,
  /**
   * process/docker provider: how long the instances keep delivered events in their webhook delivery log, ms or a
   * duration (`720h`; their `WEBHOOK_LOG_RETENTION_MS`; `0`: for ever). Unset: the instance's default, 30 days.
   */
  WEBHOOK_LOG_RETENTION_MS: envDurationMs.optional(),
  /**
   * process/docker provider: how long the instances keep failed events (dead letters the tenant may replay) in their
   * delivery log after the last attempt, ms or a duration (`2160h`; their `WEBHOOK_FAILED_RETENTION_MS`; `0`: for
   * ever). Unset: the instance's default, 90 days.
   */
  WEBHOOK_FAILED_RETENTION_MS: envDurationMs.optional(),
  /** process provider: instance entry point. */
  INSTANCE_MAIN: z.string().default(path.resolve(here, '..', '..', 'instance', 'dist', 'main.js')),
  /** process provider: per-instance directories. */
  PROCESS_DATA_ROOT: z.string().default('./.data/instances'),
  /**
   * process provider: nice value (0–19) instance processes and their browsers run at, below the api's CPU priority so
   * that busy instances cannot starve the api every tenant shares (docs/architecture.md, "CPU priority of instances").
   * 0: as spawned.
   */
  PROCESS_INSTANCE_NICE: int.min(0).max(19).default(10),
  /**
   * process provider: memory limit of an instance, its browsers and swap included (`2g`; `0`: none), through a memory
   * cgroup of its own where the cgroup file system is writable (docs/architecture.md, "Memory limits of instances").
   */
  PROCESS_MEMORY_LIMIT: z
    .literal('0')
    .transform(() => 0)
    .or(envSizeBytes)
    .default(2 * 1024 ** 3),
  /** process provider: directory under which the instances' memory cgroups are made (default: `wacloud-instances` under the api's own cgroup). */
  PROCESS_CGROUP_PARENT: z.string().optional(),
  /**
   * process/docker provider: MongoDB server of the instance databases, as the instances reach it (default: the api's
   * MONGODB_URI server). The docker provider also drops an instance's database through it on delete (best effort).
   */
  INSTANCE_MONGODB_URI: envMongoUri.optional(),
  /**
   * process/docker provider: each instance's own database user, limited to its database (docs/database-users.md).
   * `auto` asks the server: MongoDB → `mongodb` (createUser; the URI above must carry an admin's credentials);
   * FerretDB → `ferretdb-postgresql` with INSTANCE_DATABASE_USERS_POSTGRES_URL, else `off` (shared credentials,
   * logged as a warning at start).
   */
  INSTANCE_DATABASE_USERS: z.enum(['auto', 'mongodb', 'ferretdb-postgresql', 'off']).default('auto'),
  /** FerretDB on PostgreSQL: `postgres://` URL of a PostgreSQL superuser of FerretDB's database (or `_FILE`). */
  INSTANCE_DATABASE_USERS_POSTGRES_URL: z.string().min(1).optional(),
  /** kubernetes provider: namespace of WhatsAppInstance resources (credentials: KUBECONFIG or in-cluster). */
  K8S_NAMESPACE: z.string().min(1).default('wacloud-instances'),
  /**
   * docker provider: the Docker engine API — `unix:///var/run/docker.sock` (the host's engine, socket mounted into
   * the api's container) or `tcp://host:2375` (e.g. a `docker:dind` service: `tcp://dind:2375`); TLS with
   * DOCKER_CERT_PATH (or on port 2376).
   */
  DOCKER_HOST: z
    .string()
    .regex(/^(unix:\/\/\/.+|tcp:\/\/[^/]+:\d{1,5}\/?)$/, 'must be unix:///path/to/docker.sock or tcp://host:port')
    .default('unix:///var/run/docker.sock'),
  /** docker provider: directory with ca.pem, cert.pem and key.pem for a TLS engine. */
  DOCKER_CERT_PATH: z.string().min(1).optional(),
  /** docker provider: the instance image (pulled when the engine lacks it). Default `wacloud/instance:<api version>`. */
  DOCKER_INSTANCE_IMAGE: z.string().min(1).optional(),
  /**
   * docker provider: the provider's scope (start-up reconciliation only touches containers, volumes and networks
   * labelled with it) and the prefix of the instances' networks: each instance container gets a bridge network of
   * its own, `<DOCKER_NETWORK>-<id>`, so no instance reaches another.
   */
  DOCKER_NETWORK: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, 'must be a Docker network name')
    .default('wacloud-instances'),
  /**
   * docker provider: how the api reaches instances. `network`: the api (a container on that engine) joins each
   * instance's network and uses `http://<container>:8080`; `published`: the instance ports are published on random ports of the engine's host and
   * reached at DOCKER_PUBLISHED_HOST (the api is not on that engine's networks, e.g. a dind daemon).
   */
  DOCKER_REACH: z.enum(['network', 'published']).default('network'),
  /** docker provider, reach `published`: host name/address of the engine's host as the api reaches it (`dind`). */
  DOCKER_PUBLISHED_HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * docker provider, reach `published`: address the ports are bound to on the engine's host. Default `127.0.0.1`
   * when DOCKER_PUBLISHED_HOST is loopback, else `0.0.0.0`.
   */
  DOCKER_PUBLISH_IP: z.union([z.ipv4(), z.ipv6()]).optional(),
  /** docker provider: extra /etc/hosts entries of instances, comma-separated `name:address` (`host.docker.internal:host-gateway`). */
  DOCKER_EXTRA_HOSTS: envList.pipe(z.array(z.string().regex(/^[A-Za-z0-9.-]+:[^\s,]+$/, 'must be name:address'))),
  /** docker provider: memory limit of an instance container, swap included (`2g`; `0`: none). */
  DOCKER_MEMORY_LIMIT: z
    .literal('0')
    .transform(() => 0)
    .or(envSizeBytes)
    .default(2 * 1024 ** 3),
  /** docker provider: size of an instance container's /dev/shm (Chromium needs far more than Docker's 64m). */
  DOCKER_SHM_SIZE: envSizeBytes.pipe(z.number().min(1024 ** 2, 'must be at least 1m')).default(512 * 1024 ** 2),
  /** docker provider: CPU limit of an instance container, in CPUs (e.g. `1.5`); unset: none. */
  DOCKER_CPUS: z.coerce.number().positive().optional(),
  /**
   * docker provider: CPU weight of an instance container (Docker's `CpuShares`, 2–262144; the api's own container has
   * the engine's default 1024), so that busy instances cannot starve the api (docs/architecture.md, "CPU priority of
   * instances"). 0: the engine's default.
   */
  DOCKER_CPU_SHARES: int
    .min(0)
    .max(262_144)
    .refine((v) => v !== 1, 'must be 0 or at least 2')
    .default(256),
  /** docker provider: prefix of container and volume names (`<prefix><id>`, `<prefix><id>-data`). */
  DOCKER_NAME_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/)
    .default('wacloud-'),
  /**
   * docker provider: secret the instances' internal API keys are derived from (HMAC-SHA256 per instance id; nothing
   * is stored), or DOCKER_KEY_SECRET_FILE: a file holding it. Default: derived from the JWT secret. Changing it
   * recreates the containers (sessions kept). Never logged.
   */
  DOCKER_KEY_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /**
   * Login throttling (shared by replicas through the database; every attempt counts until it succeeds): attempts per
   * (account, client address) before a progressive delay (LOGIN_BASE_DELAY_S, doubling per attempt, at most
   * LOGIN_MAX_DELAY_S); attempts per account over all addresses before the same delay; attempts per client address
   * (hard); each attempt counts for LOGIN_WINDOW_S seconds.
   */
  LOGIN_FREE_ATTEMPTS_PER_PAIR: int.min(1).default(5),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: int.min(1).default(50),
  LOGIN_MAX_FAILURES_PER_ADDRESS: int.min(1).default(100),
  LOGIN_WINDOW_S: int.min(1).default(900),
  LOGIN_BASE_DELAY_S: int.min(1).default(1),
  LOGIN_MAX_DELAY_S: int.min(1).default(300),
  /** Registrations per client address within REGISTER_WINDOW_S seconds (then 429 with Retry-After). */
  REGISTER_MAX_PER_ADDRESS: int.min(1).default(20),
  REGISTER_WINDOW_S: int.min(1).default(3600),
  /**
   * Gateway request budgets, shared by every api replica through the database: requests per client address (counted
   * before authentication) and per tenant (once authenticated) in each window of GATEWAY_RATE_WINDOW_S seconds;
   * beyond, 429 `rate_limited` with Retry-After.
   */
  GATEWAY_RATE_PER_ADDRESS: int.min(1).default(1200),
  GATEWAY_RATE_PER_TENANT: int.min(1).default(6000),
  GATEWAY_RATE_WINDOW_S: int.min(1).max(3600).default(60),
  /** Open gateway event streams (WebSockets) per tenant on one api process; one more is closed with 4429. */
  GATEWAY_MAX_STREAMS_PER_USER: int.min(1).default(20),
  /**
   * Longest wait for an instance's answer through the gateway, ms: for its headers and for each part of its body
   * (above an instance's slowest route, a login while WhatsApp Web loads); beyond, 504 `upstream_timeout`.
   */
  GATEWAY_UPSTREAM_TIMEOUT_MS: int.min(1000).default(300_000),
  /**
   * Connections one api process holds to one instance at a time; further gateway requests to that instance wait for a
   * free one, in arrival order (an instance's CPU per request grows with the requests it works on at once:
   * BENCHMARKS.md). Requests that wait on WhatsApp or on their client go around it (api/src/gateway/connection-cap.ts).
   */
  GATEWAY_UPSTREAM_CONNECTIONS: int.min(1).max(1024).default(16),
  /**
   * Longest wait of a gateway request for one of those connections, ms; beyond it 503 `instance_busy` with
   * Retry-After, the request never sent (api/src/gateway.ts, `GatewayOptions.queueTimeoutMs`).
   */
  GATEWAY_QUEUE_TIMEOUT_MS: int.min(100).max(600_000).default(20_000),
  /**
   * Port of the api's Prometheus `/metrics`, served on its own listener (never on PORT, which is public); unset: no
   * metrics endpoint. `0`: any free port (tests).
   */
  METRICS_PORT: envPort.optional(),
  /** Address the metrics listener binds to. */
  METRICS_HOST: z.string().min(1).default('0.0.0.0'),
  /**
   * How long an instance's endpoints (from the provider: an apiserver GET, a Docker inspect, a health probe) are
   * reused, ms; and a "not found" / "not ready yet" answer (0: not at all). Changes made through this api replica drop
   * them at once. Found endpoints expired less than ENDPOINTS_TTL_MS ago still answer while one lookup refreshes them
   * (gateway/endpoint-cache.ts).
   */
  ENDPOINTS_TTL_MS: int.min(0).default(30_000),
  ENDPOINTS_NEGATIVE_TTL_MS: int.min(0).default(2_000),
  /**
   * Longest wait of a request (token API, gateway, event stream) for an instance that is starting — just created,
   * started or resumed — before answering 503 `instance_unavailable`, ms (the provider is polled meanwhile; 0: no wait).
   */
  INSTANCE_READY_WAIT_MS: int.min(0).max(600_000).default(60_000),
  /**
   * How long an instance-token request through the gateway reuses the instance's record (suspended, stopped, deleted)
   * instead of reading it per request, ms (0: read each time). A stop, start or deletion through the api applies at
   * once; a suspension by a billing run in another process within this time. Past half this time a request starts
   * one read of the record in the background and is answered from the record meanwhile; requests arriving while the
   * record is being read share that read.
   */
  INSTANCE_STATE_TTL_MS: int.min(0).max(60_000).default(1_000),
  /** Lifetime of a browser's single-use WebSocket ticket (`POST /v1/instances/:id/ws-ticket`), seconds. */
  WS_TICKET_TTL_S: int.min(5).max(600).default(30),
  /**
   * Base URL instances reach this api at, for their event subscription (`<url>/internal/v1/instance-events`;
   * docs/team.md). Default with the process provider: `http://127.0.0.1:<PORT>`; the chart sets the api Service's
   * URL, docker-compose `http://api:3000`. Unset with another provider: instances report no events (a warning).
   */
  API_EVENTS_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** How long live events stay resumable with `lastEventId` (`GET /v1/live`), ms (default 15 min). */
  LIVE_RETENTION_MS: int.min(1000).default(15 * 60_000),
  /** How often each replica looks for events other replicas appended to the live log, ms. */
  LIVE_POLL_MS: int.min(10).max(10_000).default(250),
  /** How often open live sockets re-check their session and rights, ms (member changes on this replica: at once). */
  LIVE_CHECK_MS: int.min(100).default(5_000),
  /** How often expired sessions and throttle points are removed from the database, seconds. */
  SWEEP_INTERVAL_S: int.min(1).default(600),
  /** How often snoozed conversations whose time has come are woken (status back to open), ms. */
  INBOX_WAKE_INTERVAL_MS: int.min(100).default(30_000),
  /** Trust X-Forwarded-For from this many proxies (Ingress). */
  TRUST_PROXY_HOPS: int.min(0).default(0),
  /** Built dashboard to serve at / (embedded mode); empty: none. */
  DASHBOARD_DIR: z.string().default(''),
  /** Origins allowed to call the api from a browser (comma-separated), for a separately hosted dashboard. */
  CORS_ORIGINS: envList,
  /** How often every running instance's WhatsApp contacts are pulled into the contact book, seconds (0: never). */
  CONTACTS_SYNC_INTERVAL_S: int.min(0).default(600),
  /**
   * Largest request body, bytes (also `256k`): the api's own routes, and the body the gateway holds for its own
   * credential (413 `payload_too_large` beyond it; with the instance's token a larger one streams through).
   */
  BODY_LIMIT_BYTES: envSizeBytes.pipe(z.number().min(1024, 'must be at least 1k')).default(256 * 1024),
  /** Run the billing job in-process at 00:00 Etc/UTC (process/docker modes; Kubernetes uses the chart's CronJob). */
  BILLING_CRON: envBoolean.optional(),
  /**
   * Re-sync provider state with the database at start (process: adopt surviving instances; docker: start/stop/remove
   * containers to match; kubernetes: apply/delete resources).
   */
  RECONCILE_ON_START: envBoolean.default(true),
  LOG_LEVEL: envLogLevel,
};

/** Variables whose value may come from a file named by `<NAME>_FILE` (a mounted Secret). */
const SECRET_FILES = ['JWT_SECRET', 'DOCKER_KEY_SECRET', 'INSTANCE_DATABASE_USERS_POSTGRES_URL'] as const;

/** The api's configuration: every variable of {@link shape} in camelCase (`MONGODB_URI` → `mongodbUri`), frozen. */
export type ApiConfig = ConfigOf<typeof shape>;

/**
 * Cross-field rules: the process and docker providers run instances of the simulated engine only with a simulated
 * network (checked on the parsed values, so ENGINE's default counts too).
 */
function check(c: ApiConfig): string[] {
  return c.engine === 'simulated' && c.provider !== 'kubernetes' && !c.simnetUrl
    ? ['SIMNET_URL: required when ENGINE=simulated (the default) with the process or docker provider']
    : [];
}

/**
 * Reads the configuration from `env` (JWT_SECRET or JWT_SECRET_FILE required).
 * @throws ConfigError listing every invalid variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  return loadKitConfig(shape, { env, service: 'api', secretFiles: SECRET_FILES, check });
}

/** Names of every environment variable the api reads (for checks of deployment files, e.g. docker-compose.yml). */
export const API_ENV_VARS: readonly string[] = configVariables(shape, SECRET_FILES);
