/**
 * The servers behind each provider, started once per test file, for the provider contract suite: what a provider
 * needs to run instances here, a way to build providers against it (and against an unreachable one), how to tell one
 * run of an instance from another (to see adoption), and what each provider does differently — declared here, so
 * that the suite checks it instead of users discovering it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { RESTARTED_AT_ANNOTATION } from '@wacloud/crds';
import type { Logger } from 'pino';
import {
  buildWacloudImage,
  dockerTestName,
  freePort,
  startDockerd,
  startMongo,
  testImageTag,
  type ControlPlane,
  type Dockerd,
  type MongoServer,
} from '@wacloud/testenv';
import { DockerProvider } from '../../src/providers/docker/provider.js';
import { KubernetesProvider } from '../../src/providers/kubernetes/provider.js';
import { ProcessProvider } from '../../src/providers/process/provider.js';
import type { InstanceProvider, ProviderPhase } from '../../src/providers/provider.js';
import { createTestNetwork, runSimnetContainer } from './docker-fixtures.js';
import { getJson, kubectlOk, startClusterWithCrd, startOperator, type RunningOperator } from '../../../operator/test/harness.js';
import { startSimnet } from '../../../instance/test/harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..', '..');
const instanceMain = path.join(repoRoot, 'instance', 'dist', 'main.js');

export type ProviderKind = InstanceProvider['kind'];

/**
 * What a provider does differently from the others (the contract leaves these open). Every entry is checked by the
 * contract suite.
 */
export interface DeclaredDifferences {
  /** Phases a created, not suspended instance settles in (the kubernetes test cluster has no kubelet: no pod runs). */
  runningPhases: readonly ProviderPhase[];
  /** What `reconcile` does to an instance the api does not know: `removed` (gone) or `stopped` (data kept). */
  strays: 'removed' | 'stopped';
  /** The phase a stray is left in when it is `stopped`. */
  strayPhase?: ProviderPhase;
  /** Whether `delete` has finished when it resolves (`immediately`) or the backend finishes it later (`eventually`). */
  deleteCompletes: 'immediately' | 'eventually';
  /** `create` with another owner for an existing id: `accepted` (the instance is handed over) or `rejected`. */
  ownerChange: 'accepted' | 'rejected';
  /**
   * Whether `restart` has made a new run when it resolves (`immediately`: a new process or container start) or asks
   * the backend, which makes it later (`eventually`: the operator rolls the pod).
   */
  restartCompletes: 'immediately' | 'eventually';
}

/** The table of declared differences between the providers. */
export const DIFFERENCES: Record<ProviderKind, DeclaredDifferences> = {
  process: {
    runningPhases: ['Running'],
    strays: 'stopped',
    strayPhase: 'Pending',
    deleteCompletes: 'immediately',
    ownerChange: 'accepted',
    restartCompletes: 'immediately',
  },
  docker: {
    runningPhases: ['Running'],
    strays: 'removed',
    deleteCompletes: 'immediately',
    ownerChange: 'accepted',
    restartCompletes: 'immediately',
  },
  kubernetes: {
    runningPhases: ['Pending', 'Provisioning'],
    strays: 'removed',
    deleteCompletes: 'eventually',
    ownerChange: 'rejected',
    restartCompletes: 'eventually',
  },
};

/** One provider's backend, started for a test file. */
export interface Backend {
  kind: ProviderKind;
  /** A new provider against the started backend (the caller closes it). */
  provider(): InstanceProvider;
  /** A new provider whose backend cannot be reached (the caller closes it). */
  unreachable(): Promise<InstanceProvider>;
  /**
   * Tells one run of instance `id` from another (pid, container id and start, resource uid with the pod template's
   * restart request); undefined: none.
   */
  runOf(id: string): Promise<string | undefined>;
  /** Stops the backend and removes what the tests left. */
  stop(): Promise<void>;
}

/** Either a started backend or why it cannot run here (the suite then says so and skips it). */
export type BackendResult = { ok: true; backend: Backend } | { ok: false; reason: string };

/** A process that ran instance `id` under `root` and is alive (not a zombie). */
function pidRun(root: string, id: string): string | undefined {
  try {
    const pid = Number(readFileSync(path.join(root, id, 'pid'), 'utf8').trim());
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return ['Z', 'X'].includes(st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3)) ? undefined : String(pid);
  } catch {
    return undefined;
  }
}

