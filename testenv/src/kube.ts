/**
 * A real Kubernetes control plane for tests, envtest style (tools/kube/README.md): etcd + kube-apiserver +
 * kube-controller-manager on loopback with random ports, from `.tools/bin` (`make tools`). No kubelet or scheduler:
 * Pods stay `Pending`, but the API, RBAC, admission and the controllers (garbage collection of ownerReferences,
 * ServiceAccounts, StatefulSets, …) are the real ones.
 *
 * Authentication is token based, so no openssl is needed: the admin is a static token in group `system:masters`
 * (`--token-auth-file`), the apiserver self-signs its serving certificate into `--cert-dir` (that `apiserver.crt`,
 * cert + its CA, is the clients' CA), and ServiceAccount tokens are signed with an RSA key pair from Node's crypto.
 *
 * With `KUBECONFIG` set and `WACLOUD_TEST_EXTERNAL_CLUSTER=1`, the cluster of that kubeconfig is used instead and
 * nothing is started.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type * as ClientNodeModule from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { findBinary } from './paths.js';
import { freePort } from './ports.js';
import { startProcess, type ManagedProcess } from './process.js';

export interface StartControlPlaneOptions {
  /** Also start kube-controller-manager (garbage collector, ServiceAccount controller, …). Default true. */
  controllerManager?: boolean;
  /** Seconds to wait for each component to become healthy. Default 60. */
  startTimeoutSeconds?: number;
  /**
   * Address the apiserver binds to and advertises (the `kubernetes` Service's endpoint). Default 127.0.0.1; a test
   * cluster's node (testenv/src/cluster.ts) gives the host end of its veth pair so that pods reach the apiserver.
   */
  bindAddress?: string;
  /** Extra kube-apiserver flags, after the defaults (e.g. a node's `--kubelet-preferred-address-types`). */
  extraApiserverArgs?: string[];
  /**
   * Keep the ServiceAccount admission plugin (it mounts token volumes into pods; needs the ServiceAccount controller).
   * Default false: without a node, tests create Pods without ServiceAccounts.
   */
  serviceAccountAdmission?: boolean;
}

/** Result of {@link ControlPlane.kubectl}. */
export interface KubectlResult {
  /** Exit code of kubectl (null when killed by a signal). */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (e.g. a manifest for `apply -f -`). */
  stdin?: string;
  /** Kubeconfig file to use instead of the admin's (e.g. one from {@link ControlPlane.serviceAccountKubeconfig}). */
  kubeconfig?: string;
}

export interface ServiceAccountKubeconfigOptions {
  /** Requested token lifetime in seconds (TokenRequest `expirationSeconds`; the API's minimum is 600). Default 3600. */
  expirationSeconds?: number;
}

/** The processes of a started control plane (the apiserver's changes on {@link ControlPlane.restartApiserver}). */
export interface ControlPlaneProcesses {
  readonly etcd?: ManagedProcess;
  readonly apiserver?: ManagedProcess;
  readonly controllerManager?: ManagedProcess;
}

