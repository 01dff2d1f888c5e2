/**
 * The dashboard e2e's own small test harness (run.mts and its step files): named steps that count as passed or failed
 * (a failure skips the dependent steps after it), assertions, polling, screenshots, JSON requests, and what a failure
 * leaves for whoever reads the CI log (`printDiagnostics`: the api's output and every instance's log).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Where screenshots go: dashboard/e2e-screenshots/ (git-ignored) unless E2E_SCREENSHOTS_DIR says otherwise. */
export const shotsDir = process.env.E2E_SCREENSHOTS_DIR ?? path.join(here, '..', 'e2e-screenshots');
/** Playwright's default wait, and {@link until}'s, ms. */
export const STEP_TIMEOUT = 30_000;

let passed = 0;
let failed = 0;
let broken = false;
const failures: string[] = [];
let page: Page | undefined;

/** Empties the screenshot folder (at the start of a run). */
export function resetShots(): void {
  rmSync(shotsDir, { recursive: true, force: true });
  mkdirSync(shotsDir, { recursive: true });
}

/** The page {@link shot} photographs (the main browser tab). */
export function usePage(p: Page): void {
  page = p;
}

/**
 * Runs one named check; after a failure the rest are reported as failed without running (they depend on it), unless
 * the check is `independent` (it neither depends on nor breaks the others). A check with `blocking: false` needs the
 * earlier ones but its own failure does not skip the later ones. A failure is photographed (`FAILED-<name>.png`).
 */
export async function step(name: string, fn: () => Promise<void>, o: { independent?: boolean; blocking?: boolean } = {}): Promise<void> {
  if (broken && !o.independent) {
    failed++;
    console.log(`  - ${name} (not run: an earlier step failed)`);
    return;
  }
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`  ✓ ${name} (${Date.now() - t0} ms)`);
  } catch (err) {
    failed++;
    if (!o.independent && o.blocking !== false) broken = true;
    failures.push(name);
    console.log(`  ✗ ${name}\n    ${(err as Error).stack ?? err}`.replace(/\n/g, '\n    '));
    await shot(`FAILED-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`).catch(() => undefined);
  }
}

/** Counts a failure outside any step (the set-up). */
export function failOutsideSteps(what: string, err: unknown): void {
  failed++;
  console.log(`e2e: ${what}: ${(err as Error).stack ?? err}`);
}

/** The run's totals so far. */
export function results(): { passed: number; failed: number; failures: readonly string[] } {
  return { passed, failed, failures };
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** A full-page screenshot of the main page as `<name>.png` in {@link shotsDir} (nothing before {@link usePage}). */
export async function shot(name: string): Promise<void> {
  if (!page) return;
  await page.screenshot({ path: path.join(shotsDir, `${name}.png`), fullPage: true });
}

/** Polls `fn` every 250 ms until it returns something truthy; @throws after `timeoutMs` with its last error. */
export async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = STEP_TIMEOUT): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A JSON request: the status and the parsed body (undefined when empty). */
export async function json(url: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...(init?.headers ?? {}) } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Local convenience: without `make tools` links, use the FerretDB that scripts/tools.sh cached outside the clone. */
export function useCachedFerret(): void {
  if (process.env.MONGODB_URI || process.env.WACLOUD_TOOLS_DIR) return;
  const cache = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'wacloud', 'tools');
  if (!existsSync(cache)) return;
  const dir = readdirSync(cache)
    .filter((d) => d.startsWith('ferretdb-'))
    .sort()
    .pop();
  if (dir && existsSync(path.join(cache, dir, 'wacloud-ferretdb'))) process.env.PATH = `${process.env.PATH}:${path.join(cache, dir)}`;
}

/** Bytes of each log's tail {@link printDiagnostics} prints. */
const LOG_TAIL_BYTES = 12_000;

/**
 * After a failure, before the data root is removed: the tail of the api's output and of each instance's
 * `instance.log` (the process provider's log of its starts and the instance's own lines), so that a failure seen only
 * in CI can be read from its log.
 */
export function printDiagnostics(apiOutput: string | undefined, dataRoot: string): void {
  if (apiOutput !== undefined) console.log(`--- api output (tail) ---\n${apiOutput.slice(-LOG_TAIL_BYTES)}`);
  if (!existsSync(dataRoot)) return;
  for (const dir of readdirSync(dataRoot)) {
    const log = path.join(dataRoot, dir, 'instance.log');
    if (!existsSync(log)) continue;
    console.log(`--- instance ${dir}: instance.log (tail) ---\n${readFileSync(log, 'utf8').slice(-LOG_TAIL_BYTES)}`);
  }
}

/** Instance processes are detached by the process provider: stop any still running from this run's data root. */
export function killLeftovers(dataRoot: string): void {
  if (!existsSync(dataRoot)) return;
  for (const dir of readdirSync(dataRoot)) {
    const pidFile = path.join(dataRoot, dir, 'pid');
    if (!existsSync(pidFile)) continue;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes(dataRoot) && !cmd.includes('instance/dist/main.js')) continue;
      process.kill(-pid, 'SIGKILL');
      console.log(`e2e: killed leftover instance process ${pid}`);
    } catch {
      /* gone */
    }
  }
}
