/**
 * Kubeconfig loading without @kubernetes/client-node at run time (see transport.ts for why).
 *
 * {@link loadKubeConfig} reads the configuration the way client-node's `loadFromDefault` does (`KUBECONFIG`, else
 * `~/.kube/config`, else the pod's ServiceAccount) for the common cases: bearer tokens (inline or a token file,
 * re-read every minute by the transport as projected ServiceAccount tokens rotate), client certificates, basic auth,
 * CA and `insecure-skip-tls-verify`. Kubeconfigs that need an authenticator implemented only by client-node (exec
 * plugins, OIDC, cloud auth providers) are loaded by client-node itself, imported lazily then. Any object shaped like
 * client-node's `KubeConfig` ({@link KubeConfigLike}) is accepted wherever a configuration is.
 */
import { readFileSync, existsSync } from 'node:fs';
import type https from 'node:https';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

/** The cluster part of a kubeconfig, in client-node's field names. */
export interface KubeClusterLike {
  server: string;
  caData?: string;
  caFile?: string;
  skipTLSVerify?: boolean;
  tlsServerName?: string;
}

/** The user part of a kubeconfig, in client-node's field names (`authProvider`/`exec` need client-node). */
export interface KubeUserLike {
  token?: string;
  /** Not a client-node field: a bearer token file (kubeconfig `tokenFile`, or the in-cluster ServiceAccount token). */
  tokenFile?: string;
  certData?: string;
  certFile?: string;
  keyData?: string;
  keyFile?: string;
  username?: string;
  password?: string;
  authProvider?: { name?: string; config?: Record<string, string> };
  exec?: unknown;
}

/** What the transport needs of a kubeconfig; client-node's `KubeConfig` satisfies it. */
export interface KubeConfigLike {
  getCurrentCluster(): KubeClusterLike | null;
  getCurrentUser(): KubeUserLike | null;
  /** client-node only: sets TLS options and headers (used for authenticators not implemented here). */
  applyToHTTPSOptions?(opts: https.RequestOptions): Promise<void>;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A plain kubeconfig: the current context's cluster and user. */
class PlainKubeConfig implements KubeConfigLike {
  constructor(
    private readonly cluster: KubeClusterLike,
    private readonly user: KubeUserLike,
  ) {}
  getCurrentCluster(): KubeClusterLike {
    return this.cluster;
  }
  getCurrentUser(): KubeUserLike {
    return this.user;
  }
}

/** True when the user authenticates in a way only client-node implements (exec plugins, auth providers). */
export function needsClientNode(u: KubeUserLike): boolean {
  return Boolean(u.exec) || (u.authProvider !== undefined && u.authProvider.name !== 'tokenFile');
}

const abs = (dir: string, file: string | undefined) => (file === undefined || path.isAbsolute(file) ? file : path.join(dir, file));

/**
 * Parses one kubeconfig file (YAML or JSON) into the current context's cluster and user.
 * @returns undefined when the user needs an authenticator only client-node has.
 * @throws Error when the current context, cluster or user is missing.
 */
export function parseKubeConfigFile(file: string, contextName?: string): KubeConfigLike | undefined {
  // js-yaml is client-node's own dependency: resolved from there, so hoisting does not matter.
  const yaml = createRequire(createRequire(import.meta.url).resolve('@kubernetes/client-node'))('js-yaml') as { load(s: string): unknown };
  type Named<T> = Array<{ name: string } & T>;
  const doc = yaml.load(readFileSync(file, 'utf8')) as {
    'current-context'?: string;
    contexts?: Named<{ context: { cluster: string; user: string } }>;
    clusters?: Named<{ cluster: Record<string, unknown> }>;
    users?: Named<{ user?: Record<string, unknown> }>;
  };
  const ctxName = contextName ?? doc['current-context'];
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context;
  if (!ctx) throw new Error(`kubeconfig ${file}: no context ${ctxName ?? '(current-context unset)'}`);
  const c = doc.clusters?.find((x) => x.name === ctx.cluster)?.cluster;
  if (!c) throw new Error(`kubeconfig ${file}: no cluster ${ctx.cluster}`);
  const u = doc.users?.find((x) => x.name === ctx.user)?.user ?? {};
  const dir = path.dirname(file);
  const s = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const cluster: KubeClusterLike = {
    server: String(c.server),
    caData: s(c['certificate-authority-data']),
    caFile: abs(dir, s(c['certificate-authority'])),
    skipTLSVerify: c['insecure-skip-tls-verify'] === true,
    tlsServerName: s(c['tls-server-name']),
  };
  const user: KubeUserLike = {
    token: s(u.token),
    tokenFile: abs(dir, s(u.tokenFile)),
    certData: s(u['client-certificate-data']),
    certFile: abs(dir, s(u['client-certificate'])),
    keyData: s(u['client-key-data']),
    keyFile: abs(dir, s(u['client-key'])),
    username: s(u.username),
    password: s(u.password),
    exec: u.exec,
    authProvider: u['auth-provider'] as KubeUserLike['authProvider'],
  };
  return needsClientNode(user) ? undefined : new PlainKubeConfig(cluster, user);
}

/**
 * The configuration client-node's `loadFromDefault` would pick: the first file of `KUBECONFIG`, else
 * `~/.kube/config`, else the pod's ServiceAccount. Falls back to client-node itself (loaded only then) for exec
 * plugins and auth providers, and for a `KUBECONFIG` listing several files (merged by client-node).
 */
export async function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): Promise<KubeConfigLike> {
  const files = (env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  const home = path.join(os.homedir(), '.kube', 'config');
  const file = files.length === 1 ? files[0] : files.length === 0 && existsSync(home) ? home : undefined;
  if (file) {
    const kc = parseKubeConfigFile(file);
    if (kc) return kc;
  } else if (files.length === 0 && env.KUBERNETES_SERVICE_HOST && existsSync(`${SA_DIR}/token`)) {
    const host = env.KUBERNETES_SERVICE_HOST.includes(':') ? `[${env.KUBERNETES_SERVICE_HOST}]` : env.KUBERNETES_SERVICE_HOST;
    return new PlainKubeConfig(
      { server: `https://${host}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`, caFile: `${SA_DIR}/ca.crt` },
      { tokenFile: `${SA_DIR}/token` },
    );
  }
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc as unknown as KubeConfigLike;
}
