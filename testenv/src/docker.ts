/**
 * A real Docker engine for tests, and the images wacloud ships built on it.
 *
 * No registry can be reached here, so the official base images the Dockerfiles name are replaced by local stand-ins
 * built from this machine: a Debian bookworm root file system from `debootstrap` imported as
 * `debian:bookworm-*-slim`, Node 24 on top of it as `node:24.*-bookworm-slim`, a distroless-like Node runtime and an
 * unprivileged nginx (testenv/docker/*.Dockerfile). Each stand-in carries the label `io.wacloud.stand-in`.
 * The daemon keeps its data under `${XDG_CACHE_HOME:-~/.cache}/wacloud/docker`, outside the clone, so base images and
 * build layers survive between runs on one machine (like `make tools`); one daemon is shared by every test process
 * of a run (reference-counted leases) and stopped when the last one lets go.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, copyFileSync, openSync, closeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findBinary, repoRoot } from './paths.js';

const run = promisify(execFile);

/** Base images the Dockerfiles build FROM (their `ARG …_IMAGE=` defaults; a test keeps the two in step). */
export const BASE_IMAGES = {
  debian: 'debian:bookworm-20251117-slim',
  node: 'node:24.21.0-bookworm-slim',
  distrolessNode: 'gcr.io/distroless/nodejs24-debian12:nonroot',
  nginx: 'nginxinc/nginx-unprivileged:1.28.0-bookworm',
} as const;

/** The images wacloud ships: Dockerfile (relative to the repository root, the build context) per component. */
export const WACLOUD_IMAGES = {
  operator: 'operator/Dockerfile',
  api: 'api/Dockerfile',
  instance: 'instance/Dockerfile',
  dashboard: 'dashboard/Dockerfile',
} as const;
export type WacloudImage = keyof typeof WACLOUD_IMAGES;

export interface Dockerd {
  /** `unix:///…/docker.sock`: give it to clients as DOCKER_HOST. */
  readonly host: string;
  readonly socketPath: string;
  /**
   * Runs the docker CLI against this daemon.
   * @throws Error with the command's stderr when it exits non-zero.
   */
  docker(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** Lets go of the daemon; the last user of a run stops it (images stay in the data root). */
  release(): Promise<void>;
}

/** Either a daemon, or the plain reason none can run here (tests then say so and skip). */
export type DockerdResult = { ok: true; dockerd: Dockerd } | { ok: false; reason: string };

const stateDir = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'wacloud', 'docker');
const socketPath = path.join(stateDir, 'docker.sock');
const leasesDir = path.join(stateDir, 'leases');
/** Daemon start/stop lock (held for seconds) and image build lock (held for minutes on a first build). */
const daemonLock = path.join(stateDir, 'daemon.lock');
const buildLock = path.join(stateDir, 'build.lock');