export interface ControlPlane {
  /** True when this is the cluster of an external `KUBECONFIG` (nothing started, stop() does nothing). */
  readonly external: boolean;
  /** The apiserver's URL, e.g. `https://127.0.0.1:40123`. */
  readonly server: string;
  /** PEM file of the CA that signed the apiserver's serving cert (undefined for an external cluster without one). */
  readonly caFile: string | undefined;
  /** That CA bundle, base64-encoded PEM, as in a kubeconfig's `certificate-authority-data`. */
  readonly caData: string | undefined;
  /** Kubeconfig file of a `system:masters` user (self-contained: the CA is embedded). */
  readonly adminKubeconfigPath: string;
  /** Content of {@link adminKubeconfigPath}. */
  readonly adminKubeconfigYaml: string;
  /** A fresh client-node KubeConfig for the admin. */
  kubeConfig(): KubeConfig;
  /** Runs `.tools/bin/kubectl` with the admin kubeconfig (or `opts.kubeconfig`); never rejects on a non-zero exit. */
  kubectl(args: string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /**
   * Path of a kubeconfig that authenticates as ServiceAccount `namespace/name` with a token from the TokenRequest
   * API (the namespace and the ServiceAccount are created if missing), its context's namespace set to `namespace`.
   * Use it to run a component under exactly its RBAC role.
   */
  serviceAccountKubeconfig(namespace: string, name: string, opts?: ServiceAccountKubeconfigOptions): Promise<string>;
  /**
   * Stops the apiserver and starts it again on the same port with the same etcd and certificates; resolves once
   * `/readyz` answers 200 again. Throws on an external cluster.
   */
  restartApiserver(): Promise<void>;
  /** Stops controller-manager, apiserver and etcd in that order and removes the temp dir (unless `keepDir`). */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
  /** The managed processes, for their output (`processes.apiserver?.output()`). Empty for an external cluster. */
  readonly processes: ControlPlaneProcesses;
  /** The last `maxChars` characters of each process' output, labelled (for test failure messages). */
  logs(maxChars?: number): string;
  /** Temp dir holding data, certificates, kubeconfigs and keys. */
  readonly dir: string;
}

const ADMIN_USER = 'admin';

/** Starts a control plane (or connects to the external one); see the module comment. */
export async function startControlPlane(options: StartControlPlaneOptions = {}): Promise<ControlPlane> {
  const k8s = await import('@kubernetes/client-node');
  if (process.env.KUBECONFIG && process.env.WACLOUD_TEST_EXTERNAL_CLUSTER === '1') return externalControlPlane(k8s);
  return startLocal(k8s, options);
}

/** The client-node module, imported lazily so that testenv users without Kubernetes tests never load it. */
type ClientNode = typeof ClientNodeModule;

function requireBinary(name: string): string {
  const p = findBinary(name);
  if (!p) throw new Error(`${name} not found in .tools/bin or on PATH: run \`make tools\` (builds the Kubernetes test binaries)`);
  return p;
}

function tail(proc: ManagedProcess | undefined, maxChars = 3000): string {
  return proc ? proc.output().slice(-maxChars) : '';
}

/** GET `url` (TLS not verified: health endpoints only); true on HTTP 200. Gives up after `timeoutMs` ms. */
function httpOk(url: string, timeoutMs = 2000): Promise<boolean> {
  if (url.startsWith('http:')) {
    return fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).then(
      (r) => r.ok,
      () => false,
    );
  }
  return new Promise((resolve) => {
    const req = https.get(url, { rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** Polls `url` until 200; rejects with the process' output tail if it exits first or after `timeoutMs` ms. */
async function waitHealthy(name: string, proc: ManagedProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: number | null | undefined;
  void proc.exited.then((c) => (exited = c));
  for (;;) {
    if (await httpOk(url)) return;
    if (exited !== undefined) throw new Error(`${name} exited (code ${exited}) before ${url} was healthy:\n${tail(proc)}`);
    if (Date.now() > deadline) throw new Error(`${name}: ${url} not healthy after ${timeoutMs} ms:\n${tail(proc)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** YAML double-quoted scalar (a JSON string is one). */
const q = (s: string): string => JSON.stringify(s);

/** A one-cluster, one-user kubeconfig in YAML. */
function kubeconfigYaml(c: {
  server: string;
  caData?: string;
  skipTLSVerify?: boolean;
  token: string;
  user: string;
  namespace?: string;
}): string {
  const cluster = c.caData ? `certificate-authority-data: ${q(c.caData)}` : c.skipTLSVerify ? 'insecure-skip-tls-verify: true' : '';
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: test',
    '  cluster:',
    `    server: ${q(c.server)}`,
    ...(cluster ? [`    ${cluster}`] : []),
    'users:',
    `- name: ${q(c.user)}`,
    '  user:',
    `    token: ${q(c.token)}`,
    'contexts:',
    '- name: test',
    '  context:',
    '    cluster: test',
    `    user: ${q(c.user)}`,
    ...(c.namespace ? [`    namespace: ${q(c.namespace)}`] : []),
    'current-context: test',
    '',
  ].join('\n');
}

function runKubectl(kubeconfig: string, args: string[], stdin?: string): Promise<KubectlResult> {
  const bin = requireBinary('kubectl');
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['--kubeconfig', kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => {
      /* kubectl exited without reading stdin */
    });
    child.stdin.end(stdin ?? '');
  });
}

function isStatus(err: unknown, code: number): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** Shared parts of both kinds: kubectl, ServiceAccount kubeconfigs. */
function clientHelpers(
  k8s: ClientNode,
  dir: string,
  adminKubeconfigPath: string,
  adminYaml: () => string,
  cluster: () => { server: string; caData?: string; skipTLSVerify?: boolean },
) {
  let saCounter = 0;
  const kubeConfig = (): KubeConfig => {
    const kc = new k8s.KubeConfig();
    kc.loadFromString(adminYaml());
    return kc;
  };
  return {
    kubeConfig,
    kubectl: (args: string[], opts: KubectlOptions = {}) => runKubectl(opts.kubeconfig ?? adminKubeconfigPath, args, opts.stdin),
    async serviceAccountKubeconfig(namespace: string, name: string, opts: ServiceAccountKubeconfigOptions = {}): Promise<string> {
      const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
      for (const create of [
        () => core.createNamespace({ body: { metadata: { name: namespace } } }),
        () => core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } }),
      ]) {
        try {
          await create();
        } catch (err) {
          if (!isStatus(err, 409)) throw err;
        }
      }
      const tr = await core.createNamespacedServiceAccountToken({
        name,
        namespace,
        body: { spec: { audiences: [], expirationSeconds: opts.expirationSeconds ?? 3600 } },
      });
      const token = tr.status?.token;
      if (!token) throw new Error(`TokenRequest for ServiceAccount ${namespace}/${name} returned no token`);
      const file = path.join(dir, `sa-${namespace}-${name}-${saCounter++}.kubeconfig`);
      writeFileSync(file, kubeconfigYaml({ ...cluster(), token, user: `system:serviceaccount:${namespace}:${name}`, namespace }), {
        mode: 0o600,
      });
      return file;
    },
  };
}

function externalControlPlane(k8s: ClientNode): ControlPlane {
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`KUBECONFIG=${process.env.KUBECONFIG} has no current cluster`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-kube-external-'));
  const files = (process.env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  let adminKubeconfigPath: string;
  let adminKubeconfigYaml: string;
  if (files.length === 1 && files[0]) {
    adminKubeconfigPath = files[0];
    adminKubeconfigYaml = readFileSync(adminKubeconfigPath, 'utf8');
  } else {
    adminKubeconfigPath = path.join(dir, 'admin.kubeconfig');
    adminKubeconfigYaml = kc.exportConfig(); // JSON, which is YAML
    writeFileSync(adminKubeconfigPath, adminKubeconfigYaml, { mode: 0o600 });
  }
  let caData = cluster.caData;
  let caFile = cluster.caFile;
  if (!caData && caFile) caData = readFileSync(caFile).toString('base64');
  if (caData && !caFile) writeFileSync((caFile = path.join(dir, 'ca.crt')), Buffer.from(caData, 'base64'));
  const helpers = clientHelpers(
    k8s,
    dir,
    adminKubeconfigPath,
    () => adminKubeconfigYaml,
    () => ({ server: cluster.server, caData, skipTLSVerify: cluster.skipTLSVerify }),
  );
  return {
    external: true,
    server: cluster.server,
    caFile,
    caData,
    adminKubeconfigPath,
    adminKubeconfigYaml,
    ...helpers,
    restartApiserver: () =>
      Promise.reject(new Error('restartApiserver() is not supported on an external cluster (WACLOUD_TEST_EXTERNAL_CLUSTER=1)')),
    async stop() {
      rmSync(dir, { recursive: true, force: true });
    },
    processes: {},
    logs: () => '(external cluster: no managed processes)',
    dir,
  };
}

async function startLocal(k8s: ClientNode, options: StartControlPlaneOptions): Promise<ControlPlane> {
  const timeoutMs = (options.startTimeoutSeconds ?? 60) * 1000;
  const bins = { etcd: requireBinary('etcd'), apiserver: requireBinary('kube-apiserver'), kcm: requireBinary('kube-controller-manager') };
  requireBinary('kubectl');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-kube-'));
  const pki = path.join(dir, 'pki');
  const certDir = path.join(dir, 'apiserver-certs');
  mkdirSync(pki);
  const caFile = path.join(certDir, 'apiserver.crt');
  const adminToken = randomBytes(24).toString('hex');
  const kcmToken = randomBytes(24).toString('hex');
  // token,user,uid,"group1,group2". The controller-manager gets its own identity, which bootstrap RBAC authorizes.
  writeFileSync(
    path.join(pki, 'tokens.csv'),
    `${adminToken},${ADMIN_USER},${ADMIN_USER},system:masters\n${kcmToken},system:kube-controller-manager,system:kube-controller-manager\n`,
    { mode: 0o600 },
  );
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const saKey = path.join(pki, 'sa.key');
  const saPub = path.join(pki, 'sa.pub');
  writeFileSync(saKey, privateKey, { mode: 0o600 });
  writeFileSync(saPub, publicKey);
  const [etcdPort, peerPort, apiPort, kcmPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const bindAddress = options.bindAddress ?? '127.0.0.1';
  const server = `https://${bindAddress}:${apiPort}`;

  const procs: { etcd?: ManagedProcess; apiserver?: ManagedProcess; controllerManager?: ManagedProcess } = {};
  const stopAll = async () => {
    for (const p of [procs.controllerManager, procs.apiserver, procs.etcd]) await p?.stop(10_000);
  };
  const logs = (maxChars = 3000) =>
    (Object.entries(procs) as [string, ManagedProcess | undefined][])
      .filter(([, p]) => p)
      .map(([n, p]) => `--- ${n} (pid ${p!.pid}) ---\n${tail(p, maxChars)}`)
      .join('\n');

  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const apiserverArgs = [
    '--etcd-servers',
    etcdUrl,
    '--bind-address',
    bindAddress,
    '--advertise-address',
    bindAddress,
    '--secure-port',
    String(apiPort),
    '--cert-dir',
    certDir,
    '--token-auth-file',
    path.join(pki, 'tokens.csv'),
    '--service-cluster-ip-range',
    '10.0.0.0/24',
    '--authorization-mode',
    'RBAC',
    '--service-account-issuer',
    `${server}/`,
    '--service-account-key-file',
    saPub,
    '--service-account-signing-key-file',
    saKey,
    '--allow-privileged=true',
    ...(options.serviceAccountAdmission ? [] : ['--disable-admission-plugins', 'ServiceAccount']),
    // Without it, open watches (controller-manager, an operator under test) hold a SIGTERM'd apiserver for up to
    // the 60 s request timeout; with it, they are ended within this grace period and it exits in ~1–3 s.
    '--shutdown-watch-termination-grace-period',
    '2s',
    ...(options.extraApiserverArgs ?? []),
  ];
  const startApiserver = async () => {
    procs.apiserver = startProcess({ command: bins.apiserver, args: apiserverArgs });
    await waitHealthy('kube-apiserver', procs.apiserver, `${server}/readyz`, timeoutMs);
  };

  let adminKubeconfigYaml = '';
  const adminKubeconfigPath = path.join(dir, 'admin.kubeconfig');
  let caData: string | undefined;
  try {
    procs.etcd = startProcess({
      command: bins.etcd,
      args: [
        '--name',
        'default',
        '--data-dir',
        path.join(dir, 'etcd'),
        '--listen-client-urls',
        etcdUrl,
        '--advertise-client-urls',
        etcdUrl,
        '--listen-peer-urls',
        peerUrl,
        '--initial-advertise-peer-urls',
        peerUrl,
        '--initial-cluster',
        `default=${peerUrl}`,
        '--unsafe-no-fsync',
      ],
    });
    await waitHealthy('etcd', procs.etcd, `${etcdUrl}/health`, timeoutMs);
    await startApiserver();
    // The apiserver wrote its self-signed cert (+ CA) before listening; embed it so kubeconfigs are self-contained.
    caData = readFileSync(caFile).toString('base64');
    adminKubeconfigYaml = kubeconfigYaml({ server, caData, token: adminToken, user: ADMIN_USER });
    writeFileSync(adminKubeconfigPath, adminKubeconfigYaml, { mode: 0o600 });
    if (options.controllerManager ?? true) {
      const kcmKubeconfig = path.join(dir, 'kube-controller-manager.kubeconfig');
      writeFileSync(kcmKubeconfig, kubeconfigYaml({ server, caData, token: kcmToken, user: 'system:kube-controller-manager' }), {
        mode: 0o600,
      });
      procs.controllerManager = startProcess({
        command: bins.kcm,
        args: [
          '--kubeconfig',
          kcmKubeconfig,
          '--authentication-kubeconfig',
          kcmKubeconfig,
          '--authorization-kubeconfig',
          kcmKubeconfig,
          '--authentication-skip-lookup=true',
          '--bind-address',
          '127.0.0.1',
          '--secure-port',
          String(kcmPort),
          '--controllers',
          '*',
          '--service-account-private-key-file',
          saKey,
          '--use-service-account-credentials=true',
          '--leader-elect=false',
          '--flex-volume-plugin-dir',
          path.join(dir, 'flexvolume'),
        ],
      });
      await waitHealthy('kube-controller-manager', procs.controllerManager, `https://127.0.0.1:${kcmPort}/healthz`, timeoutMs);
    }
  } catch (err) {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const helpers = clientHelpers(
    k8s,
    dir,
    adminKubeconfigPath,
    () => adminKubeconfigYaml,
    () => ({ server, caData }),
  );
  let stopped = false;
  return {
    external: false,
    server,
    caFile,
    caData,
    adminKubeconfigPath,
    adminKubeconfigYaml,
    ...helpers,
    async restartApiserver() {
      if (stopped) throw new Error('restartApiserver(): the control plane is stopped');
      await procs.apiserver?.stop(10_000);
      await startApiserver();
    },
    async stop(opts = {}) {
      if (stopped) return;
      stopped = true;
      await stopAll();
      if (!opts.keepDir && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
    processes: {
      get etcd() {
        return procs.etcd;
      },
      get apiserver() {
        return procs.apiserver;
      },
      get controllerManager() {
        return procs.controllerManager;
      },
    },
    logs,
    dir,
  };
}
