/**
 * What the workspaces' benchmarks (`npm run bench`) share: statistics, text tables, and their command line — sizes from
 * flags or the environment, progress on stderr, the report on stdout, the closing total and JSON line.
 */
import { parseArgs } from 'node:util';

/** The median of `xs` (mean of the two middle values for an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

/**
 * The `p`-th percentile of `xs` (0–100), linear interpolation between closest ranks; NaN when empty.
 * Units are those of `xs`.
 */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo]! + (s[hi]! - s[lo]!) * (rank - lo);
}

/** Rounds to `digits` decimals (for the JSON line). */
export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Renders rows as a text table with a header rule, every line prefixed by `indent`. Numeric columns are right-aligned. */
export function table(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>, indent = ''): string {
  const cells = [header.map(String), ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].map((l) => indent + l).join('\n');
}

/** Human formatting: thousands separators for large values, 2–3 significant decimals for small ones. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1000) return String(x);
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  if (Math.abs(x) >= 100) return x.toFixed(0);
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** A size a benchmark reads from `--<flag>`, else the environment variable `env`, else `def`: an integer in [min, max]. */
export interface BenchSize {
  flag: string;
  env: string;
  def: number;
  min: number;
  max?: number;
}

/** What {@link parseBenchArgs} reads. */
export interface BenchArgsOptions<B extends string, K extends string> {
  /** The benchmarks a positional argument may name; none (or `all`) runs every one. */
  benches: readonly B[];
  sizes: Record<K, BenchSize>;
  /** Printed by `--help`/`-h`, after which the process exits 0. */
  usage: string;
  /** Further string flags, read with `raw`. */
  extraFlags?: readonly string[];
}

/** A benchmark's parsed command line. */
export interface BenchArgs<B extends string, K extends string> {
  benches: B[];
  /** `--json`: print the report as one JSON line last. */
  json: boolean;
  sizes: Record<K, number>;
  /** The raw value of `--<flag>`, else of the environment variable `env`; undefined when neither is set or empty. */
  raw(flag: string, env: string): string | undefined;
}

/**
 * Parses a benchmark's arguments: positionals choose benchmarks, `--json`, `--help`, and one integer per size
 * (flag, else environment variable, else default).
 * @throws Error for an unknown benchmark (with the usage) or a size that is not an integer in its range.
 */
export function parseBenchArgs<B extends string, K extends string>(argv: string[], o: BenchArgsOptions<B, K>): BenchArgs<B, K> {
  const sources = Object.entries(o.sizes) as Array<[K, BenchSize]>;
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      ...Object.fromEntries(
        [...sources.map(([, s]) => s.flag), ...(o.extraFlags ?? [])].map((flag) => [flag, { type: 'string' as const }]),
      ),
    },
  });
  if (values.help) {
    process.stdout.write(o.usage);
    process.exit(0);
  }
  const names = o.benches as readonly string[];
  const unknown = positionals.filter((p) => !names.includes(p) && p !== 'all');
  if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(', ')}; choose from ${o.benches.join(', ')}\n${o.usage}`);
  const chosen = positionals.filter((p): p is B => names.includes(p));
  const raw = (flag: string, env: string): string | undefined => {
    const v = (values as Record<string, unknown>)[flag] ?? process.env[env];
    return v === undefined || v === '' ? undefined : String(v);
  };
  const sizes = {} as Record<K, number>;
  for (const [key, s] of sources) {
    const r = raw(s.flag, s.env);
    const n = r === undefined ? s.def : Number(r);
    if (!Number.isInteger(n) || n < s.min || (s.max !== undefined && n > s.max)) {
      throw new Error(
        `--${s.flag} / ${s.env} must be an integer ${s.max === undefined ? `≥ ${s.min}` : `in [${s.min}, ${s.max}]`} (got ${r})`,
      );
    }
    sizes[key] = n;
  }
  return { benches: chosen.length ? chosen : [...o.benches], json: values.json === true, sizes, raw };
}

/** Writes a progress line to stderr, prefixed `[bench]`. */
export const benchLog = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);

/** Writes a line of the report to stdout (an empty line by default). */
export const benchOut = (text = ''): void => void process.stdout.write(`${text}\n`);

/**
 * Closes a report: sets `report.totalMs` (since `startedMs`, epoch ms), prints `total <s> s` and, with `json`, the
 * report as one JSON line with non-integers rounded to 3 decimals.
 */
export function finishReport(report: { totalMs?: number }, startedMs: number, json: boolean): void {
  report.totalMs = Date.now() - startedMs;
  benchOut(`total ${(report.totalMs / 1000).toFixed(1)} s`);
  if (json) benchOut(JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? round(v, 3) : v)));
}

/** Runs a benchmark's `main`; a failure is printed to stderr (with its stack) and sets the exit code to 1. */
export function runBench(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
