/**
 * The benchmarks' cluster: a real control plane from @wacloud/testenv (etcd + kube-apiserver, no
 * kube-controller-manager: nothing here needs pods, garbage collection or the StatefulSet controller), the CRD
 * (established), the operator's namespace and least-privilege RBAC (deploy/rbac.yaml), and the operator as a child
 * process (`node dist/main.js`) authenticated as its ServiceAccount — as in test/harness.ts.
 *
 * testenv's apiserver has a /24 Service range (`--service-cluster-ip-range 10.0.0.0/24`: 253 ClusterIPs). Instances'
 * Services are headless now (no ClusterIP), but the cluster is still given a second ServiceCIDR
 * ({@link EXTRA_SERVICE_CIDR}, networking.k8s.io/v1) so that builds with ClusterIP Services (A/B runs through
 * BENCH_OPERATOR_MAIN) fit; its Ready condition, normally set by kube-controller-manager, is set here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRD_YAML_PATH } from '@wacloud/crds';
import {
  eventually,
  freePort,
  startControlPlane,
  startProcess,
  waitForCrds,
  type ControlPlane,
  type ManagedProcess,
} from '@wacloud/testenv';
import { BenchApi } from './api.js';

/** The operator workspace (three levels above bench/dist/bench, where tsconfig.bench.json puts this file). */
export const operatorDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const RBAC_YAML = path.join(operatorDir, 'deploy', 'rbac.yaml');
export const OPERATOR_NS = 'wacloud-system';
/** The operator entry point run by the benchmarks: `BENCH_OPERATOR_MAIN` (e.g. another build, for A/B runs), else dist/main.js. */
export const OPERATOR_MAIN = process.env.BENCH_OPERATOR_MAIN || path.join(operatorDir, 'dist', 'main.js');
const DOCKERFILE = readFileSync(path.join(operatorDir, 'Dockerfile'), 'utf8');
/**
 * The operator process' NODE_OPTIONS: `BENCH_OPERATOR_NODE_OPTIONS` if set, else the image's (the `NODE_OPTIONS=` of
 * operator/Dockerfile's ENV), so the operator is measured as it ships.
 */
export const OPERATOR_NODE_OPTIONS: string =
  process.env.BENCH_OPERATOR_NODE_OPTIONS ?? /NODE_OPTIONS="([^"]*)"/.exec(DOCKERFILE)?.[1] ?? '';
/**
 * The operator process' MALLOC_ARENA_MAX (glibc's limit on malloc arenas): `BENCH_OPERATOR_MALLOC_ARENA_MAX` if set,
 * else the image's (`MALLOC_ARENA_MAX=` of operator/Dockerfile's ENV), else unset.
 */
export const OPERATOR_MALLOC_ARENA_MAX: string | undefined =
  process.env.BENCH_OPERATOR_MALLOC_ARENA_MAX ?? /MALLOC_ARENA_MAX=(\d+)/.exec(DOCKERFILE)?.[1];
/**
 * The operator process' node command-line flags (V8 flags that NODE_OPTIONS refuses, e.g. `--optimize-for-size`):
 * `BENCH_OPERATOR_NODE_ARGS` (space-separated) if set, else the flags before the script in operator/Dockerfile's
 * `CMD [...]` (the image's ENTRYPOINT is node itself).
 */
export const OPERATOR_NODE_ARGS: string[] = (
  process.env.BENCH_OPERATOR_NODE_ARGS?.split(' ') ?? (JSON.parse(/^CMD (\[.*\])$/m.exec(DOCKERFILE)?.[1] ?? '[]') as string[]).slice(0, -1)
).filter((a) => a !== '');
/** Extra Service range for the benchmarks' ClusterIPs (65k addresses). */
export const EXTRA_SERVICE_CIDR = '10.96.0.0/16';
/** What {@link startBenchCluster} starts, for the report. */
export const CONTROL_PLANE_DESCRIPTION = `testenv startControlPlane({ controllerManager: false }): etcd + kube-apiserver, no controller-manager; extra ServiceCIDR ${EXTRA_SERVICE_CIDR}`;

export interface BenchCluster {
  cp: ControlPlane;
  /** Admin client (keep-alive connections). */
  api: BenchApi;
  /** Kubeconfig file of the operator's ServiceAccount. */
  operatorKubeconfig: string;
  /** Stops the client and the control plane. */
  stop(): Promise<void>;
}

