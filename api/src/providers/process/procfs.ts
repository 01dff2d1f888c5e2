/**
 * Process identity and signals from Linux's `/proc`: which live processes run a given instance (by their command
 * line), and signals to whole process groups (an instance and its children, e.g. browsers). Linux only.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The command line of `pid` split into arguments; undefined when it is gone or a zombie. */
export function liveCmdline(pid: number): string[] | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return undefined;
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