/** The process provider: a MongoDB-wire server, the simulated network, instance processes built from instance/. */
export async function startProcessBackend(logger: Logger): Promise<BackendResult> {
  const mongo = await startMongo();
  const { proc: simnet, url: simnetUrl } = await startSimnet();
  const root = mkdtempSync(path.join(os.tmpdir(), 'wacloud-contract-'));
  const env = { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn', PERSIST_FLUSH_MS: '50' };
  const options = {
    instanceMain,
    dataRoot: root,
    mongoUri: mongo.uri,
    simnetUrl,
    logger,
    env,
    restartBackoff: { initialMs: 200, maxMs: 2_000 },
  };
  return {
    ok: true,
    backend: {
      kind: 'process',
      provider: () => new ProcessProvider(options),
      async unreachable() {
        // The process provider's backend is this machine's file system: a data root that is a file cannot be used.
        const file = path.join(root, 'not-a-directory');
        writeFileSync(file, '');
        return new ProcessProvider({ ...options, dataRoot: file });
      },
      runOf: async (id) => pidRun(root, id),
      async stop() {
        const cleanup = new ProcessProvider(options);
        await cleanup.reconcile([]).catch(() => undefined);
        await cleanup.close();
        rmSync(root, { recursive: true, force: true });
        await simnet.stop();
        await mongo.stop();
      },
    },
  };
}

/**
 * The docker provider: the test run's dockerd, the instance image built from instance/Dockerfile, a network of its
 * own with the simulated network as a container on it, MongoDB on the network's gateway address.
 */
export async function startDockerBackend(logger: Logger): Promise<BackendResult> {
  const started = await startDockerd();
  if (!started.ok) return started;
  const d: Dockerd = started.dockerd;
  const image = testImageTag('instance');
  const net = dockerTestName('provider-contract');
  const simnetName = `${net}-simnet`;
  let mongo: MongoServer | undefined;
  let simnetUrl = '';
  const cleanup = async () => {
    const ids = (await d.docker(['ps', '-aq', '--filter', `label=wacloud.io/scope=${net}`]).catch(() => '')).split('\n').filter(Boolean);
    if (ids.length) await d.docker(['rm', '-f', '-v', ...ids]).catch(() => undefined);
    const vols = (await d.docker(['volume', 'ls', '-q', '--filter', `label=wacloud.io/scope=${net}`]).catch(() => ''))
      .split('\n')
      .filter(Boolean);
    if (vols.length) await d.docker(['volume', 'rm', '-f', ...vols]).catch(() => undefined);
    await d.docker(['rm', '-f', '-v', simnetName]).catch(() => undefined);
    const nets = (await d.docker(['network', 'ls', '-q', '--filter', `label=wacloud.io/scope=${net}`]).catch(() => ''))
      .split('\n')
      .filter(Boolean);
    if (nets.length) await d.docker(['network', 'rm', ...nets]).catch(() => undefined);
    await d.docker(['network', 'rm', net]).catch(() => undefined);
    await mongo?.stop();
    await d.release();
  };
  try {
    await buildWacloudImage(d, 'instance');
    const gateway = await createTestNetwork(d, net, 'provider-contract');
    mongo = await startMongo({ host: gateway });
    simnetUrl = await runSimnetContainer(d, { name: simnetName, image, host: gateway, port: await freePort() });
  } catch (err) {
    await cleanup();
    throw err;
  }
  const options = {
    dockerHost: d.host,
    image,
    network: net,
    reach: 'published' as const,
    mongoUri: mongo.uri,
    simnetUrl,
    keySecret: 'contract-key-secret-0123456789abcdef',
    shmSizeBytes: 64 * 1024 ** 2,
    memoryBytes: 1024 ** 3,
    stopTimeoutS: 2,
    logger,
  };
  return {
    ok: true,
    backend: {
      kind: 'docker',
      provider: () => new DockerProvider(options),
      unreachable: async () =>
        new DockerProvider({ ...options, dockerHost: `tcp://127.0.0.1:${await freePort()}`, requestTimeoutMs: 5_000 }),
      async runOf(id) {
        const out = await d
          .docker(['container', 'inspect', '--format', '{{.Id}}@{{.State.StartedAt}}@{{.State.Running}}', `wacloud-${id}`])
          .catch(() => '');
        const [cid, startedAt, running] = out.trim().split('@');
        return running === 'true' ? `${cid}@${startedAt}` : undefined;
      },
      stop: cleanup,
    },
  };
}

/** The kubernetes provider: the test control plane with the CRD and the operator (no kubelet: no pod ever runs). */
export async function startKubernetesBackend(logger: Logger, namespace: string): Promise<BackendResult> {
  let cp: ControlPlane | undefined;
  let op: RunningOperator | undefined;
  try {
    const started = await startClusterWithCrd();
    cp = started.cp;
    await kubectlOk(cp, ['create', 'namespace', namespace]);
    op = await startOperator(started.operatorKubeconfig, 'op-contract', { WATCH_NAMESPACE: namespace, PROBE_SESSIONS: 'false' });
  } catch (err) {
    await op?.stop();
    await cp?.stop();
    throw err;
  }
  const plane = cp;
  const operator = op;
  return {
    ok: true,
    backend: {
      kind: 'kubernetes',
      provider: () => new KubernetesProvider({ kubeConfig: plane.kubeConfig(), namespace, logger }),
      async unreachable() {
        const kc = new KubeConfig();
        kc.loadFromOptions({
          clusters: [{ name: 'gone', server: `https://127.0.0.1:${await freePort()}`, skipTLSVerify: true }],
          users: [{ name: 'u', token: 't' }],
          contexts: [{ name: 'c', cluster: 'gone', user: 'u' }],
          currentContext: 'c',
        });
        return new KubernetesProvider({ kubeConfig: kc, namespace, logger, requestTimeoutMs: 2_000 });
      },
      async runOf(id) {
        const wai = await getJson(plane, 'wai', id, namespace);
        if (!wai || wai.metadata.deletionTimestamp) return undefined;
        // No kubelet runs pods here: a run is the resource and the pod template the operator made (a restart rolls it).
        const sts = await getJson(plane, 'statefulset', id, namespace);
        return `${wai.metadata.uid}@${sts?.spec.template.metadata.annotations?.[RESTARTED_AT_ANNOTATION] ?? ''}`;
      },
      async stop() {
        await operator.stop();
        await plane.stop();
      },
    },
  };
}
