/**
 * A real single-node Kubernetes cluster for tests: the control plane of testenv/src/kube.ts plus a node — kubelet,
 * kube-proxy (iptables) and kube-scheduler from the same k8s.io/kubernetes module, containerd + runc (Debian's) as
 * the container runtime, the CNI bridge (Debian's containernetworking-plugins), CoreDNS, and statically provisioned
 * hostPath PersistentVolumes. Everything is built or installed by `make tools` (scripts/tools-node.sh); images are
 * imported into containerd, never pulled.
 *
 * The node lives in a network namespace of its own, `wacloud-node-<pid>`, joined to the host by a veth /30
 * (host end {@link Cluster.hostIp}, node end {@link Cluster.nodeIp}): kube-proxy's iptables rules, the pods' bridge
 * and CoreDNS stay in there. The apiserver binds to the host end, so pods reach it through the `kubernetes`
 * Service; host servers that pods must reach (simnet, a MongoDB-wire server) bind there too, or are relayed with
 * {@link Cluster.exposeHostPort}. Containers and containerd's shims run in the cgroup `/wacloud-node-<pid>`;
 * stop() kills that cgroup, unmounts what the node mounted under its temp dir, and deletes the namespace. A node
 * left by a killed test process is swept by the next start. Needs root (Linux); cgroup v1 or v2.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CLUSTER_DOMAIN, SERVICE_CIDR, clusterManifests, cniConflist, containerdToml, corefile, kubeletConfig } from './cluster-config.js';
import {
  NODE_PREFIX,
  createNodeNetwork,
  sh,
  deleteNodeNetwork,
  joinCgroup,
  killCgroup,
  podNetnsOf,
  sweepStaleNodes,
  unmountUnder,
  type NodeAddresses,
} from './cluster-host.js';
import { PAUSE_IMAGE, copyImagesFromDocker, importImageArchive, singleBinaryImage } from './cluster-images.js';
import { startControlPlane, type ControlPlane } from './kube.js';
import { findBinary } from './paths.js';
import { freePort } from './ports.js';
import { startProcess, type ManagedProcess } from './process.js';

export interface StartClusterOptions {
  /** Number of hostPath PersistentVolumes to create (each claim binds one; Retain). Default 12. */
  persistentVolumes?: number;
  /** Seconds to wait for the node to become Ready. Default 120. */
  readyTimeoutSeconds?: number;
}

export interface Cluster extends NodeAddresses {
  /** The control plane (kubectl, kubeconfigs, its processes). Its apiserver listens on {@link hostIp}. */
  readonly controlPlane: ControlPlane;
  /** Name of the Node object (the kubelet's hostname override). */
  readonly nodeName: string;
  /** The node's network namespace (`ip netns exec <it> …`). */
  readonly netns: string;
  /** containerd's socket (`ctr -a <it> -n k8s.io …`). */
  readonly runtimeSocket: string;
  /** Copies images from a Docker engine (`unix://…` host) into the node's runtime; pods then run them with pullPolicy Never/IfNotPresent. */
  loadDockerImages(dockerHost: string, refs: string[]): Promise<void>;
  /**
   * Relays TCP connections to `hostIp:<returned port>` on to `127.0.0.1:port` (for servers that listen on loopback
   * only, e.g. the test MongoDB-wire server). Closed by stop().
   */
  exposeHostPort(port: number): Promise<number>;
  /**
   * Puts a process of the test's own (e.g. simnet) into the node's cgroup, so that a later start's sweep kills it
   * should this test process die without stop().
   */
  adopt(pid: number): void;
  /** Runs a command inside the node's network namespace; resolves with stdout. */
  inNode(cmd: string, args: string[]): string;
  /** Labelled output tails of the node's processes and the control plane (for failure messages). */
  logs(maxChars?: number): string;
  /** Stops the node (pods, runtime, network namespace, mounts), then the control plane; removes the temp dir. */
  stop(): Promise<void>;
}

/** Removes the kubelet's links in /var/log/containers (a fixed path) that point into `dir`. */
function removeContainerLogLinks(dir: string): void {
  const links = '/var/log/containers';
  if (!existsSync(links)) return;
  for (const l of readdirSync(links)) {
    try {
      if (readlinkSync(path.join(links, l)).startsWith(`${dir}/`)) rmSync(path.join(links, l), { force: true });
    } catch {
      /* not a link, or gone */
    }
  }
}