function dockerCli(): string | undefined {
  // Debian's docker.io client first: it speaks the daemon's API version and has the legacy builder built in.
  return ['/usr/bin/docker'].find((p) => existsSync(p)) ?? findBinary('docker');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function withLock<T>(lockDir: string, fn: () => Promise<T>, waitMs = 120_000): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(path.join(lockDir, 'owner'), String(process.pid));
      break;
    } catch {
      let owner = 0;
      try {
        owner = Number(readFileSync(path.join(lockDir, 'owner'), 'utf8'));
      } catch {
        /* being written or removed */
      }
      if (owner && !alive(owner)) rmSync(lockDir, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`lock ${lockDir} held for more than ${waitMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

async function ping(cli: string): Promise<boolean> {
  try {
    await run(cli, ['-H', `unix://${socketPath}`, 'version', '--format', '{{.Server.Version}}'], { timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

function liveLeases(): string[] {
  if (!existsSync(leasesDir)) return [];
  return readdirSync(leasesDir).filter((f) => {
    if (alive(Number(f))) return true;
    rmSync(path.join(leasesDir, f), { force: true });
    return false;
  });
}

/**
 * Starts (or joins) the test run's Docker engine: Debian's dockerd (`make tools` installs docker.io) with its data
 * root under the tools cache. Never throws for a missing engine: `{ ok: false, reason }` says why (not root, no
 * dockerd binary, the daemon did not come up within 30 s — its log tail included).
 */
export async function startDockerd(): Promise<DockerdResult> {
  const dockerdBin = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => existsSync(p)) ?? findBinary('dockerd');
  const cli = dockerCli();
  if (!dockerdBin || !cli) return { ok: false, reason: 'no dockerd/docker binary (install Debian docker.io: `make tools`)' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'dockerd needs root and this test runs as a normal user' };
  mkdirSync(leasesDir, { recursive: true });
  const started = await withLock(daemonLock, async () => {
    writeFileSync(path.join(leasesDir, String(process.pid)), '');
    if (await ping(cli)) return null;
    const log = path.join(stateDir, 'dockerd.log');
    const fd = openSync(log, 'w');
    const child = spawn(
      dockerdBin,
      [
        '--data-root',
        path.join(stateDir, 'data'),
        '--exec-root',
        path.join(stateDir, 'exec'),
        '--pidfile',
        path.join(stateDir, 'dockerd.pid'),
        '-H',
        `unix://${socketPath}`,
      ],
      { detached: true, stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    child.unref();
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (await ping(cli)) return null;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-8).join('\n') : '';
    return `dockerd did not answer on ${socketPath} within 30 s:\n${tail}`;
  });
  if (started) {
    rmSync(path.join(leasesDir, String(process.pid)), { force: true });
    return { ok: false, reason: started };
  }
  const dockerd: Dockerd = {
    host: `unix://${socketPath}`,
    socketPath,
    async docker(args, opts = {}) {
      return dockerRun(cli, args, opts);
    },
    async release() {
      await withLock(daemonLock, async () => {
        rmSync(path.join(leasesDir, String(process.pid)), { force: true });
        if (liveLeases().length > 0) return;
        const pidFile = path.join(stateDir, 'dockerd.pid');
        const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
        if (!pid || !alive(pid)) return;
        process.kill(pid, 'SIGTERM');
        const deadline = Date.now() + 20_000;
        while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      });
    },
  };
  return { ok: true, dockerd };
}

function dockerRun(cli: string, args: string[], opts: { input?: string; timeoutMs?: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cli, ['-H', `unix://${socketPath}`, ...args], {
      env: { ...process.env, DOCKER_BUILDKIT: '0', DOCKER_CLI_HINTS: 'false' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`docker ${args.join(' ')} exited ${code}:\n${(out + err).split('\n').slice(-40).join('\n')}`));
    });
    child.stdin.end(opts.input ?? '');
  });
}

async function hasImage(d: Dockerd, ref: string): Promise<boolean> {
  try {
    await d.docker(['image', 'inspect', '--format', '{{.Id}}', ref]);
    return true;
  } catch {
    return false;
  }
}

/** This machine's extra CA certificates (an egress proxy's, say): stand-ins trust what the build host trusts. */
function hostExtraCAs(): string[] {
  const dir = '/usr/local/share/ca-certificates';
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.crt'))
        .map((f) => path.join(dir, f))
    : [];
}

