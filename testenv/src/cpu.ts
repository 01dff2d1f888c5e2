/**
 * CPU time from Linux /proc for the benchmarks: of one process (`/proc/<pid>/stat`) and of the whole machine
 * (`/proc/stat`'s first line, every CPU summed).
 */
import { existsSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc times (USER_HZ; 100 on every mainstream Linux build). */
export const CLK_TCK = 100;

/** User + system CPU time of process `pid` so far (not its children's), s; NaN when it is gone or unknown. */
export function procCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (1-based).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/**
 * Busy and total CPU time of the machine so far, clock ticks summed over its CPUs (idle and iowait are not busy);
 * undefined where there is no /proc.
 */
export function machineCpuTicks(): { busy: number; total: number } | undefined {
  if (!existsSync('/proc/stat')) return undefined;
  const t = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = t.reduce((a, b) => a + b, 0);
  return { busy: total - t[3]! - (t[4] ?? 0), total };
}

/** CPU seconds of a few processes at one instant, for deltas over a phase. */
export type CpuSnapshot = Record<string, number>;

/** CPU time so far of each named pid (and of this process, as `bench`), s. */
export function cpuSnapshot(pids: Record<string, number | undefined>): CpuSnapshot {
  const u = process.cpuUsage();
  const snap: CpuSnapshot = { bench: (u.user + u.system) / 1e6 };
  for (const [name, pid] of Object.entries(pids)) snap[name] = procCpuSeconds(pid);
  return snap;
}

/** `after - before` per process, s. */
export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): CpuSnapshot {
  return Object.fromEntries(Object.keys(after).map((k) => [k, (after[k] ?? Number.NaN) - (before[k] ?? Number.NaN)]));
}
