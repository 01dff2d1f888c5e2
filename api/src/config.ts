/**
 * The api's configuration: read once from the environment, validated with zod, defaults filled, frozen; startup
 * fails fast listing every invalid variable.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const here = path.dirname(fileURLToPath(import.meta.url));
const int = z.coerce.number().int();
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
/** A byte size like Docker's CLI takes it: `536870912`, `512m`, `2g` (binary units: k, m, g). */
const size = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^\d+(?:\.\d+)?[bkmg]?$/, 'must be bytes, or a size like 512m or 2g')
  .transform((v) => Math.round(Number(v.replace(/[bkmg]$/, '')) * SIZE_UNITS[v.replace(/^[\d.]+/, '')]!));

const envSchema = z.object({
  PORT: int.min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** The api's own database (users, ledger, instances). */
  MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// URI'),
  /** HS256 signing key of access tokens (≥ 32 characters) … */
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** … or a file holding it (a mounted Secret). */
  JWT_SECRET_FILE: z.string().min(1).optional(),
  JWT_ISSUER: z.string().min(1).default('wacloud'),
  /** Access token lifetime, seconds. */
  JWT_TTL_S: int.min(60).max(30 * 86_400).default(12 * 3600),
  /** Monthly price of one instance, minor currency units (cents). Billing rules: docs/product.md. */
  PRICE_MONTHLY_MINOR: int.min(0).default(1500),
  /** ISO 4217 currency code. */
  CURRENCY: z.string().regex(/^[A-Z]{3}$/).default('USD'),
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
  /** process provider: instance entry point. */
  INSTANCE_MAIN: z.string().default(path.resolve(here, '..', '..', 'instance', 'dist', 'main.js')),
  /** process provider: per-instance directories. */
  PROCESS_DATA_ROOT: z.string().default('./.data/instances'),
  /**
   * process/docker provider: MongoDB server of the instance databases, as the instances reach it (default: the api's
   * MONGODB_URI server). The docker provider also drops an instance's database through it on delete (best effort).
   */
  INSTANCE_MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//).optional(),
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
   * docker provider: user-defined bridge network of the instance containers (created when missing). It is also the
   * provider's scope: start-up reconciliation only touches containers and volumes labelled with it.
   */
  DOCKER_NETWORK: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, 'must be a Docker network name')
    .default('wacloud-instances'),
  /**
   * docker provider: how the api reaches instances. `network`: the api is attached to DOCKER_NETWORK and uses
   * `http://<container>:8080`; `published`: the instance ports are published on random ports of the engine's host and
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
  DOCKER_EXTRA_HOSTS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[A-Za-z0-9.-]+:[^\s,]+$/, 'must be name:address'))),
  /** docker provider: memory limit of an instance container (`2g`; `0`: none). */
  DOCKER_MEMORY_LIMIT: size.default(2 * 1024 ** 3),
  /** docker provider: size of an instance container's /dev/shm (Chromium needs far more than Docker's 64m). */
  DOCKER_SHM_SIZE: size.pipe(z.number().min(1024 ** 2, 'must be at least 1m')).default(512 * 1024 ** 2),
  /** docker provider: CPU limit of an instance container, in CPUs (e.g. `1.5`); unset: none. */
  DOCKER_CPUS: z.coerce.number().positive().optional(),
  /** docker provider: prefix of container and volume names (`<prefix><id>`, `<prefix><id>-data`). */
  DOCKER_NAME_PREFIX: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/).default('wacloud-'),
  /**
   * docker provider: secret the instances' internal API keys are derived from (HMAC-SHA256 per instance id; nothing
   * is stored). Default: derived from the JWT secret. Changing it recreates the containers (sessions kept).
   */
  DOCKER_KEY_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** … or a file holding it. */
  DOCKER_KEY_SECRET_FILE: z.string().min(1).optional(),
  /** Login throttling: failed logins per account and per client address within the window. */
  LOGIN_MAX_FAILURES_PER_ACCOUNT: int.min(1).default(10),
  LOGIN_MAX_FAILURES_PER_ADDRESS: int.min(1).default(100),
  LOGIN_WINDOW_S: int.min(1).default(900),
  /** Trust X-Forwarded-For from this many proxies (Ingress). */
  TRUST_PROXY_HOPS: int.min(0).default(0),
  /** Built dashboard to serve at / (embedded mode); empty: none. */
  DASHBOARD_DIR: z.string().default(''),
  /** Origins allowed to call the api from a browser (comma-separated), for a separately hosted dashboard. */
  CORS_ORIGINS: z.string().default(''),
  BODY_LIMIT_BYTES: int.min(1024).default(256 * 1024),
  /** Run the billing job in-process at 00:00 Etc/UTC (process/docker modes; Kubernetes uses the chart's CronJob). */
  BILLING_CRON: bool.optional(),
  /**
   * Re-sync provider state with the database at start (process: adopt surviving instances; docker: start/stop/remove
   * containers to match; kubernetes: apply/delete resources).
   */
  RECONCILE_ON_START: bool.default(true),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type ApiConfig = Readonly<
  Omit<z.infer<typeof envSchema>, 'JWT_SECRET' | 'JWT_SECRET_FILE' | 'DOCKER_KEY_SECRET' | 'DOCKER_KEY_SECRET_FILE'> & {
    jwtSecret: string;
    corsOrigins: string[];
    /** docker provider: DOCKER_KEY_SECRET(_FILE), or undefined (then derived from the JWT secret). Never logged. */
    dockerKeySecret: string | undefined;
  }
>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads a secret from a mounted file (trimmed), at least 32 characters.
 * @throws ConfigError naming `variable` when the file cannot be read or is too short.
 */
function readSecretFile(variable: string, file: string, what: 'key' | 'secret'): string {
  let value: string;
  try {
    value = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`invalid api configuration:\n  ${variable}: cannot read: ${(err as Error).message}`);
  }
  if (value.length < 32) throw new ConfigError(`invalid api configuration:\n  ${variable}: ${what} must be at least 32 characters`);
  return value;
}

/** @throws ConfigError listing every invalid variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const parsed = envSchema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `  ${i.path.join('.') || 'env'}: ${i.message}`);
  if (!env.JWT_SECRET && !env.JWT_SECRET_FILE) problems.push('  JWT_SECRET: set JWT_SECRET or JWT_SECRET_FILE');
  if (env.ENGINE === 'simulated' && ['process', 'docker'].includes(env.PROVIDER ?? 'process') && !env.SIMNET_URL) problems.push('  SIMNET_URL: required when ENGINE=simulated');
  if (!parsed.success || problems.length) throw new ConfigError(`invalid api configuration:\n${problems.join('\n')}`);
  const { JWT_SECRET, JWT_SECRET_FILE, DOCKER_KEY_SECRET, DOCKER_KEY_SECRET_FILE, ...rest } = parsed.data;
  const jwtSecret = JWT_SECRET ?? (JWT_SECRET_FILE ? readSecretFile('JWT_SECRET_FILE', JWT_SECRET_FILE, 'key') : undefined);
  const dockerKeySecret = DOCKER_KEY_SECRET ?? (DOCKER_KEY_SECRET_FILE ? readSecretFile('DOCKER_KEY_SECRET_FILE', DOCKER_KEY_SECRET_FILE, 'secret') : undefined);
  return Object.freeze({
    ...rest,
    jwtSecret: jwtSecret!,
    dockerKeySecret,
    corsOrigins: rest.CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean),
  });
}

/** Names of every environment variable the api reads (for checks of deployment files, e.g. docker-compose.yml). */
export const API_ENV_VARS: readonly string[] = Object.freeze(Object.keys(envSchema.shape));
