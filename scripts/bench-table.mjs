#!/usr/bin/env node
/**
 * The last step of `make bench`: prints every row the benchmarks appended to the JSON-lines files (arguments, else
 * `BENCH_ROWS`) as one table — figure, value, goal, met — with the machine's cores, memory and load average.
 * `--markdown` prints it as a Markdown table (for BENCHMARKS.md). `--failed a,b` adds a row per workspace whose bench
 * exited non-zero. Exit code 0 (the table is the report; a missed goal is a figure, not a failure).
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';

const args = process.argv.slice(2);
const markdown = args.includes('--markdown');
const failedAt = args.indexOf('--failed');
const failed = failedAt >= 0 ? (args[failedAt + 1] ?? '').split(',').filter(Boolean) : [];
const files = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--failed');
if (files.length === 0 && process.env.BENCH_ROWS) files.push(process.env.BENCH_ROWS);
if (files.length === 0) {
  console.error('usage: bench-table.mjs [--markdown] [--failed ws,…] ROWS.jsonl… (or BENCH_ROWS=…)');
  process.exit(2);
}
const file = files.join(', ');
const rows = files.flatMap((f) =>
  existsSync(f)
    ? readFileSync(f, 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l))
    : [],
);
for (const ws of failed)
  rows.push({
    component: ws,
    figure: 'bench run',
    value: null,
    unit: '',
    goal: 'exit 0',
    met: false,
    reproduce: `npm run bench -w ${ws}`,
    note: 'the bench exited non-zero',
  });

const fmt = (v) =>
  v === null || v === undefined ? 'n/a' : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
const verdict = (m) => (m === null ? '—' : m ? 'met' : 'NOT met');
const table = rows.map((r) => [
  r.component,
  r.figure,
  `${fmt(r.value)}${r.unit ? ` ${r.unit}` : ''}`,
  r.goal || '—',
  verdict(r.met),
  r.note ?? '',
]);
const header = ['component', 'figure', 'value', 'goal', 'met', 'note'];
const loads = rows.map((r) => r.loadavg?.[0]).filter((x) => typeof x === 'number');
const machine =
  `${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB memory, ` +
  `load average (1 min) while measuring: ${loads.length ? `${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}` : 'n/a'}; now ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
const met = rows.filter((r) => r.met === true).length;
const goals = rows.filter((r) => r.met !== null).length;

if (markdown) {
  console.log(`Machine: ${machine}\n`);
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const r of table) console.log(`| ${r.map((c) => String(c).replaceAll('|', '\\|')).join(' | ')} |`);
  console.log(`\n${met} of ${goals} goals met.`);
} else {
  const w = header.map((h, i) => Math.max(h.length, ...table.map((r) => String(r[i]).length)));
  const line = (r) =>
    r
      .map((c, i) => String(c).padEnd(w[i]))
      .join('  ')
      .trimEnd();
  console.log(`\n══ wacloud benchmarks — ${machine}`);
  console.log(line(header));
  console.log(line(w.map((n) => '─'.repeat(n))));
  for (const r of table) console.log(line(r));
  console.log(`${met} of ${goals} goals met (rows: ${file}).`);
}
