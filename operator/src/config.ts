/**
 * The operator's configuration: read once from the environment with kit's loader (zod-validated, defaults filled,
 * camelCase keys, frozen). Startup fails fast listing every invalid variable.
 */
// Subpath imports: the operator loads only the config loader and the logger of kit, not its express application.
import { ConfigError, loadConfig, type ConfigOf } from '@wacloud/kit/config';
import { envBoolean, envDurationMs, envLogLevel, envMongoUri, envPort } from '@wacloud/kit/env';
import { z } from 'zod';
import { parseCidr } from './builders/cidr.js';
import { RESERVED_INSTANCE_ENV } from './builders/statefulset.js';

export { ConfigError };

/** A positive duration, ms (also `30s`, `5m`). */
const ms = envDurationMs.pipe(z.number().min(1, 'must be at least 1 ms'));

/** `a, b,,c` → `['a', 'b', 'c']` */
const splitList = (s: string): string[] =>
  s
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);

/** Labels `k=v,k=v` (empty: none), `dflt` when unset. Output: `Record<string, string>`. */
const labels = (dflt: string) =>
  z
    .string()
    .default(dflt)
    .refine((s) => s.split(',').every((p) => !p.trim() || /^[^=\s]+=[^=,]*$/.test(p.trim())), 'must be labels like a=b,c=d')
    .transform((s) => parseSelector(s));

/** CIDR blocks `10.0.0.0/8,fc00::/7` (empty: none), `dflt` when unset. Output: `string[]`. */
const cidrs = (dflt = '') =>
  z
    .string()
    .default(dflt)
    .transform(splitList)
    .pipe(
      z.array(
        z.string().refine((c) => {
          try {
            return Boolean(parseCidr(c));
          } catch {
            return false;
          }
        }, 'must be CIDR blocks like 10.0.0.0/8,fc00::/7'),
      ),
    );