function need(name: string, hint = '`make tools` (scripts/tools-node.sh)'): string {
  const p = findBinary(name);
  if (!p) throw new Error(`${name} not found in .tools/bin or on PATH: run ${hint}`);
  return p;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, logs: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms${last ? ` (${String(last)})` : ''}\n${logs()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Starts the control plane and one node; resolves once the node is Ready and cluster DNS answers.
 * @throws Error (with the components' output tails) when a binary is missing, not root, or a component fails; what
 * was started is stopped again.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<Cluster> {
  if (process.getuid?.() !== 0) throw new Error('startCluster() needs root (network namespaces, mounts, cgroups)');
  const bins = {
    kubelet: need('kubelet'),
    proxy: need('kube-proxy'),
    scheduler: need('kube-scheduler'),
    coredns: need('coredns'),
    pause: need('wacloud-pause'),
    containerd: need('containerd', 'apt-get install containerd'),
    cniBridge: '/usr/lib/cni/bridge',
  };
  if (!existsSync(bins.cniBridge)) throw new Error('CNI plugins not found in /usr/lib/cni: apt-get install containernetworking-plugins');
  const tmpRoot = os.tmpdir();
  await sweepStaleNodes(tmpRoot);

  const pid = process.pid;
  const name = `${NODE_PREFIX}${pid}`;
  const dir = path.join(tmpRoot, `${name}-${randomBytes(3).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  const procs: Record<string, ManagedProcess> = {};
  const relays: net.Server[] = [];
  let controlPlane: ControlPlane | undefined;
  let netAddrs: (NodeAddresses & { netns: string }) | undefined;
  const logs = (maxChars = 3000) =>
    [
      ...Object.entries(procs).map(([n, p]) => `--- ${n} (pid ${p.pid}) ---\n${p.output().slice(-maxChars)}`),
      controlPlane?.logs(maxChars) ?? '',
    ].join('\n');
  const stop = async () => {
    for (const r of relays) r.close();
    for (const n of ['kubelet', 'kube-proxy', 'coredns', 'kube-scheduler']) await procs[n]?.stop(5_000);
    const podNetns = podNetnsOf(name);
    await procs.containerd?.stop(5_000);
    await controlPlane?.stop();
    await killCgroup(name);
    for (const n of podNetns) await sh('ip', ['netns', 'del', n]).catch(() => undefined);
    await unmountUnder(dir);
    removeContainerLogLinks(dir);
    if (netAddrs) await deleteNodeNetwork(netAddrs.netns, netAddrs.hostVeth);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    netAddrs = await createNodeNetwork(pid);
    const a = netAddrs;
    const nsenter = (bin: string, args: string[]) => ({ command: 'nsenter', args: [`--net=/run/netns/${a.netns}`, bin, ...args] });
    controlPlane = await startControlPlane({
      bindAddress: a.hostIp,
      // Pods get ServiceAccount tokens (the admission the envtest-style control plane turns off), and the apiserver
      // reaches the kubelet (logs, exec, port-forward) at the node's address, not its unresolvable name.
      serviceAccountAdmission: true,
      extraApiserverArgs: ['--kubelet-preferred-address-types=InternalIP'],
    });
    const cp = controlPlane;
    // The control plane joins the node's cgroup too, so that a sweep after a killed test process finds it.
    for (const p of Object.values(cp.processes)) if (p) joinCgroup(name, 'control-plane', p.pid);
    const nodeName = 'wacloud-node';

    // containerd (with its shims) in cgroup <name>/runtime; the pods go below <name>/kubepods (kubelet's cgroupRoot).
    const cniConfDir = path.join(dir, 'cni');
    mkdirSync(cniConfDir);
    writeFileSync(path.join(cniConfDir, '10-wacloud.conflist'), cniConflist(a.podCidr));
    const runtimeSocket = path.join(dir, 'containerd', 'containerd.sock');
    mkdirSync(path.dirname(runtimeSocket));
    const containerdConf = path.join(dir, 'containerd.toml');
    writeFileSync(
      containerdConf,
      containerdToml({
        dir: path.join(dir, 'containerd'),
        socket: runtimeSocket,
        pauseImage: PAUSE_IMAGE,
        cniConfDir,
        cniBinDir: path.dirname(bins.cniBridge),
      }),
    );
    const start = (label: string, opts: { command: string; args: string[] }) => {
      const p = startProcess(opts);
      procs[label] = p;
      joinCgroup(name, label === 'containerd' ? 'runtime' : 'node', p.pid);
      return p;
    };
    start('containerd', nsenter(bins.containerd, ['--config', containerdConf]));
    await until('containerd socket', async () => (existsSync(runtimeSocket) ? true : undefined), 30_000, logs);
    const pauseTar = path.join(dir, 'pause.tar');
    await singleBinaryImage(bins.pause, 'pause', PAUSE_IMAGE.replace(/^docker\.io\//, ''), pauseTar);
    await until('pause image import', () => importImageArchive(runtimeSocket, pauseTar).then(() => true), 30_000, logs);

    // Cluster DNS Service + its EndpointSlice (CoreDNS on the node), the default StorageClass and hostPath PVs.
    const pvDir = path.join(dir, 'pv');
    const pvCount = options.persistentVolumes ?? 12;
    for (let i = 0; i < pvCount; i++) {
      mkdirSync(path.join(pvDir, String(i)), { recursive: true });
      chmodSync(path.join(pvDir, String(i)), 0o777);
    }
    const applied = await cp.kubectl(['apply', '-f', '-'], {
      stdin: clusterManifests({ nodeIp: a.nodeIp, pvDir, pvCount, pvCapacity: '100Gi' }),
    });
    if (applied.code !== 0) throw new Error(`applying the cluster manifests: ${applied.stderr}`);

    const resolvConf = path.join(dir, 'resolv.conf');
    writeFileSync(resolvConf, `nameserver ${a.nodeIp}\n`);
    const kubeletConf = path.join(dir, 'kubelet.yaml');
    writeFileSync(kubeletConf, kubeletConfig({ nodeIp: a.nodeIp, cgroupRoot: `/${name}`, runtimeSocket, resolvConf, dir }));
    start(
      'kubelet',
      nsenter(bins.kubelet, [
        '--config',
        kubeletConf,
        '--kubeconfig',
        cp.adminKubeconfigPath,
        '--root-dir',
        path.join(dir, 'kubelet'),
        '--cert-dir',
        path.join(dir, 'kubelet-pki'),
        '--hostname-override',
        nodeName,
        '--node-ip',
        a.nodeIp,
        '--v',
        '1',
      ]),
    );
    const [proxyHealth, proxyMetrics, schedPort] = await Promise.all([freePort(), freePort(), freePort()]);
    start(
      'kube-proxy',
      nsenter(bins.proxy, [
        '--kubeconfig',
        cp.adminKubeconfigPath,
        '--hostname-override',
        nodeName,
        '--proxy-mode',
        'iptables',
        '--cluster-cidr',
        a.podCidr,
        '--conntrack-max-per-core',
        '0',
        '--iptables-localhost-nodeports=false',
        '--healthz-bind-address',
        `127.0.0.1:${proxyHealth}`,
        '--metrics-bind-address',
        `127.0.0.1:${proxyMetrics}`,
      ]),
    );
    start('kube-scheduler', {
      command: bins.scheduler,
      args: [
        '--kubeconfig',
        cp.adminKubeconfigPath,
        '--authentication-kubeconfig',
        cp.adminKubeconfigPath,
        '--authorization-kubeconfig',
        cp.adminKubeconfigPath,
        '--bind-address',
        '127.0.0.1',
        '--secure-port',
        String(schedPort),
        '--leader-elect=false',
      ],
    });
    const corefilePath = path.join(dir, 'Corefile');
    writeFileSync(corefilePath, corefile({ bind: a.nodeIp, kubeconfig: cp.adminKubeconfigPath }));
    start('coredns', nsenter(bins.coredns, ['-conf', corefilePath]));

    await until(
      'node Ready',
      async () => {
        const r = await cp.kubectl(['get', 'node', nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
        return r.stdout.trim() === 'True' ? true : undefined;
      },
      (options.readyTimeoutSeconds ?? 120) * 1000,
      logs,
    );

    const inNode = (cmd: string, args: string[]) =>
      execFileSync('nsenter', [`--net=/run/netns/${a.netns}`, cmd, ...args], { encoding: 'utf8', timeout: 30_000 });
    return {
      ...a,
      controlPlane: cp,
      nodeName,
      runtimeSocket,
      loadDockerImages: (dockerHost, refs) => copyImagesFromDocker(dockerHost, runtimeSocket, refs),
      async exposeHostPort(port) {
        const server = net.createServer((c) => {
          const up = net.connect(port, '127.0.0.1');
          c.pipe(up).pipe(c);
          const end = () => {
            c.destroy();
            up.destroy();
          };
          c.on('error', end);
          up.on('error', end);
        });
        relays.push(server);
        await new Promise<void>((resolve, reject) => server.listen(0, a.hostIp, resolve).once('error', reject));
        return (server.address() as net.AddressInfo).port;
      },
      adopt: (p) => joinCgroup(name, 'adopted', p),
      inNode,
      logs,
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

export { CLUSTER_DOMAIN, SERVICE_CIDR };
