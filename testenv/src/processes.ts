import { readdirSync, readFileSync } from 'node:fs';

/**
 * Counts live (non-zombie) processes whose command line matches `pattern`, by reading /proc.
 * Used to prove that no browser outlives its engine.
 */
export function countProcesses(pattern: RegExp): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state === 'Z' || state === 'X') continue;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (pattern.test(cmd)) n++;
    } catch {
      /* process ended while reading */
    }
  }
  return n;
}
