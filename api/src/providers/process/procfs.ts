/**
 * Process identity and signals from Linux's `/proc`: which live processes run a given instance (by their command
 * line), signals to whole process groups (an instance and its children, e.g. browsers), and their CPU priority.
 * Linux only.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * The fields of `/proc/<pid>/stat` after the command name (which may hold spaces and parentheses): [0] the state,
 * [1] the parent, [2] the process group, …; undefined when the process is gone.
 */
function statFields(pid: number): string[] | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The command line of `pid` split into arguments; undefined when it is gone or a zombie. */
export function liveCmdline(pid: number): string[] | undefined {
  try {
    const state = statFields(pid)?.[0];
    if (state === undefined || state === 'Z' || state === 'X') return undefined;
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.split('\0').filter((a) => a.length > 0);
  } catch {
    return undefined;
  }
}

/** Whether live process `pid` has every one of `args` among its arguments. */
export function runsWith(pid: number, args: readonly string[]): boolean {
  const cmd = liveCmdline(pid);
  return cmd !== undefined && args.every((a) => cmd.includes(a));
}

/** Pids of every live process whose arguments include every one of `args` (read from /proc; none when unreadable). */
export function findProcesses(args: readonly string[]): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  return entries.filter((e) => /^\d+$/.test(e) && runsWith(Number(e), args)).map(Number);
}

/** Sends `signal` to process group `pgid`; false when the group no longer exists. */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** What {@link lowerGroupPriority} changed. */
export interface PriorityChange {
  /** Threads (of every process in the group) whose nice value was raised to the target. */
  threads: number;
  /** Whether the group's autogroup (its session's CPU share, when the kernel groups by session) was lowered. */
  autogroup: boolean;
  /** The first refusal (EPERM, a read-only /proc), if any; what was changed before it stays changed. */
  error?: Error | undefined;
}

/** The nice value of `/proc/<pid>/autogroup` ("/autogroup-N nice V"); undefined without the file (no autogroups). */
function autogroupNice(pid: number): number | undefined {
  try {
    const m = /nice\s+(-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The process group of live `pid` (field 5 of `/proc/<pid>/stat`); undefined when it is gone. */
function groupOf(pid: number): number | undefined {
  const pgrp = statFields(pid)?.[2];
  return pgrp === undefined ? undefined : Number(pgrp);
}

/** The live processes of process group `pgid` (a scan of `/proc`), the leader first when alive; the leader alone when unreadable. */
export function groupPids(pgid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [pgid];
  }
  const members = entries
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => pid !== pgid && groupOf(pid) === pgid);
  return groupOf(pgid) === pgid ? [pgid, ...members] : members;
}

/**
 * Lowers the CPU priority of process group `pgid` (an instance and its browsers) to nice value `nice` (0–19; higher
 * is lower priority), never raising any: each thread of each member whose nice is below `nice` gets `nice` (on Linux
 * nice is per thread, and threads started before the call keep their own; later ones inherit their creator's), and
 * the group leader's autogroup, when the kernel has them (`/proc/<pid>/autogroup`), gets `nice` too — with
 * autogroups, a process in its own session (the provider spawns detached) competes with other sessions by its
 * session's nice alone, not by its threads'. docs/architecture.md, "CPU priority of instances".
 *
 * `pids`: the group's processes ({@link groupPids}, a scan of `/proc`, by default); right after a spawn the leader
 * alone (it has no children yet: its program starts them later — and a reconcile that starts hundreds of instances
 * pays no scan per start).
 *
 * Best effort: a thread that ends meanwhile is skipped; a refusal (EPERM) is returned, not thrown. Linux only.
 */
export function lowerGroupPriority(pgid: number, nice: number, pids: number[] = groupPids(pgid)): PriorityChange {
  const change: PriorityChange = { threads: 0, autogroup: false };
  const fail = (err: unknown) => {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'ESRCH' && e.code !== 'ENOENT') change.error ??= e;
  };
  /** `tid`'s nice raised to `nice` unless it is there or above. */
  const lower = (tid: number) => {
    try {
      if (getPriority(tid) >= nice) return;
      setPriority(tid, nice);
      change.threads++;
    } catch (err) {
      fail(err);
    }
  };
  for (const pid of pids) {
    // The main thread first, then the threads listed after it: a thread it starts meanwhile inherits the new nice.
    lower(pid);
    let tids: number[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`).map(Number);
    } catch (err) {
      fail(err);
    }
    for (const tid of tids) if (tid !== pid) lower(tid);
  }
  const current = autogroupNice(pgid);
  if (current !== undefined && current < nice) {
    try {
      writeFileSync(`/proc/${pgid}/autogroup`, String(nice));
      change.autogroup = true;
    } catch (err) {
      fail(err);
    }
  }
  return change;
}
