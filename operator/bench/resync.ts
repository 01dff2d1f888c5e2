/**
 * The CPU time of one periodic resync of the operator: every RESYNC_PERIOD_MS (default 30 s) the instances informer
 * re-delivers every cached WhatsAppInstance and the operator reconciles each again. With every instance up to date
 * such a reconcile should find nothing to do; this measures what doing nothing costs the operator, in CPU seconds
 * (utime + stime from /proc/<pid>/stat, 10 ms ticks).
 *
 * How: the operator's /metrics (`controller_runtime_reconcile_total`) is read every {@link POLL_MS} ms, and the
 * operator's CPU time just before each read. The window opens at the last read before the count starts to grow (the
 * resync began after it) and closes at the first read after the count has grown by at least the number of instances
 * and then stood still for one more read (the resync is over). So the figure also holds the operator's idle work of up
 * to two poll periods and two or three answers to /metrics — a few ms, reported as `idleCpuSecondsPerPoll` (measured
 * before, over polls without a reconcile).
 */
import { procCpuSeconds } from '@wacloud/testenv';
import { metricValue } from './proc.js';

/** Interval between two reads of the operator's /metrics while waiting for a resync, ms. */
export const POLL_MS = 1000;

export interface ResyncResult {
  /** Operator CPU time over the window, s. */
  cpuSeconds: number;
  /** Reconciles in the window (≥ the instances). */
  reconciles: number;
  /** Length of the window (first read that saw the resync → count still), ms. */
  windowMs: number;
  /** Operator CPU per poll period while idle (no reconcile), s: the noise floor in {@link cpuSeconds} is ~2× this. */
  idleCpuSecondsPerPoll: number;
}

interface Reading {
  at: number;
  cpu: number;
  reconciles: number;
}

/**
 * Waits for the operator's next periodic resync of `instances` instances and returns its CPU time (see the module
 * comment).
 * @throws Error when no resync is seen within `timeoutMs`.
 */
export async function measureResync(
  pid: number,
  metrics: () => Promise<string>,
  instances: number,
  timeoutMs: number,
): Promise<ResyncResult> {
  const read = async (): Promise<Reading> => {
    const cpu = procCpuSeconds(pid);
    const text = await metrics();
    return { at: performance.now(), cpu, reconciles: metricValue(text, 'controller_runtime_reconcile_total') };
  };
  const sleep = () => new Promise((r) => setTimeout(r, POLL_MS));
  const deadline = performance.now() + timeoutMs;
  // Still: two reads with the same count (a resync in progress is let finish first).
  let prev = await read();
  const idle: number[] = [];
  let start: Reading | undefined;
  while (!start) {
    if (performance.now() > deadline) throw new Error(`no resync seen within ${timeoutMs} ms`);
    await sleep();
    const r = await read();
    if (r.reconciles === prev.reconciles) idle.push(r.cpu - prev.cpu);
    else if (idle.length > 0) start = prev; // the count grew after a still period: the resync began after `prev`
    prev = r;
  }
  let last = prev;
  for (;;) {
    if (performance.now() > deadline) throw new Error(`the resync did not end within ${timeoutMs} ms`);
    await sleep();
    const r = await read();
    const done = r.reconciles === last.reconciles && r.reconciles - start.reconciles >= instances;
    last = r;
    if (done) break;
  }
  return {
    cpuSeconds: last.cpu - start.cpu,
    reconciles: last.reconciles - start.reconciles,
    windowMs: last.at - start.at,
    idleCpuSecondsPerPoll: idle.reduce((a, b) => a + b, 0) / idle.length,
  };
}
