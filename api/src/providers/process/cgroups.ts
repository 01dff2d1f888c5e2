/**
 * Memory limits of the process provider's instances through Linux control groups: each instance process (and the
 * browsers it starts, which inherit its group) runs in a memory cgroup of its own, `<parent>/<instance id>`, limited to
 * `memoryBytes` — so a tenant's instance that grows without bound (a leaking browser, a huge history) meets the
 * kernel's out-of-memory kill inside its own group (v2: the whole instance; v1: its largest process), and is restarted
 * (by the supervisor, or a browser by the engine), instead of pushing the machine into an out-of-memory kill that may
 * hit the api, the database or another tenant's instance. The docker provider's `DOCKER_MEMORY_LIMIT` and the
 * chart's `instances.resources.limits.memory` do the same for containers and pods. docs/architecture.md, "Memory
 * limits of instances".
 *
 * `<parent>` is `PROCESS_CGROUP_PARENT`, by default `wacloud-instances` under the api's own memory cgroup, read from
 * `/proc/self/cgroup` and `/proc/self/mountinfo`: cgroup v1 (the `memory` hierarchy; `memory.limit_in_bytes`) or v2
 * (the unified hierarchy; `memory.max`, and `memory.oom.group` so that an out-of-memory kill takes the whole instance).
 * On v2 a cgroup with processes in it cannot give its children the memory controller: when the api's own cgroup holds
 * processes (a systemd service without delegation), name a delegated cgroup as the parent.
 *
 * Best effort, like the CPU priority: without a writable cgroup file system (not root, no delegation, not Linux) the
 * provider logs once that instances run without memory limits, and runs them anyway.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';

/** Where this process's memory cgroup is: the hierarchy's version and the directory of the cgroup. */
export interface MemoryCgroup {
  version: 1 | 2;
  dir: string;
}

/** How long {@link InstanceCgroups.remove} waits for the last exiting process to leave a cgroup, ms. */
const REMOVE_WAIT_MS = 2_000;

/** Name of the default parent of instance cgroups, under the api's own memory cgroup. */
export const DEFAULT_CGROUP_PARENT_NAME = 'wacloud-instances';

/**
 * The directory of the memory cgroup `/proc/self/cgroup` names, from the mounts of `/proc/self/mountinfo` (the texts
 * given, so that any machine's can be tested): the v1 hierarchy with the `memory` controller when there is one, else
 * the v2 (unified) hierarchy. Undefined when neither is mounted where this process can see its own cgroup.
 */
