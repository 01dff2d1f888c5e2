/**
 * Operator test harness: a real control plane (etcd, kube-apiserver, kube-controller-manager), the CRD and the
 * operator's RBAC applied, and operator processes (`node <the image's flags> dist/main.js`) that authenticate as the operator's
 * ServiceAccount — so every test runs under exactly the least-privilege role the chart installs.
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

export const operatorDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const RBAC_YAML = path.join(operatorDir, 'deploy', 'rbac.yaml');
export const OPERATOR_NS = 'wacloud-system';
/** The image's node flags (operator/Dockerfile's CMD before the script, e.g. `--no-opt`): tests run the operator as it ships. */
export const IMAGE_NODE_ARGS = (
  JSON.parse(/^CMD (\[.*\])$/m.exec(readFileSync(path.join(operatorDir, 'Dockerfile'), 'utf8'))?.[1] ?? '[]') as string[]
).slice(0, -1);

/** Runs kubectl and throws with its stderr unless it exits 0. */
export async function kubectlOk(cp: ControlPlane, args: string[], stdin?: string): Promise<string> {
  const r = await cp.kubectl(args, stdin === undefined ? undefined : { stdin });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Starts a control plane with the CRD (established) and the operator's namespace and RBAC. */
export async function startClusterWithCrd(): Promise<{ cp: ControlPlane; operatorKubeconfig: string }> {
  const cp = await startControlPlane();
  try {
    await kubectlOk(cp, ['apply', '--server-side', '-f', CRD_YAML_PATH]);
    await waitForCrds(cp, ['whatsappinstances.wacloud.io']);
    await kubectlOk(cp, ['create', 'namespace', OPERATOR_NS]);
    await kubectlOk(cp, ['apply', '-f', RBAC_YAML]);
    const operatorKubeconfig = await cp.serviceAccountKubeconfig(OPERATOR_NS, 'wacloud-operator', { expirationSeconds: 7200 });
    return { cp, operatorKubeconfig };
  } catch (err) {
    await cp.stop();
    throw err;
  }
}

export interface RunningOperator {
  name: string;
  metricsUrl: string;
  proc: ManagedProcess;
  metrics(): Promise<string>;
  /** Value of one sample of `/metrics` (undefined when absent). */
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  stop(): Promise<void>;
}

/** A control plane with the CRD, one namespace and one operator process: the set-up of one test file. */
export interface OperatorCluster {
  cp: ControlPlane;
  /** The operator's kubeconfig (its ServiceAccount under deploy/rbac.yaml). */
  kubeconfig: string;
  op: RunningOperator;
}

/**
 * Starts an {@link OperatorCluster} before the file's tests (namespace `ns`, operator `name` with `env`) and stops it
 * after them; a failing test prints the operator's last output. Its fields are set once `beforeAll` has run.
 */
export function useOperatorCluster(ns: string, name: string, env: NodeJS.ProcessEnv = {}): OperatorCluster {
  const c = {} as OperatorCluster;
  beforeAll(async () => {
    ({ cp: c.cp, operatorKubeconfig: c.kubeconfig } = await startClusterWithCrd());
    await kubectlOk(c.cp, ['create', 'namespace', ns]);
    c.op = await startOperator(c.kubeconfig, name, env);
  }, 120_000);
  afterAll(async () => {
    await c.op?.stop();
    await c.cp?.stop();
  });
  afterEach(() => {
    const s = expect.getState();
    if (s.assertionCalls > 0 && (s as { suppressedErrors?: unknown[] }).suppressedErrors?.length)
      process.stderr.write(c.op?.proc.output().slice(-4000) ?? '');
  });
  return c;
}

/** Starts one operator process as the operator's ServiceAccount. */
export async function startOperator(kubeconfig: string, name: string, env: NodeJS.ProcessEnv = {}): Promise<RunningOperator> {
  const port = await freePort();
  const proc = startProcess({
    command: process.execPath,
    args: [...IMAGE_NODE_ARGS, path.join(operatorDir, 'dist', 'main.js')],
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      POD_NAMESPACE: OPERATOR_NS,
      POD_NAME: name,
      METRICS_PORT: String(port),
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
      INSTANCE_IMAGE: 'wacloud/instance:test',
      SIMNET_URL: 'http://simnet.wacloud-system.svc:7300',
      RESYNC_PERIOD_MS: '3000',
      // No MongoDB behind these tests: instances get no database user of their own (database-users.test.ts does).
      INSTANCE_DATABASE_USERS: 'off',
      ...env,
    },
  });
  const metricsUrl = `http://127.0.0.1:${port}`;
  await eventually(async () => (await fetch(`${metricsUrl}/healthz`).catch(() => undefined))?.ok, 30_000).catch((err: Error) => {
    throw new Error(`operator ${name} did not start: ${err.message}\n${proc.output().slice(-3000)}`);
  });
  const op: RunningOperator = {
    name,
    metricsUrl,
    proc,
    metrics: async () => (await fetch(`${metricsUrl}/metrics`)).text(),
    async metric(metricName, labels = {}) {
      const text = await op.metrics();
      for (const line of text.split('\n')) {
        if (!line.startsWith(metricName)) continue;
        const m = /^([a-zA-Z_:]+)(\{(.*)\})? (\S+)$/.exec(line);
        if (!m || m[1] !== metricName) continue;
        const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
        if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
      }
      return undefined;
    },
    stop: async () => void (await proc.stop()),
  };
  return op;
}

/** `kubectl get -o json` of one object, or undefined when it does not exist. */
export async function getJson<T = any>(cp: ControlPlane, kind: string, name: string, ns: string): Promise<T | undefined> {
  const r = await cp.kubectl(['get', kind, name, '-n', ns, '-o', 'json', '--show-managed-fields']);
  if (r.code !== 0) {
    if (/NotFound|not found/.test(r.stderr)) return undefined;
    throw new Error(r.stderr);
  }
  return JSON.parse(r.stdout) as T;
}
