/**
 * The operator's configuration: read once from the environment with kit's loader (zod-validated, defaults filled,
 * camelCase keys, frozen). Startup fails fast listing every invalid variable.
 */
// Subpath imports: the operator loads only the config loader and the logger of kit, not its express application.
import { ConfigError, loadConfig, type ConfigOf } from '@wacloud/kit/config';
import { envBoolean, envDurationMs, envLogLevel, envMongoUri, envPort } from '@wacloud/kit/env';
import { z } from 'zod';

export { ConfigError };

/** A positive duration, ms (also `30s`, `5m`). */
const ms = envDurationMs.pipe(z.number().min(1, 'must be at least 1 ms'));

const shape = {
  /** Namespace to watch; empty for all namespaces. */
  WATCH_NAMESPACE: z.string().default(''),
  /** Namespace of the operator itself (its Lease lives there). */
  POD_NAMESPACE: z.string().min(1).default('wacloud-system'),
  /** This replica's identity in leader election (the pod name in Kubernetes); default `<HOSTNAME>-<pid>`. */
  POD_NAME: z.string().min(1).optional(),
  /** Default instance image when `spec.image` is empty. */
  INSTANCE_IMAGE: z.string().min(1).default('wacloud/instance:latest'),
  /** Image pull policy of instance pods. */
  INSTANCE_IMAGE_PULL_POLICY: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
  /** MongoDB server URI (no database) for instances without `spec.mongodb.secretRef`. */
  DEFAULT_MONGODB_URI: envMongoUri.default('mongodb://wacloud-mongodb:27017/'),
  /**
   * Each instance's own database user, limited to its database, created before its Secret and dropped by the
   * finalizer (instances without `spec.mongodb.secretRef`). `auto` asks DEFAULT_MONGODB_URI's server: MongoDB →
   * `mongodb` (createUser; the URI must carry an admin's credentials); FerretDB → `ferretdb-postgresql` with
   * INSTANCE_DATABASE_USERS_POSTGRES_URL, else `off` (shared credentials, logged as a warning).
   */
  INSTANCE_DATABASE_USERS: z.enum(['auto', 'mongodb', 'ferretdb-postgresql', 'off']).default('auto'),
  /** FerretDB on PostgreSQL: `postgres://` URL of a PostgreSQL superuser of FerretDB's database. */
  INSTANCE_DATABASE_USERS_POSTGRES_URL: z.string().min(1).optional(),
  /** Simulated network URL given to instances with `engine: simulated`. */
  SIMNET_URL: z.url().optional(),
  /** Labels (k=v,k=v) of the api pods, the only pods the NetworkPolicy admits to the internal port. */
  API_POD_SELECTOR: z.string().default('app.kubernetes.io/name=wacloud-api'),
  /** Labels (k=v,…) of the api's namespace; empty: the instance's own namespace only. */
  API_NAMESPACE_SELECTOR: z.string().default(''),
  /** Default requests/limits of the instance container (JSON of a ResourceRequirements). */
  DEFAULT_RESOURCES: z
    .string()
    .default('{"requests":{"cpu":"100m","memory":"512Mi"},"limits":{"memory":"2Gi"}}')
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as { requests?: Record<string, string>; limits?: Record<string, string> };
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON, e.g. {"requests":{"cpu":"100m"}}' });
        return z.NEVER;
      }
    }),
  /** Size of the memory-backed /dev/shm of instance pods (Chromium needs more than the default 64Mi). */
  SHM_SIZE: z.string().default('512Mi'),
  /** Every watched object is re-reconciled at least this often, ms. */
  RESYNC_PERIOD_MS: ms.default(30_000),
  /** Parallel reconciles (`npm run bench -- --reconciles 4,16` compares values; 16 was not reliably faster on 2 CPUs and held more heap). */
  MAX_CONCURRENT_RECONCILES: z.coerce.number().int().min(1).max(64).default(4),
  /** Port of /metrics, /healthz, /readyz. */
  METRICS_PORT: envPort.default(8080),
  /** Leader election on a coordination.k8s.io Lease (off only for single-replica development). */
  LEADER_ELECT: envBoolean.default(true),
  LEASE_NAME: z.string().min(1).default('wacloud-operator'),
  /** controller-runtime's defaults: 15 s lease, 10 s renew deadline, 2 s retry. */
  LEASE_DURATION_MS: ms.default(15_000),
  RENEW_DEADLINE_MS: ms.default(10_000),
  RETRY_PERIOD_MS: ms.default(2_000),
  /** Probe the instance's /health for `status.session` (off in clusters the operator cannot reach pods in). */
  PROBE_SESSIONS: envBoolean.default(true),
  /** Timeout of one session probe, ms. */
  PROBE_TIMEOUT_MS: ms.default(2_000),
  LOG_LEVEL: envLogLevel,
};

/** The validated configuration, camelCase (`watchNamespace`, `leaseDurationMs`, …); `podName` always set. */
export type OperatorConfig = Readonly<Omit<ConfigOf<typeof shape>, 'podName'> & { podName: string }>;

/**
 * Validates `env` (default `process.env`; only the variables above and `HOSTNAME` are read) and returns the frozen
 * configuration.
 * @throws ConfigError listing every invalid variable (and RENEW_DEADLINE_MS not below LEASE_DURATION_MS).
 */
export function loadOperatorConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const c = loadConfig(shape, {
    env,
    service: 'operator',
    check: (c) => (c.renewDeadlineMs >= c.leaseDurationMs ? ['RENEW_DEADLINE_MS: must be less than LEASE_DURATION_MS'] : []),
  });
  return Object.freeze({ ...c, podName: c.podName ?? `${env.HOSTNAME ?? 'operator'}-${process.pid}` });
}

/** `a=b,c=d` → `{a: 'b', c: 'd'}` */
export function parseSelector(s: string): Record<string, string> {
  return Object.fromEntries(
    s
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => {
        const [k, ...v] = p.split('=');
        return [k!.trim(), v.join('=').trim()];
      }),
  );
}