export function memoryCgroupOf(procCgroup: string, mountinfo: string): MemoryCgroup | undefined {
  const lines = procCgroup.split('\n').map((l) => /^(\d+):([^:]*):(.*)$/.exec(l.trim()));
  const v1Path = lines.find((m) => m && m[2]!.split(',').includes('memory'))?.[3];
  const v2Path = lines.find((m) => m && m[1] === '0' && m[2] === '')?.[3];
  for (const line of mountinfo.split('\n')) {
    // id parent major:minor root mountpoint options [optional fields] - fstype source super-options
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const [, , , root, mountpoint] = left.split(' ');
    const [fstype, , superOptions] = right.split(' ');
    if (!root || !mountpoint) continue;
    const v1 = fstype === 'cgroup' && v1Path !== undefined && (superOptions ?? '').split(',').includes('memory');
    const v2 = fstype === 'cgroup2' && v1Path === undefined && v2Path !== undefined;
    if (!v1 && !v2) continue;
    const own = (v1 ? v1Path : v2Path)!;
    const rel = root === '/' ? own : own === root || own.startsWith(`${root}/`) ? own.slice(root.length) : undefined;
    if (rel === undefined) continue;
    return { version: v1 ? 1 : 2, dir: path.posix.join(unescapeMount(mountpoint), rel).replace(/(.)\/+$/, '$1') };
  }
  return undefined;
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export interface InstanceCgroupsOptions {
  /** Memory limit of each instance, bytes (0: none — no cgroups are made). */
  memoryBytes: number;
  /** Parent directory of the instance cgroups; default: {@link DEFAULT_CGROUP_PARENT_NAME} under the api's own. */
  parent?: string | undefined;
  log: Logger;
  /** The memory cgroup found; default: this process's ({@link memoryCgroupOf} of its `/proc/self` files). */
  own?: MemoryCgroup | undefined;
}

/** The instances' memory cgroups (see the file's docstring). */
export class InstanceCgroups {
  /** Why instances run without memory limits; undefined while the cgroups work. */
  unavailable: string | undefined;
  private readonly version: 1 | 2 = 1;
  private readonly parent: string = '';

  constructor(private readonly o: InstanceCgroupsOptions) {
    if (o.memoryBytes <= 0) {
      this.unavailable = 'no memory limit configured';
      return;
    }
    const own = o.own ?? readOwnCgroup();
    if (!own) {
      this.disable('no memory cgroup of this process was found (/proc/self/cgroup, /proc/self/mountinfo)');
      return;
    }
    this.version = own.version;
    this.parent = o.parent ? path.resolve(o.parent) : path.join(own.dir, DEFAULT_CGROUP_PARENT_NAME);
    try {
      if (this.version === 2 && !o.parent) enableMemory(own.dir);
      mkdirSync(this.parent, { recursive: true });
      if (this.version === 2) enableMemory(this.parent);
      accessSync(path.join(this.parent, 'cgroup.procs'), constants.W_OK);
    } catch (err) {
      this.disable(`cannot make instance cgroups under ${this.parent}: ${(err as Error).message}`);
    }
  }

  /** The cgroup directory of instance `id`. */
  dirOf(id: string): string {
    return path.join(this.parent, id);
  }

  /**
   * Moves `pids` (an instance's processes) into instance `id`'s cgroup, made with the memory limit when missing.
   * Their threads and the processes they start later go with them; a process that ended meanwhile is skipped. A
   * failure is logged, never thrown.
   */
  place(id: string, pids: number[]): void {
    if (this.unavailable) return;
    const dir = this.dirOf(id);
    const failed = (err: unknown) => {
      this.o.log.warn({ instance: id, err }, 'could not put the instance process in its memory cgroup; it runs without its limit');
    };
    try {
      this.make(id, dir);
    } catch (err) {
      return failed(err);
    }
    for (const pid of pids) {
      for (let attempt = 1; ; attempt++) {
        try {
          writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
          break;
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          if (e.code === 'ESRCH') break; // the process ended meanwhile
          if (e.code !== 'ENOENT' || attempt > 1) return failed(err);
          try {
            this.make(id, dir); // pruned meanwhile (it was empty): made again
          } catch (err2) {
            return failed(err2);
          }
        }
      }
    }
  }

  /**
   * Makes the cgroup `dir` of instance `id` (if missing) and sets its limit, swap included: the instance cannot swap
   * beyond it (v1 `memory.memsw.limit_in_bytes` equal to the limit, v2 `memory.swap.max` 0 — where the kernel accounts
   * swap; without swap accounting there is no such file and nothing to limit). A limit the kernel refuses because the
   * group already uses more (v1 `EBUSY`) is logged and the group keeps its previous one.
   * @throws the file system's error otherwise.
   */
  private make(id: string, dir: string): void {
    mkdirSync(dir, { recursive: true });
    const limit = String(this.o.memoryBytes);
    try {
      if (this.version === 1) {
        const memsw = path.join(dir, 'memory.memsw.limit_in_bytes');
        const swapAccounted = existsSync(memsw);
        try {
          writeFileSync(path.join(dir, 'memory.limit_in_bytes'), limit);
        } catch (err) {
          // A limit above the group's memory+swap limit (raised since it was made) is refused until that is raised.
          if ((err as NodeJS.ErrnoException).code !== 'EINVAL' || !swapAccounted) throw err;
          writeFileSync(memsw, limit);
          writeFileSync(path.join(dir, 'memory.limit_in_bytes'), limit);
        }
        if (swapAccounted) writeFileSync(memsw, limit);
      } else {
        writeFileSync(path.join(dir, 'memory.max'), limit);
        if (existsSync(path.join(dir, 'memory.swap.max'))) writeFileSync(path.join(dir, 'memory.swap.max'), '0');
        writeFileSync(path.join(dir, 'memory.oom.group'), '1');
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
      this.o.log.warn(
        { instance: id, err, memoryLimitBytes: this.o.memoryBytes },
        'the instance uses more than its new memory limit; it keeps its previous one',
      );
    }
  }

  /**
   * Out-of-memory kills in instance `id`'s cgroup so far (v1 `memory.oom_control`, v2 `memory.events`: `oom_kill`);
   * undefined without the cgroup or the count.
   */
  oomKills(id: string): number | undefined {
    if (this.unavailable) return undefined;
    try {
      const file = this.version === 1 ? 'memory.oom_control' : 'memory.events';
      const m = /^oom_kill (\d+)$/m.exec(readFileSync(path.join(this.dirOf(id), file), 'utf8'));
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Memory charged to instance `id`'s cgroup now, bytes — what its limit is measured against: its processes' memory,
   * the page cache they brought in and kernel memory on their behalf (v1 `memory.usage_in_bytes`, v2
   * `memory.current`); undefined without the cgroup.
   */
  usage(id: string): number | undefined {
    if (this.unavailable) return undefined;
    try {
      const file = this.version === 1 ? 'memory.usage_in_bytes' : 'memory.current';
      const n = Number(readFileSync(path.join(this.dirOf(id), file), 'utf8').trim());
      return Number.isSafeInteger(n) ? n : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Removes instance `id`'s cgroup once its processes are gone (best effort; a missing one is fine). A process whose
   * exit is still under way keeps the cgroup busy for a moment, so a busy one is tried again for up to
   * {@link REMOVE_WAIT_MS}; then it is left (and logged) for {@link prune}.
   */
  async remove(id: string): Promise<void> {
    if (this.unavailable) return;
    const deadline = Date.now() + REMOVE_WAIT_MS;
    for (;;) {
      try {
        rmdirSync(this.dirOf(id));
        return;
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'ENOENT') return;
        if (e.code !== 'EBUSY' || Date.now() >= deadline) {
          this.o.log.warn({ instance: id, err }, 'could not remove the instance memory cgroup');
          return;
        }
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /**
   * Removes every empty instance cgroup under the parent — those of instances stopped while no api watched them (a
   * crashed api, a killed process). Best effort; one in use is left (the kernel refuses), and one removed just before
   * its instance is placed is made again by {@link place}.
   */
  prune(): void {
    if (this.unavailable) return;
    let names: string[];
    try {
      names = readdirSync(this.parent, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
    } catch {
      return;
    }
    for (const name of names) {
      try {
        if (readFileSync(path.join(this.parent, name, 'cgroup.procs'), 'utf8').trim() === '') rmdirSync(path.join(this.parent, name));
      } catch {
        /* in use, or gone */
      }
    }
  }

  private disable(reason: string): void {
    this.unavailable = reason;
    this.o.log.warn(
      { reason, memoryLimitBytes: this.o.memoryBytes },
      'instances run without memory limits: one could take the memory of the machine (see docs/architecture.md, "Memory limits of instances")',
    );
  }
}

/** This process's memory cgroup, read from `/proc/self`; undefined where those files are missing (not Linux). */
function readOwnCgroup(): MemoryCgroup | undefined {
  try {
    return memoryCgroupOf(readFileSync('/proc/self/cgroup', 'utf8'), readFileSync('/proc/self/mountinfo', 'utf8'));
  } catch {
    return undefined;
  }
}

/** cgroup v2: gives the children of `dir` the memory controller (needs it in `dir`'s own `cgroup.controllers`). */
function enableMemory(dir: string): void {
  const controllers = readFileSync(path.join(dir, 'cgroup.controllers'), 'utf8').split(/\s+/);
  if (!controllers.includes('memory')) throw new Error(`the memory controller is not available in ${dir}`);
  const enabled = readFileSync(path.join(dir, 'cgroup.subtree_control'), 'utf8').split(/\s+/);
  if (!enabled.includes('memory')) writeFileSync(path.join(dir, 'cgroup.subtree_control'), '+memory');
}
