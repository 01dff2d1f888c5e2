/**
 * Host plumbing of the test cluster's node (testenv/src/cluster.ts): its network namespace and veth pair, the
 * cgroups and mounts its pods leave behind, and the clean-up of all of it — also of a node whose test process was
 * killed (every name carries the owning process' pid; a later start removes what belongs to dead pids).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Prefix of the node's network namespace, cgroup root and temp dir names: `wacloud-node-<pid>`. */
export const NODE_PREFIX = 'wacloud-node-';
/** Cgroup v1 hierarchies (or the v2 root) under which the kubelet's `--cgroup-root` lives. */
const CGROUP_ROOT = '/sys/fs/cgroup';

/** Addresses of one node: a /30 on the veth pair (host end, node end) and the pods' /24. */
export interface NodeAddresses {
  /** Host end of the veth pair: the apiserver, simnet and other host servers pods reach bind here. */
  hostIp: string;
  /** Node end (the node's InternalIP; kubelet, kube-proxy NodePorts, CoreDNS listen here). */
  nodeIp: string;
  /** Pod CIDR of the node's bridge, e.g. `10.244.3.0/24`. */
  podCidr: string;
  /** Name of the host end of the veth pair. */
  hostVeth: string;
}

/**
 * Runs a command, resolving with its stdout.
 * @throws Error with the command line and its stderr when it exits non-zero.
 */