async function kubectlOk(cp: ControlPlane, args: string[]): Promise<void> {
  const r = await cp.kubectl(args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
}

/** Starts a control plane with the CRD, the operator's namespace, RBAC and ServiceAccount kubeconfig. */
export async function startBenchCluster(): Promise<BenchCluster> {
  const cp = await startControlPlane({ controllerManager: false });
  let api: BenchApi | undefined;
  try {
    await kubectlOk(cp, ['apply', '--server-side', '-f', CRD_YAML_PATH]);
    await waitForCrds(cp, ['whatsappinstances.wacloud.io']);
    await kubectlOk(cp, ['create', 'namespace', OPERATOR_NS]);
    await kubectlOk(cp, ['apply', '-f', RBAC_YAML]);
    const operatorKubeconfig = await cp.serviceAccountKubeconfig(OPERATOR_NS, 'wacloud-operator', { expirationSeconds: 7200 });
    api = BenchApi.fromKubeConfig(cp.kubeConfig());
    await addServiceCidr(api, 'bench-services', EXTRA_SERVICE_CIDR);
    const client = api;
    return {
      cp,
      api,
      operatorKubeconfig,
      async stop() {
        await client.close();
        await cp.stop();
      },
    };
  } catch (err) {
    await api?.close();
    await cp.stop();
    throw err;
  }
}

/** Creates ServiceCIDR `name` for `cidr` and marks it Ready (what kube-controller-manager's servicecidrs controller does). */
async function addServiceCidr(api: BenchApi, name: string, cidr: string): Promise<void> {
  const base = '/apis/networking.k8s.io/v1/servicecidrs';
  await api.create(base, { apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', metadata: { name }, spec: { cidrs: [cidr] } });
  const lastTransitionTime = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await api.request('PATCH', `${base}/${name}/status`, {
    contentType: 'application/merge-patch+json',
    body: {
      status: {
        conditions: [
          { type: 'Ready', status: 'True', reason: 'Benchmark', message: 'Marked ready by the operator benchmarks', lastTransitionTime },
        ],
      },
    },
  });
}

export interface OperatorProcess {
  proc: ManagedProcess;
  pid: number;
  /** `http://127.0.0.1:<METRICS_PORT>` */
  metricsUrl: string;
  /** The environment it was started with (for building the same manifests it builds). */
  env: NodeJS.ProcessEnv;
  /** The Prometheus text of /metrics. */
  metrics(): Promise<string>;
  /** SIGTERM (the operator releases its Lease and exits 0); resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `node dist/main.js` ({@link OPERATOR_MAIN}) as the operator's ServiceAccount with `LOG_LEVEL=warn` and `env` on top of this
 * process' environment; resolves once /readyz answers 200 (leader, informers synced).
 * @throws Error with the operator's output when it is not ready within `readyTimeoutMs` ms.
 */
export async function startOperatorProcess(
  kubeconfig: string,
  env: NodeJS.ProcessEnv = {},
  readyTimeoutMs = 60_000,
): Promise<OperatorProcess> {
  const port = await freePort();
  const fullEnv: NodeJS.ProcessEnv = {
    ...process.env,
    KUBECONFIG: kubeconfig,
    POD_NAMESPACE: OPERATOR_NS,
    POD_NAME: 'bench-operator',
    METRICS_PORT: String(port),
    LOG_LEVEL: 'warn',
    // No MongoDB behind the benchmarks: instances get no database user of their own.
    INSTANCE_DATABASE_USERS: 'off',
    // V8 flags for the operator only (the image's by default), not for the load generator.
    NODE_OPTIONS: OPERATOR_NODE_OPTIONS,
    ...(OPERATOR_MALLOC_ARENA_MAX ? { MALLOC_ARENA_MAX: OPERATOR_MALLOC_ARENA_MAX } : {}),
    ...env,
  };
  const proc = startProcess({ command: process.execPath, args: [...OPERATOR_NODE_ARGS, OPERATOR_MAIN], env: fullEnv });
  const metricsUrl = `http://127.0.0.1:${port}`;
  try {
    await eventually(async () => (await fetch(`${metricsUrl}/readyz`).catch(() => undefined))?.ok, readyTimeoutMs, 200);
  } catch (err) {
    await proc.stop();
    throw new Error(`operator not ready within ${readyTimeoutMs} ms: ${(err as Error).message}\n${proc.output().slice(-3000)}`);
  }
  return {
    proc,
    pid: proc.pid,
    metricsUrl,
    env: fullEnv,
    metrics: async () => (await fetch(`${metricsUrl}/metrics`)).text(),
    stop: () => proc.stop(15_000),
  };
}
