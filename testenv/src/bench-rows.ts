/**
 * One table for every benchmark: each bench reports its figures as rows (figure, value, goal, met) with
 * {@link benchRow}; when `BENCH_ROWS` names a file, each row is appended to it as one JSON line, and the last step
 * of `make bench` (`scripts/bench-table.mjs`) prints them all as one table. Without `BENCH_ROWS` a row is only printed.
 */
import { appendFileSync } from 'node:fs';
import os from 'node:os';

/** One figure of a benchmark and its goal. */
export interface BenchRow {
  /** Workspace / component, e.g. `api`, `instance`, `operator`. */
  component: string;
  /** What is measured, e.g. `gateway GET /v1/messages c=16 p99 ratio`. */
  figure: string;
  /** The measured value (NaN when it could not be measured). */
  value: number;
  /** Unit or kind of the value, e.g. `×`, `MiB`, `ms`. */
  unit: string;
  /** The goal as text, e.g. `≤ 1.3`; empty when the figure is informative only. */
  goal: string;
  /** Whether the goal is met; null when there is no goal. */
  met: boolean | null;
  /** How to reproduce this line (a command). */
  reproduce: string;
  /** A note: the sizes, the baseline, why not measured. */
  note?: string;
}

/** The comparison of a goal: `≤ x` or `≥ x`. */
export function goalMet(value: number, goal: string): boolean | null {
  const m = /^(≤|<=|≥|>=|=)\s*([\d.]+)/.exec(goal.trim());
  if (!m || !Number.isFinite(value)) return m ? false : null;
  const x = Number(m[2]);
  if (m[1] === '≤' || m[1] === '<=') return value <= x;
  if (m[1] === '≥' || m[1] === '>=') return value >= x;
  return value === x;
}

/**
 * Records a row: printed to stdout as `row: …`, and appended as a JSON line to the file `BENCH_ROWS` names.
 * `met` defaults to {@link goalMet}(value, goal).
 */
export function benchRow(row: Omit<BenchRow, 'met'> & { met?: boolean | null }): BenchRow {
  const full: BenchRow = { ...row, met: row.met === undefined ? goalMet(row.value, row.goal) : row.met };
  const v = Number.isFinite(full.value) ? String(Math.round(full.value * 1000) / 1000) : 'n/a';
  const verdict = full.met === null ? '' : full.met ? ' — met' : ' — NOT met';
  process.stdout.write(
    `row: ${full.component} ${full.figure} = ${v}${full.unit ? ` ${full.unit}` : ''}${full.goal ? ` (goal ${full.goal}${verdict})` : ''}\n`,
  );
  const file = process.env.BENCH_ROWS;
  if (file)
    appendFileSync(
      file,
      `${JSON.stringify({ ...full, value: Number.isFinite(full.value) ? full.value : null, at: new Date().toISOString(), loadavg: os.loadavg() })}\n`,
    );
  return full;
}
