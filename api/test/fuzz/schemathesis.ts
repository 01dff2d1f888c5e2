/**
 * Runs Schemathesis (the pinned PyPI release `make tools` installs into the tools cache, linked as
 * `.tools/bin/schemathesis`) over one OpenAPI document against a running server, and returns its findings in a form a
 * person can act on: the failing operations with the check that failed and the `curl` that reproduces each.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findBinary } from '@wacloud/testenv';

/**
 * The checks every run makes: no 5xx, only documented statuses, bodies and content types as documented, 405 + Allow,
 * and a request valid by the document is not refused as invalid (see {@link ACCEPTED_WHEN_VALID}).
 */
export const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
  'unsupported_method',
  'allow_header_conformance',
  'positive_data_acceptance',
];

/**
 * What a request valid by the document may be answered: success, or a refusal that depends on state rather than on
 * the request's form (401/403 credentials, 402 funds, 404 an unknown id, 409 a conflict, 422 a well-formed but
 * refused value such as a webhook URL resolving to a private address, 429 throttling) — never 400.
 */
export const ACCEPTED_WHEN_VALID = ['2XX', '401', '402', '403', '404', '409', '422', '429'];

/**
 * Schemathesis warnings that fail the run: a pattern the fuzzer cannot read (its constraint would go untested).
 * (`validation_mismatch` stays a warning: it also counts 402 and 422, which depend on state — a tenant without funds.)
 */
export const FAILING_WARNINGS = ['unsupported_regex'];

export interface FuzzRun {
  /** A name for the output (e.g. `api`, `instance`). */
  name: string;
  /** The OpenAPI document (already fetched; written to a file for the run). */
  doc: unknown;
  /** Base URL the document's paths are relative to. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>` on every request. */
  token: string;
  /** operationId → why it is not fuzzed. */
  exclude?: Record<string, string>;
  /** Only these operationIds (after `exclude`). */
  include?: string[];
  /** Only operations whose path matches this regular expression. */
  includePathRegex?: string;
  /** Values the fuzzer uses for a parameter some of the time, e.g. `{ 'path.id': ['i-…'] }` (an existing resource). */
  known?: Record<string, string[]>;
  /** Test cases per operation (default 12). */
  maxExamples?: number;
  /** Whole-run bound, ms (default 300 s: a loaded 2-CPU machine took over 180 s); the run is killed beyond it and that is a failure. */
  timeoutMs?: number;
}

export interface FuzzResult {
  ok: boolean;
  /** Exit code of schemathesis (0: no finding). */
  code: number | null;
  /** The part of the output a person reads first: the failures with their reproductions, then the summary. */
  findings: string;
  /** The whole output. */
  output: string;
}

/** The schemathesis executable. @throws Error naming `make tools` when it is missing. */
export function schemathesisPath(): string {
  const p = findBinary('schemathesis');
  if (!p) throw new Error('schemathesis is not installed: run `make tools` (scripts/tools-schemathesis.sh)');
  return p;
}

/** Runs the fuzzer once; resolves with its findings (never rejects on findings). */
export async function fuzz(run: FuzzRun): Promise<FuzzResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `wacloud-fuzz-${run.name}-`));
  try {
    const schema = path.join(dir, 'openapi.json');
    writeFileSync(schema, JSON.stringify(run.doc));
    const config = path.join(dir, 'schemathesis.toml');
    writeFileSync(config, toml(run));
    const args = [
      '--config-file',
      config,
      'run',
      schema,
      '--url',
      run.baseUrl,
      '--header',
      `Authorization: Bearer ${run.token}`,
      '--checks',
      CHECKS.join(','),
      '--max-examples',
      String(run.maxExamples ?? 12),
      '--seed',
      '20261201',
      '--generation-deterministic',
      // One worker: several make CPython 3.11 (before 3.11.9) fail inside Hypothesis ("AST constructor recursion depth
      // mismatch", parsing from two threads at once).
      '--workers',
      '1',
      '--request-timeout',
      '60',
      '--no-color',
      '--continue-on-failure',
      '--report',
      'junit',
      '--report-dir',
      dir,
      ...Object.keys(run.exclude ?? {}).flatMap((id) => ['--exclude-operation-id', id]),
      ...(run.include ?? []).flatMap((id) => ['--include-operation-id', id]),
      ...(run.includePathRegex ? ['--include-path-regex', run.includePathRegex] : []),
      // FUZZ_OPERATIONS=op1,op2 narrows every run to those operationIds (re-running one finding).
      ...(process.env.FUZZ_OPERATIONS ?? '')
        .split(',')
        .filter(Boolean)
        .flatMap((id) => ['--include-operation-id', id]),
    ];
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      execFile(
        schemathesisPath(),
        args,
        {
          cwd: dir,
          timeout: run.timeoutMs ?? 300_000,
          maxBuffer: 64 * 1024 * 1024,
          env: { ...process.env, NO_COLOR: '1', COLUMNS: '160', SCHEMATHESIS_HOOKS: HOOKS },
        },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
          resolve({ code, output: `${stdout}${stderr}${err?.killed ? `\n[killed after ${run.timeoutMs ?? 300_000} ms]` : ''}` });
        },
      );
    });
    // The whole output, kept for reading after the run.
    const log = path.join(os.tmpdir(), `wacloud-fuzz-${run.name.replace(/\W+/g, '-')}.log`);
    writeFileSync(log, output);
    return { ok: code === 0, code, findings: `${findingsOf(output, run)}\n(whole output: ${log})`, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The documents' own string formats, for the fuzzer (`hooks.py`). */
const HOOKS = fileURLToPath(new URL('./hooks.py', import.meta.url));

/** The run's configuration file: the known parameter values (used half of the time, the fuzzer's own otherwise). */
function toml(run: FuzzRun): string {
  const lines: string[] = [
    `warnings = { fail-on = ${JSON.stringify(FAILING_WARNINGS)} }`,
    '',
    '[checks.positive_data_acceptance]',
    `expected-statuses = ${JSON.stringify(ACCEPTED_WHEN_VALID)}`,
    '',
  ];
  const known = Object.entries(run.known ?? {});
  if (known.length) {
    lines.push('[parameters]');
    known.forEach(([param], i) => lines.push(`${JSON.stringify(param)} = { dictionary = "known${i}", probability = 0.5 }`));
    known.forEach(([, values], i) => lines.push('', `[dictionaries.known${i}]`, `values = ${JSON.stringify(values)}`));
  }
  return `${lines.join('\n')}\n`;
}

/** The failures section and the summary of schemathesis' output, with the run named. */
function findingsOf(output: string, run: FuzzRun): string {
  const start = output.search(/^=+ FAILURES =+$/m);
  const body = start >= 0 ? output.slice(start) : output.slice(-6000);
  return `schemathesis over the ${run.name} document at ${run.baseUrl} (re-run alone: npx jest test/fuzz):\n${body}`;
}
