/** The benchmarks' shared statistics and command line: what both the instance's and the operator's benches rely on. */
import { jest } from '@jest/globals';
import { finishReport, fmt, median, parseBenchArgs, percentile, table, type BenchSize } from '../src/index.js';

const sizes = {
  runs: { flag: 'runs', env: 'TESTENV_BENCH_RUNS', def: 3, min: 1 },
  reconciles: { flag: 'reconciles', env: 'TESTENV_BENCH_RECONCILES', def: 4, min: 1, max: 64 },
} satisfies Record<string, BenchSize>;
const options = { benches: ['create', 'memory'] as const, sizes, usage: 'usage: bench\n', extraFlags: ['list'] };

afterEach(() => {
  delete process.env.TESTENV_BENCH_RUNS;
  jest.restoreAllMocks();
});

test('median and percentile interpolate between closest ranks; fmt and table format for people', () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([1, 2, 3, 4])).toBe(2.5);
  expect(percentile([0, 10], 95)).toBe(9.5);
  expect(median([])).toBeNaN();
  expect(fmt(12_345.6)).toBe('12,346');
  expect(fmt(1.234)).toBe('1.23');
  expect(
    table(
      ['side', 'ms'],
      [
        ['a', 5],
        ['bb', 12],
      ],
    ),
  ).toBe('side  ms\n----  --\na      5\nbb    12');
});

test('parseBenchArgs: no positional runs every benchmark; sizes come from the flag, else the environment, else the default', () => {
  process.env.TESTENV_BENCH_RUNS = '7';
  const a = parseBenchArgs([], options);
  expect(a).toMatchObject({ benches: ['create', 'memory'], json: false, sizes: { runs: 7, reconciles: 4 } });
  const b = parseBenchArgs(['memory', '--json', '--runs', '2', '--list', '4,16'], options);
  expect(b).toMatchObject({ benches: ['memory'], json: true, sizes: { runs: 2, reconciles: 4 } });
  expect(b.raw('list', 'TESTENV_BENCH_LIST')).toBe('4,16');
  expect(b.raw('nothing', 'TESTENV_BENCH_NOTHING')).toBeUndefined();
});

test('parseBenchArgs refuses unknown benchmarks and sizes out of range, naming the flag and the variable', () => {
  expect(() => parseBenchArgs(['cpu'], options)).toThrow('unknown benchmark cpu; choose from create, memory\nusage: bench');
  expect(() => parseBenchArgs(['--runs', '0'], options)).toThrow('--runs / TESTENV_BENCH_RUNS must be an integer ≥ 1 (got 0)');
  expect(() => parseBenchArgs(['--reconciles', '65'], options)).toThrow(
    '--reconciles / TESTENV_BENCH_RECONCILES must be an integer in [1, 64] (got 65)',
  );
  expect(() => parseBenchArgs(['--runs', '1.5'], options)).toThrow('must be an integer');
});

test('finishReport sets totalMs, prints the total and, with json, the report with non-integers rounded to 3 decimals', () => {
  const lines: string[] = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  const report: { ratio: number; totalMs?: number } = { ratio: 0.123456 };
  finishReport(report, Date.now() - 1500, true);
  expect(report.totalMs).toBeGreaterThanOrEqual(1500);
  expect(lines[0]).toMatch(/^total 1\.\d s\n$/);
  expect(JSON.parse(lines[1]!)).toEqual({ ratio: 0.123, totalMs: report.totalMs });
});
