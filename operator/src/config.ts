/**
 * The operator's configuration: read once from the environment, validated with zod, defaults filled, frozen.
 * Startup fails fast listing every invalid variable.
 */
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const ms = z.coerce.number().int().positive();

const envSchema = z.object({
  /** Namespace to watch; empty for all namespaces. */
  WATCH_NAMESPACE: z.string().default(''),
  /** Namespace of the operator itself (its Lease lives there). */
  POD_NAMESPACE: z.string().min(1).default('wacloud-system'),
  /** This replica's identity in leader election (the pod name in Kubernetes). */
  POD_NAME: z.string().min(1).optional(),
  /** Default instance image when `spec.image` is empty. */
  INSTANCE_IMAGE: z.string().min(1).default('wacloud/instance:latest'),
  /** Image pull policy of instance pods. */
  INSTANCE_IMAGE_PULL_POLICY: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
  /** MongoDB server URI (no database) for instances without `spec.mongodb.secretRef`. */
  DEFAULT_MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// URI').default('mongodb://wacloud-mongodb:27017/'),
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
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Leader election on a coordination.k8s.io Lease (off only for single-replica development). */
  LEADER_ELECT: bool.default(true),
  LEASE_NAME: z.string().min(1).default('wacloud-operator'),
  /** controller-runtime's defaults: 15 s lease, 10 s renew deadline, 2 s retry. */
  LEASE_DURATION_MS: ms.default(15_000),
  RENEW_DEADLINE_MS: ms.default(10_000),
  RETRY_PERIOD_MS: ms.default(2_000),
  /** Probe the instance's /health for `status.session` (off in clusters the operator cannot reach pods in). */
  PROBE_SESSIONS: bool.default(true),
  /** Timeout of one session probe, ms. */
  PROBE_TIMEOUT_MS: ms.default(2_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type OperatorConfig = Readonly<z.infer<typeof envSchema> & { POD_NAME: string }>;

/** Thrown by {@link loadConfig} with one line per invalid variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Validates `env` (default `process.env`) and returns the frozen configuration.
 * @throws ConfigError listing every invalid variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || 'env'}: ${i.message}`);
    throw new ConfigError(`invalid operator configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  if (c.RENEW_DEADLINE_MS >= c.LEASE_DURATION_MS) throw new ConfigError('invalid operator configuration:\n  RENEW_DEADLINE_MS: must be less than LEASE_DURATION_MS');
  return Object.freeze({ ...c, POD_NAME: c.POD_NAME ?? `${env.HOSTNAME ?? 'operator'}-${process.pid}` });
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