/** JSON of `schema`, `dflt` when unset. */
const json = <T extends z.ZodType>(schema: T, dflt: string, example: string) =>
  z
    .string()
    .default(dflt)
    .transform((s, ctx): z.output<T> => {
      try {
        const r = schema.safeParse(JSON.parse(s));
        if (r.success) return r.data;
        ctx.addIssue({ code: 'custom', message: `${r.error.issues[0]!.path.join('.') || 'value'}: ${r.error.issues[0]!.message}` });
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be JSON, e.g. ${example}` });
      }
      return z.NEVER;
    });

const selector = z.object({ matchLabels: z.record(z.string(), z.string()) }).strict();
/** networking.k8s.io/v1 NetworkPolicyEgressRule (the fields the builder knows). */
const egressRule = z
  .object({
    to: z
      .array(
        z
          .object({
            podSelector: selector.optional(),
            namespaceSelector: selector.optional(),
            ipBlock: z
              .object({ cidr: z.string(), except: z.array(z.string()).optional() })
              .strict()
              .optional(),
          })
          .strict(),
      )
      .optional(),
    ports: z
      .array(
        z
          .object({
            protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP'),
            port: z.union([z.number().int(), z.string()]).optional(),
            endPort: z.number().int().optional(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();

const seccompProfile = z.discriminatedUnion('type', [
  z.object({ type: z.literal('RuntimeDefault') }).strict(),
  z.object({ type: z.literal('Localhost'), localhostProfile: z.string().min(1) }).strict(),
]);

/** A key of a Secret or ConfigMap in the instance's namespace (core/v1 SecretKeySelector, ConfigMapKeySelector). */
const keyRef = z.object({ name: z.string().min(1), key: z.string().min(1), optional: z.boolean().optional() }).strict();
/**
 * core/v1 EnvVar of an instance container: a `value`, or `valueFrom` a Secret's or ConfigMap's key or a field of the
 * pod. Names as Kubernetes validated them before 1.34 (letters, digits, `-`, `.`, `_`; not starting with a digit).
 */
const envVar = z
  .object({
    name: z.string().regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/, 'must be an environment variable name like SEND_RATE_PER_S'),
    value: z.string().optional(),
    valueFrom: z
      .union(
        [
          z.object({ secretKeyRef: keyRef }).strict(),
          z.object({ configMapKeyRef: keyRef }).strict(),
          z.object({ fieldRef: z.object({ fieldPath: z.string().min(1), apiVersion: z.string().optional() }).strict() }).strict(),
        ],
        { error: 'must be {"secretKeyRef":{"name","key"}}, {"configMapKeyRef":{"name","key"}} or {"fieldRef":{"fieldPath"}}' },
      )
      .optional(),
  })
  .strict()
  .refine((e) => e.value === undefined || e.valueFrom === undefined, 'has both value and valueFrom');
/** The extra variables of instance containers: unique names, none the operator sets itself. */
const extraEnv = z.array(envVar).superRefine((vars, ctx) => {
  const seen = new Set<string>();
  vars.forEach((v, i) => {
    if (RESERVED_INSTANCE_ENV.includes(v.name))
      ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `${v.name} is set by the operator itself` });
    else if (seen.has(v.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `${v.name} is named twice` });
    seen.add(v.name);
  });
});

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
  /** Labels (k=v,…) of the namespace of the api and the operator; empty: the instance's own namespace only. */
  API_NAMESPACE_SELECTOR: z.string().default(''),
  /** Labels (k=v,…) of the operator pods, admitted to the instances' public port (session probe); empty: none. */
  OPERATOR_POD_SELECTOR: labels('app.kubernetes.io/name=wacloud-operator'),
  /** Labels (k=v,…) of the metrics scraper's pods (Prometheus), the only pods admitted to the instances' metrics port. */
  METRICS_SCRAPER_POD_SELECTOR: labels('app.kubernetes.io/name=prometheus'),
  /** Labels (k=v,…) of the metrics scraper's namespace; empty: the instance's own. Both empty: the port admits nobody. */
  METRICS_SCRAPER_NAMESPACE_SELECTOR: labels('kubernetes.io/metadata.name=monitoring'),
  /** Restrict the instances' egress to DNS, their MongoDB and the internet on EGRESS_INTERNET_PORTS (and EGRESS_EXTRA_RULES). */
  INSTANCE_EGRESS_POLICY: envBoolean.default(true),
  /** Labels (k=v,…) of the cluster DNS pods. */
  EGRESS_DNS_POD_SELECTOR: labels('k8s-app=kube-dns'),
  /** Labels (k=v,…) of the cluster DNS namespace. */
  EGRESS_DNS_NAMESPACE_SELECTOR: labels('kubernetes.io/metadata.name=kube-system'),
  /** Further DNS addresses (CIDR blocks, e.g. a node-local DNS cache 169.254.20.10/32). */
  EGRESS_DNS_CIDRS: cidrs(),
  /** Labels (k=v,…) of the MongoDB pods of DEFAULT_MONGODB_URI (the bundled server). */
  EGRESS_MONGODB_POD_SELECTOR: labels('app.kubernetes.io/component=mongodb'),
  /** Labels (k=v,…) of the MongoDB pods' namespace; empty: the instance's own. */
  EGRESS_MONGODB_NAMESPACE_SELECTOR: labels(''),
  /** Addresses (CIDR blocks) of an external MongoDB server. */
  EGRESS_MONGODB_CIDRS: cidrs(),
  /** MongoDB's port as the pods see it (after the Service); default: the port of DEFAULT_MONGODB_URI, else 27017. */
  EGRESS_MONGODB_PORT: envPort.optional(),
  /** Blocks the internet rule opens (minus EGRESS_INTERNET_EXCEPT). */
  EGRESS_INTERNET_CIDRS: cidrs('0.0.0.0/0,::/0'),
  /**
   * Blocks never reached by the internet rule: private, carrier-grade NAT and link-local ranges (169.254.169.254, the
   * cloud metadata address, is link-local); add the cluster's pod and service CIDRs and the apiserver's addresses
   * when they are outside these.
   */
  EGRESS_INTERNET_EXCEPT: cidrs('10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,169.254.0.0/16,fc00::/7,fe80::/10'),
  /** TCP ports of the internet rule (WhatsApp Web, webhooks over HTTPS). */
  EGRESS_INTERNET_PORTS: z
    .string()
    .default('443')
    .transform(splitList)
    .pipe(z.array(envPort.pipe(z.number().min(1, 'must be a port 1–65535'))).min(1, 'must name at least one port')),
  /** Further egress rules: JSON array of networking.k8s.io/v1 NetworkPolicyEgressRule (e.g. the simulated network). */
  EGRESS_EXTRA_RULES: json(z.array(egressRule), '[]', '[{"to":[{"ipBlock":{"cidr":"203.0.113.7/32"}}],"ports":[{"port":80}]}]'),
  /** seccompProfile of instance pods (JSON): {"type":"RuntimeDefault"} or {"type":"Localhost","localhostProfile":"profiles/…"}. */
  INSTANCE_SECCOMP_PROFILE: json(seccompProfile, '{"type":"RuntimeDefault"}', '{"type":"RuntimeDefault"}'),
  /** Chromium's sandbox in instances (their WACLOUD_CHROMIUM_SANDBOX): on, off, or auto (try it, else warn and run without). */
  INSTANCE_CHROMIUM_SANDBOX: z.enum(['auto', 'on', 'off']).default('auto'),
  /**
   * Further variables of every instance container (JSON array of core/v1 EnvVar: `value`, or `valueFrom` a Secret's or
   * ConfigMap's key or a pod field), after the operator's own, whose names it refuses (`RESERVED_INSTANCE_ENV`,
   * builders/statefulset.ts); e.g. the instances' webhook delivery log retention or send pacing (instance/README.md).
   * A change rolls every instance pod (their template changes).
   */
  INSTANCE_EXTRA_ENV: json(extraEnv, '[]', '[{"name":"WEBHOOK_LOG_RETENTION_MS","value":"2160h"}]'),
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
  /**
   * Parallel reconciles, a bounded worker pool (`npm run bench -- --reconciles 4,16` compares values). A reconcile
   * mostly waits for the apiserver, so with three requests on a new instance's path 16 workers create 500 instances
   * markedly faster than 4 (1.32× against 1.76× the ideal floor on the 2-CPU machine) at a few MiB more heap.
   */
  MAX_CONCURRENT_RECONCILES: z.coerce.number().int().min(1).max(64).default(16),
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
 * @throws ConfigError listing every invalid variable (and RENEW_DEADLINE_MS not below LEASE_DURATION_MS, and an egress
 *   policy without any MongoDB peer).
 */
export function loadOperatorConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const c = loadConfig(shape, {
    env,
    service: 'operator',
    check: (c) => [
      ...(c.renewDeadlineMs >= c.leaseDurationMs ? ['RENEW_DEADLINE_MS: must be less than LEASE_DURATION_MS'] : []),
      ...(c.instanceEgressPolicy &&
      !Object.keys(c.egressMongodbPodSelector).length &&
      !Object.keys(c.egressMongodbNamespaceSelector).length &&
      !c.egressMongodbCidrs.length
        ? [
            'EGRESS_MONGODB_POD_SELECTOR: set it or EGRESS_MONGODB_CIDRS (the instances could not reach MongoDB), or INSTANCE_EGRESS_POLICY=false',
          ]
        : []),
    ],
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
