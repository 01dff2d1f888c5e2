/**
 * Docker Compose against the test run's Docker engine (testenv's dockerd), with local stand-ins for the images the
 * repository's docker-compose.yml pulls from registries (none is reachable here): `mongo:<n>` (FerretDB on Debian's
 * PostgreSQL, authenticating; testenv/docker/mongo.Dockerfile) and `docker:<n>-dind` / `docker:<n>-cli` (Debian's
 * docker.io with the official image's TLS entrypoint; testenv/docker/dind.Dockerfile). Each stand-in carries the label
 * `io.wacloud.stand-in` and a hash of its build files: it is rebuilt only when those change.
 * Compose itself is the v2 plugin binary `docker-compose` that `make tools` builds (scripts/tools-compose.sh).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BASE_IMAGES, ensureBaseImages, type Dockerd } from './docker.js';
import { findBinary, repoRoot } from './paths.js';

/** Registry images docker-compose.yml names, mapped to the stand-in each is replaced with here. */
export interface ComposeStandIns {
  /** e.g. `mongo:8` */
  mongo: string;
  /** e.g. `docker:28-dind` */
  dind: string;
  /** e.g. `docker:28-cli` (the dind stand-in under a second name: it has the docker CLI) */
  cli: string;
}

const ctx = path.join(repoRoot, 'testenv/docker');

function filesHash(files: string[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(f).update(readFileSync(f));
  return h.digest('hex').slice(0, 16);
}

async function standInHash(d: Dockerd, ref: string): Promise<string | undefined> {
  try {
    const out = await d.docker(['image', 'inspect', '--format', '{{index .Config.Labels "io.wacloud.stand-in-hash"}}', ref]);
    return out.trim();
  } catch {
    return undefined;
  }
}

/**
 * Builds the stand-ins for `images` that are missing or whose build files changed (first time ≈ 1–2 min: Debian's
 * docker.io and postgresql from apt; later: nothing). The mongo stand-in embeds the `wacloud-ferretdb` of `make tools`.
 * @throws Error when `wacloud-ferretdb` is missing or a build fails (with the build's output).
 */
export async function ensureComposeStandIns(d: Dockerd, images: ComposeStandIns): Promise<void> {
  await ensureBaseImages(d);
  const ferret = findBinary('wacloud-ferretdb');
  if (!ferret) throw new Error('no wacloud-ferretdb for the mongo stand-in: run `make tools`');
  const dindFiles = ['dind.Dockerfile', 'dind-entrypoint.sh'].map((f) => path.join(ctx, f));
  const dindHash = filesHash(dindFiles);
  if ((await standInHash(d, images.dind)) !== dindHash) {
    await d.docker(
      [
        'build',
        '-f',
        dindFiles[0]!,
        '--build-arg',
        `DEBIAN_IMAGE=${BASE_IMAGES.debian}`,
        '--label',
        `io.wacloud.stand-in-hash=${dindHash}`,
        '-t',
        images.dind,
        ctx,
      ],
      { timeoutMs: 1_200_000 },
    );
  }
  if ((await standInHash(d, images.cli)) !== dindHash) await d.docker(['tag', images.dind, images.cli]);
  const mongoFiles = ['mongo.Dockerfile', 'mongo-entrypoint.sh', 'mongosh'].map((f) => path.join(ctx, f));
  const mongoHash = filesHash([...mongoFiles, ferret]);
  if ((await standInHash(d, images.mongo)) !== mongoHash) {
    // A context of its own: the FerretDB binary is copied in beside the build files.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wacloud-mongo-'));
    try {
      for (const f of mongoFiles) copyFileSync(f, path.join(dir, path.basename(f)));
      copyFileSync(ferret, path.join(dir, 'wacloud-ferretdb'));
      await d.docker(
        [
          'build',
          '-f',
          path.join(dir, 'mongo.Dockerfile'),
          '--build-arg',
          `DEBIAN_IMAGE=${BASE_IMAGES.debian}`,
          '--label',
          `io.wacloud.stand-in-hash=${mongoHash}`,
          '-t',
          images.mongo,
          dir,
        ],
        { timeoutMs: 1_200_000 },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** A Compose project on the test dockerd. */
export interface ComposeProject {
  /** Project name (`-p`), unique per test process. */
  readonly name: string;
  /**
   * Runs `docker compose -p <name> -f <files…> <args>` with the project's environment.
   * @returns stdout. @throws Error with the tail of stdout+stderr when it exits non-zero or outlasts `timeoutMs`.
   */
  compose(args: string[], opts?: { timeoutMs?: number }): Promise<string>;
}

/** Where `make tools` put the Compose v2 binary, or undefined. */
export function composeBinary(): string | undefined {
  return findBinary('docker-compose');
}

/**
 * A Compose project over `files` (the first one's folder is the project directory) on `d`, with `env` added to the
 * environment Compose interpolates from. The legacy builder is used (DOCKER_BUILDKIT=0), as testenv's image builds do,
 * so layers are shared with them.
 * @throws Error when no Compose binary exists (`make tools` builds it).
 */
export function composeProject(d: Dockerd, name: string, files: string[], env: Record<string, string>): ComposeProject {
  const bin = composeBinary();
  if (!bin) throw new Error('no docker-compose: run `make tools`');
  const base = ['-p', name, ...files.flatMap((f) => ['-f', f]), '--project-directory', path.dirname(files[0]!)];
  return {
    name,
    compose(args, opts = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn(bin, [...base, ...args], {
          env: { ...process.env, ...env, DOCKER_HOST: d.host, DOCKER_BUILDKIT: '0', COMPOSE_BAKE: 'false', COMPOSE_ANSI: 'never' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let all = '';
        child.stdout.on('data', (b: Buffer) => ((out += b.toString()), (all += b.toString())));
        child.stderr.on('data', (b: Buffer) => (all += b.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 900_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          if (code === 0) resolve(out);
          else reject(new Error(`docker compose ${args.join(' ')} exited ${code}:\n${all.split('\n').slice(-60).join('\n')}`));
        });
      });
    },
  };
}

/** Linux capability names by number, as far as Debian's dockerd 20.10 knows them (0 … 37). */
const CAPABILITIES = (
  'CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE ' +
  'NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN ' +
  'SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE ' +
  'MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ'
).split(' ');

/**
 * Compose settings for the dind service on this machine: `{}` where the daemon can start a `--privileged` container
 * (its capability bounding set is complete), else what comes closest without it — `privileged: false`, every
 * capability the bounding set has, a private cgroup namespace, no seccomp / AppArmor confinement, all devices (the dind
 * stand-in then mounts its cgroups read-write itself).
 */
export function dindPrivilegeOverride(): Record<string, unknown> {
  const bnd = BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0'}`);
  const last = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  const full = (1n << BigInt(last + 1)) - 1n;
  if ((bnd & full) === full) return {};
  return {
    privileged: false,
    cap_add: CAPABILITIES.filter((_c, i) => (bnd >> BigInt(i)) & 1n),
    cgroup: 'private',
    security_opt: ['seccomp=unconfined', 'apparmor=unconfined', 'systempaths=unconfined'],
    device_cgroup_rules: ['a *:* rwm'],
  };
}