async function buildDebianStandIn(d: Dockerd): Promise<void> {
  const debootstrap = ['/usr/sbin/debootstrap'].find((p) => existsSync(p)) ?? findBinary('debootstrap');
  if (!debootstrap) throw new Error('debootstrap is missing (`make tools` installs it)');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wacloud-rootfs-'));
  try {
    const root = path.join(dir, 'rootfs');
    await run(debootstrap, ['--variant=minbase', 'bookworm', root, 'http://deb.debian.org/debian'], {
      timeout: 600_000,
      maxBuffer: 64 << 20,
    });
    // Slim like the official -slim variant: no docs, man pages or apt lists.
    for (const p of ['usr/share/doc', 'usr/share/man', 'usr/share/info', 'var/cache/apt', 'var/lib/apt/lists'])
      rmSync(path.join(root, p), { recursive: true, force: true });
    mkdirSync(path.join(root, 'var/lib/apt/lists/partial'), { recursive: true });
    mkdirSync(path.join(root, 'var/cache/apt/archives/partial'), { recursive: true });
    writeFileSync(
      path.join(root, 'etc/dpkg/dpkg.cfg.d/docker'),
      'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\n',
    );
    // The official image's apt settings: no downloaded .deb files kept, no recommends.
    writeFileSync(
      path.join(root, 'etc/apt/apt.conf.d/docker-clean'),
      'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\nAPT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\nDir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n',
    );
    writeFileSync(path.join(root, 'etc/apt/apt.conf.d/docker-no-recommends'), 'APT::Install-Recommends "false";\n');
    writeFileSync(
      path.join(root, 'etc/apt/sources.list'),
      'deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n',
    );
    mkdirSync(path.join(root, 'usr/local/share/ca-certificates'), { recursive: true });
    for (const ca of hostExtraCAs()) copyFileSync(ca, path.join(root, 'usr/local/share/ca-certificates', path.basename(ca)));
    const tar = path.join(dir, 'rootfs.tar');
    await run('tar', ['-C', root, '--numeric-owner', '-cf', tar, '.'], { timeout: 300_000 });
    await d.docker(['import', '--change', 'CMD ["bash"]', '--change', 'LABEL io.wacloud.stand-in=debian', tar, BASE_IMAGES.debian]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function buildNodeStandIn(d: Dockerd): Promise<void> {
  const node = process.execPath;
  if (process.versions.node.split('.')[0] !== '24') throw new Error(`the node stand-in needs Node 24; this is ${process.version}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wacloud-node-'));
  try {
    copyFileSync(node, path.join(dir, 'node'));
    const { stdout } = await run('npm', ['pack', 'npm@11', '--pack-destination', dir, '--silent'], { cwd: dir, timeout: 120_000 });
    const tgz = stdout.trim().split('\n').pop()!;
    copyFileSync(path.join(dir, tgz), path.join(dir, 'npm.tgz'));
    const cas = hostExtraCAs();
    let dockerfile = readFileSync(path.join(repoRoot, 'testenv/docker/node.Dockerfile'), 'utf8');
    if (cas.length) {
      // npm inside builds must trust the egress proxy this machine uses (NODE_EXTRA_CA_CERTS, as on the host).
      writeFileSync(path.join(dir, 'build-host-ca.pem'), cas.map((c) => readFileSync(c, 'utf8')).join('\n'));
      dockerfile +=
        '\nCOPY build-host-ca.pem /usr/local/share/build-host-ca.pem\nENV NODE_EXTRA_CA_CERTS=/usr/local/share/build-host-ca.pem\n';
    }
    writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
    await d.docker(['build', '--build-arg', `DEBIAN_IMAGE=${BASE_IMAGES.debian}`, '-t', BASE_IMAGES.node, dir]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Makes sure every base image in {@link BASE_IMAGES} exists in the daemon, building the stand-ins that are missing
 * (first run: debootstrap ≈ 30 s, nginx from Debian ≈ 20 s; later runs: nothing).
 * @throws Error with the failing step's output.
 */
export async function ensureBaseImages(d: Dockerd): Promise<void> {
  await withLock(
    buildLock,
    async () => {
      if (!(await hasImage(d, BASE_IMAGES.debian))) await buildDebianStandIn(d);
      if (!(await hasImage(d, BASE_IMAGES.node))) await buildNodeStandIn(d);
      const ctx = path.join(repoRoot, 'testenv/docker');
      if (!(await hasImage(d, BASE_IMAGES.distrolessNode))) {
        await d.docker([
          'build',
          '-f',
          path.join(ctx, 'distroless-nodejs.Dockerfile'),
          '--build-arg',
          `NODE_IMAGE=${BASE_IMAGES.node}`,
          '-t',
          BASE_IMAGES.distrolessNode,
          ctx,
        ]);
      }
      if (!(await hasImage(d, BASE_IMAGES.nginx))) {
        await d.docker([
          'build',
          '-f',
          path.join(ctx, 'nginx-unprivileged.Dockerfile'),
          '--build-arg',
          `DEBIAN_IMAGE=${BASE_IMAGES.debian}`,
          '-t',
          BASE_IMAGES.nginx,
          ctx,
        ]);
      }
    },
    1_800_000,
  );
}

/** Tag of a wacloud image built by {@link buildWacloudImage}: `wacloud/<name>:test`. */
export function testImageTag(name: WacloudImage): string {
  return `wacloud/${name}:test`;
}

/**
 * Builds one wacloud image from its Dockerfile with the repository root as context (legacy builder: the daemon's
 * layer cache makes rebuilds of unchanged sources take seconds). Serialized across test processes.
 * @returns the build output (for diagnostics).
 * @throws Error with the tail of the build log when a step fails.
 */
export async function buildWacloudImage(d: Dockerd, name: WacloudImage): Promise<string> {
  await ensureBaseImages(d);
  return withLock(
    buildLock,
    () =>
      d.docker(['build', '-f', path.join(repoRoot, WACLOUD_IMAGES[name]), '-t', testImageTag(name), repoRoot], { timeoutMs: 1_800_000 }),
    1_800_000,
  );
}

/** Short stable id for names of test networks/volumes (hash of a label). */
export function dockerTestName(label: string): string {
  return `wacloud-test-${createHash('sha256').update(`${label}:${process.pid}`).digest('hex').slice(0, 8)}`;
}
