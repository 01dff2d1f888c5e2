/**
 * Readings of a process from Linux /proc and of an operator's Prometheus /metrics text: resident memory (VmRSS,
 * VmHWM), proportional set size (smaps_rollup Pss), open file descriptors (CPU time: testenv's `cpu.ts`).
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { parseLabels } from './api.js';

export interface ProcMemory {
  /** Resident set size (VmRSS), bytes. */
  rssBytes: number;
  /** Peak resident set size since start (VmHWM), bytes. */
  hwmBytes: number;
  /** Proportional set size (Pss of smaps_rollup: shared pages divided among their users), bytes; NaN if unreadable. */
  pssBytes: number;
}

function kibField(text: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** Memory of process `pid`. @throws Error when the process is gone. */
export function procMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  let pssBytes = Number.NaN;
  try {
    pssBytes = kibField(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
  } catch {
    /* kernel without smaps_rollup */
  }
  return { rssBytes: kibField(status, 'VmRSS'), hwmBytes: kibField(status, 'VmHWM'), pssBytes };
}

/** Open file descriptors of process `pid`, and how many of them are sockets. */
export function procFds(pid: number): { total: number; sockets: number } {
  const dir = `/proc/${pid}/fd`;
  let total = 0;
  let sockets = 0;
  for (const fd of readdirSync(dir)) {
    total++;
    try {
      if (readlinkSync(`${dir}/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      /* closed meanwhile */
    }
  }
  return { total, sockets };
}

/** Periodically samples a process' RSS and open sockets, keeping the maxima (and the number of samples). */
export class PeakSampler {
  maxRssBytes = 0;
  maxSockets = 0;
  samples = 0;
  private readonly timer: NodeJS.Timeout;

  /** Samples `pid` every `intervalMs` ms until {@link stop}. */
  constructor(
    private readonly pid: number,
    intervalMs = 500,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.sample();
  }

  /** Stops sampling (after one last sample). */
  stop(): this {
    this.sample();
    clearInterval(this.timer);
    return this;
  }

  private sample(): void {
    try {
      this.maxRssBytes = Math.max(this.maxRssBytes, procMemory(this.pid).rssBytes);
      this.maxSockets = Math.max(this.maxSockets, procFds(this.pid).sockets);
      this.samples++;
    } catch {
      /* process gone */
    }
  }
}

/** Sum of the samples of metric `name` in a Prometheus text whose labels include `labels` (NaN if none). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = Number.NaN;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    const have = parseLabels(line);
    if (!Object.entries(labels).every(([k, v]) => have[k] === v)) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    sum = Number.isNaN(sum) ? v : sum + v;
  }
  return sum;
}

/** `after - before` of request counts, only the keys that grew, largest first. */
export function countDelta(before: Map<string, number>, after: Map<string, number>): Array<[string, number]> {
  return [...after]
    .map(([k, v]): [string, number] => [k, v - (before.get(k) ?? 0)])
    .filter(([, d]) => d > 0)
    .sort((a, b) => b[1] - a[1]);
}