export async function sh(cmd: string, args: string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Slot 1..250 for the node of `pid` that no existing interface address uses (10.231.<slot>.0/30, 10.244.<slot>.0/24). */
async function freeSlot(pid: number): Promise<number> {
  const addrs = await sh('ip', ['-4', '-o', 'addr', 'show']);
  for (let i = 0; i < 250; i++) {
    const slot = ((pid + i) % 250) + 1;
    if (!addrs.includes(`10.231.${slot}.`) && !addrs.includes(`10.244.${slot}.`)) return slot;
  }
  throw new Error('no free 10.231.x.0/30 for a test node');
}

/**
 * Creates the network namespace `wacloud-node-<pid>` with a veth pair to the host (the node's eth0, default route
 * via the host end), IP forwarding on inside. Nothing is routed or NATed on the host: pods leave the node masqueraded
 * by the CNI bridge as the node's address.
 * @throws Error from `ip` (e.g. not root).
 */
export async function createNodeNetwork(pid: number): Promise<NodeAddresses & { netns: string }> {
  const netns = `${NODE_PREFIX}${pid}`;
  const slot = await freeSlot(pid);
  const a: NodeAddresses = {
    hostIp: `10.231.${slot}.1`,
    nodeIp: `10.231.${slot}.2`,
    podCidr: `10.244.${slot}.0/24`,
    hostVeth: `wcn${pid}`.slice(0, 15),
  };
  await sh('ip', ['netns', 'add', netns]);
  await sh('ip', ['link', 'add', a.hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  await sh('ip', ['addr', 'add', `${a.hostIp}/30`, 'dev', a.hostVeth]);
  await sh('ip', ['link', 'set', a.hostVeth, 'up']);
  const inNs = (args: string[]) => sh('ip', ['-n', netns, ...args]);
  await inNs(['addr', 'add', `${a.nodeIp}/30`, 'dev', 'eth0']);
  await inNs(['link', 'set', 'eth0', 'up']);
  await inNs(['link', 'set', 'lo', 'up']);
  await inNs(['route', 'add', 'default', 'via', a.hostIp]);
  await sh('ip', ['netns', 'exec', netns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  return { ...a, netns };
}

/** Mount points at or below `dir` (deepest first). */
function mountsUnder(dir: string): string[] {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const points = lines
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p && (p === dir || p.startsWith(`${dir}/`)))
    .map((p) => p.replace(/\\040/g, ' '));
  return [...new Set(points)].sort((x, y) => y.length - x.length);
}

/** Unmounts everything at or below `dir` (lazily: a busy mount is detached at once and freed when last used). */
export async function unmountUnder(dir: string): Promise<void> {
  for (const m of mountsUnder(dir)) await sh('umount', ['-l', m]).catch(() => undefined);
}

/** Every cgroup hierarchy directory named `name` at the top (cgroup v1: one per controller; v2: one). */
function cgroupDirs(name: string): string[] {
  if (!existsSync(CGROUP_ROOT)) return [];
  const out: string[] = [];
  const top = path.join(CGROUP_ROOT, name);
  if (existsSync(path.join(top, 'cgroup.procs'))) out.push(top);
  for (const h of readdirSync(CGROUP_ROOT)) {
    const d = path.join(CGROUP_ROOT, h, name);
    if (existsSync(path.join(d, 'cgroup.procs'))) out.push(d);
  }
  return out;
}

/** All cgroup directories below (and including) `dir`, deepest first. */
function cgroupTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
    out.push(d);
  };
  walk(dir);
  return out;
}

/** Pids of every process in the cgroup `name` (any hierarchy) and below. */
export function cgroupPids(name: string): number[] {
  const pids = new Set<number>();
  for (const top of cgroupDirs(name))
    for (const d of cgroupTree(top))
      for (const l of readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n')) if (l.trim()) pids.add(Number(l));
  return [...pids];
}

/** Puts process `pid` into the cgroup `name/sub` of every hierarchy (created if missing). */
export function joinCgroup(name: string, sub: string, pid: number): void {
  for (const h of readdirSync(CGROUP_ROOT)) {
    const base = path.join(CGROUP_ROOT, h);
    if (!existsSync(path.join(base, 'cgroup.procs'))) continue;
    const d = path.join(base, name, sub);
    try {
      if (!existsSync(d)) {
        // cpuset: a child starts with empty cpus/mems; copy the parent's so a process can join.
        for (const x of [path.join(base, name), d]) {
          if (existsSync(x)) continue;
          mkdirSync(x);
          for (const f of ['cpuset.cpus', 'cpuset.mems']) {
            const parent = path.join(path.dirname(x), f);
            if (existsSync(parent)) writeFileSync(path.join(x, f), readFileSync(parent, 'utf8'));
          }
        }
      }
      writeFileSync(path.join(d, 'cgroup.procs'), String(pid));
    } catch {
      /* a hierarchy we may not write (e.g. the v2 root in a hybrid setup): skip */
    }
  }
}

/**
 * Network namespaces the pods' sandboxes had (`/run/netns/cni-*`, made by the CNI plugins through containerd) that
 * belong to processes of cgroup `name`: read before {@link killCgroup}, deleted after it.
 */
export function podNetnsOf(name: string): string[] {
  const inodes = new Set<string>();
  for (const pid of cgroupPids(name)) {
    try {
      const m = /net:\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      /* gone */
    }
  }
  if (!existsSync('/run/netns')) return [];
  return readdirSync('/run/netns').filter((n) => {
    if (!n.startsWith('cni-')) return false;
    try {
      return inodes.has(String(statSync(path.join('/run/netns', n)).ino));
    } catch {
      return false;
    }
  });
}

/** SIGKILLs every process in cgroup `name` until none is left (up to `timeoutMs`), then removes its directories. */
export async function killCgroup(name: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = cgroupPids(name);
    if (!pids.length || Date.now() > deadline) break;
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const top of cgroupDirs(name))
    for (const d of cgroupTree(top)) {
      try {
        rmdirSync(d);
      } catch {
        /* still busy: left for the next start's sweep */
      }
    }
}

/** Removes the network namespace and the host end of the veth (the pair goes with either). */
export async function deleteNodeNetwork(netns: string, hostVeth?: string): Promise<void> {
  if (hostVeth) await sh('ip', ['link', 'del', hostVeth]).catch(() => undefined);
  await sh('ip', ['netns', 'del', netns]).catch(() => undefined);
}

/**
 * Removes what nodes of dead test processes left: their processes (cgroup `wacloud-node-<pid>`: the control plane,
 * the node's daemons, containerd's shims and the containers), the pods' network namespaces, mounts and temp dirs
 * under `tmpRoot/wacloud-node-<pid>*`, the node's network namespace and veth.
 */
export async function sweepStaleNodes(tmpRoot: string): Promise<void> {
  const stalePid = (name: string): number | undefined => {
    const m = new RegExp(`^${NODE_PREFIX}(\\d+)`).exec(name);
    return m && !alive(Number(m[1])) ? Number(m[1]) : undefined;
  };
  const names = new Set<string>();
  for (const h of existsSync(CGROUP_ROOT) ? readdirSync(CGROUP_ROOT) : [])
    for (const e of existsSync(path.join(CGROUP_ROOT, h)) ? readdirSync(path.join(CGROUP_ROOT, h)) : [])
      if (stalePid(e) !== undefined) names.add(e);
  const netnsList = existsSync('/run/netns') ? readdirSync('/run/netns') : [];
  for (const n of netnsList) if (stalePid(n) !== undefined) names.add(n);
  for (const name of names) {
    const podNetns = podNetnsOf(name);
    await killCgroup(name, 5_000);
    for (const n of podNetns) await sh('ip', ['netns', 'del', n]).catch(() => undefined);
  }
  for (const e of existsSync(tmpRoot) ? readdirSync(tmpRoot) : [])
    if (stalePid(e) !== undefined) {
      await unmountUnder(path.join(tmpRoot, e));
      rmSync(path.join(tmpRoot, e), { recursive: true, force: true });
    }
  for (const n of netnsList) {
    const pid = stalePid(n);
    if (pid !== undefined) await deleteNodeNetwork(n, `wcn${pid}`.slice(0, 15));
  }
}
