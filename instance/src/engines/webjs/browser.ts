/**
 * Chromium for the `webjs` engine: launching the system Chromium with puppeteer-core into a given profile, clearing
 * a crashed pod's stale profile lock first, closing it without leaving orphans, and measuring its memory as PSS over
 * the whole process tree (the browser process plus its zygotes, renderers and utility processes).
 *
 * Linux only (reads /proc). Nothing here knows about WhatsApp.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { lstat, readlink, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { launchWithSandboxPolicy, NO_SANDBOX_FLAG, type ChromiumSandboxMode, type SandboxLogger } from './sandbox.js';

/**
 * Flags every launch gets (puppeteer adds `--headless=new` and its own defaults, minus {@link IGNORED_DEFAULT_ARGS};
 * puppeteer merges our `--disable-features` / `--enable-features` into its own lists, which already disable
 * Translate, MediaRouter and OptimizationHints). No `--no-sandbox`: Chromium keeps its sandbox unless `sandbox`
 * ({@link LaunchOptions}) says otherwise. `--disable-blink-features=AutomationControlled` is what whatsapp-web.js
 * adds when it launches the browser itself. The rest is {@link MEMORY_ARGS}.
 *
 * Note: Debian's Chromium daemonizes two small `chrome_crashpad_handler` processes (parent 1, own process groups, so
 * outside the browser's tree: not measured, not group-killed); they exit by themselves when the browser exits.
 * `--disable-crashpad-for-testing` would avoid them but makes navigations fail with `net::ERR_ABORTED` here.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-blink-features=AutomationControlled',
];

/**
 * Flags that cut the idle browser's memory (issue 18 item 6; `npm run bench -w instance -- memory` measures it).
 * With the engine's page loaded, they took the tree's private memory (Pss_Anon + Pss_Shmem summed over the browser's
 * processes) from ~160 MiB to ~87 MiB, and the processes from 10 to 5, on Chromium 156 (instance/README.md, "Memory"):
 *
 * - `WebUIOmniboxPopup`, `WebUIOmniboxAimPopup`, `WebUIOmniboxFullPopup` disabled: even headless, Chromium 15x
 *   preloads the address bar's drop-down as WebUI pages (`chrome://omnibox-popup.top-chrome/`), each in its own
 *   renderer; nobody ever types into the address bar here. −40 MiB, the largest single item.
 * - `SpareRendererForSitePerProcess` disabled: no idle renderer kept warm for the next navigation.
 * - `site-per-process`, `IsolateOrigins` disabled and `--disable-site-isolation-trials`, with
 *   `--renderer-process-limit=1`: every page, frame and worker in one renderer. The browser only ever shows
 *   WhatsApp Web (one site), so site isolation protects nothing here; puppeteer's `about:blank` tab and whatsapp-web.js'
 *   page share that renderer.
 * - `BackForwardCache` disabled: no previous page kept alive in memory after a navigation (whatsapp-web.js reloads
 *   WhatsApp Web on logout; the old document is thrown away).
 * - `NetworkServiceInProcess2` enabled: the network service runs in the browser process instead of its own utility
 *   process (a network-service crash then takes the browser down, which the engine's reconnect restarts anyway).
 * - `--in-process-gpu`: the (software, `--disable-gpu`) compositor runs in the browser process instead of a GPU
 *   process.
 *
 * Not adopted: `--single-process` (saves a few MiB more, but Chromium does not support it and renderer crashes then
 * kill the browser); `--js-flags` for the page's V8 heap (no measurable effect on the idle page here, and a heap cap
 * would crash WhatsApp Web of a large account); blocking images, fonts or media in the page by request interception
 * (whatsapp-web.js intercepts requests itself to serve its cached WhatsApp Web and answers every request it sees, so
 * a second interceptor makes its handler throw "Request is already handled"; offline there is nothing to measure).
 */
export const MEMORY_ARGS: readonly string[] = [
  '--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup,WebUIOmniboxFullPopup,SpareRendererForSitePerProcess,site-per-process,IsolateOrigins,BackForwardCache',
  '--disable-site-isolation-trials',
  '--renderer-process-limit=1',
  '--enable-features=NetworkServiceInProcess2',
  '--in-process-gpu',
];

/**
 * puppeteer defaults we do not want: `--disable-dev-shm-usage` (Kubernetes mounts a memory-backed /dev/shm, so
 * shared memory stays in RAM) and `--enable-automation` (the "controlled by automated software" marker).
 */
export const IGNORED_DEFAULT_ARGS: readonly string[] = ['--disable-dev-shm-usage', '--enable-automation'];

/** Files Chromium's process singleton keeps in the profile directory. */
export const SINGLETON_FILES = ['SingletonLock', 'SingletonSocket', 'SingletonCookie'] as const;

/** Thrown when the profile's `SingletonLock` belongs to a Chromium that is still running on this host. */
export class ProfileInUseError extends Error {
  constructor(
    public readonly profileDir: string,
    public readonly pid: number,
  ) {
    super(`Chromium profile ${profileDir} is in use by running process ${pid}`);
    this.name = 'ProfileInUseError';
  }
}

/**
 * Removes Chromium's `SingletonLock` / `SingletonSocket` / `SingletonCookie` from `profileDir` so that a profile left
 * behind by a crashed or killed pod can be opened again (Chromium refuses a lock naming another host, and in a
 * restarted pod the recorded PID may even belong to an unrelated live process).
 *
 * Refuses (throws {@link ProfileInUseError}) only when the lock names this host and a live process whose command line
 * carries `--user-data-dir=<profileDir>`: then another browser of ours really uses the profile.
 * @returns the names of the files removed (empty when there were none; a missing directory is fine).
 */
export async function removeStaleSingletonFiles(profileDir: string): Promise<string[]> {
  const lock = path.join(profileDir, 'SingletonLock');
  const target = await readlink(lock).catch(() => undefined);
  if (target) {
    // The lock is a dangling symlink to "<hostname>-<pid>".
    const m = /^(.*)-(\d+)$/.exec(target);
    if (m && m[1] === hostname()) {
      const pid = Number(m[2]);
      const cmdline = readProc(`/proc/${pid}/cmdline`)?.split('\0') ?? [];
      if (cmdline.includes(`--user-data-dir=${path.resolve(profileDir)}`)) throw new ProfileInUseError(profileDir, pid);
    }
  }
  const removed: string[] = [];
  for (const name of SINGLETON_FILES) {
    const file = path.join(profileDir, name);
    // lstat: these are (usually dangling) symlinks; rm removes the link itself, never its target.
    if (
      await lstat(file).then(
        () => true,
        () => false,
      )
    ) {
      await rm(file, { force: true });
      removed.push(name);
    }
  }
  return removed;
}

export interface LaunchOptions {
  /** Chromium executable (e.g. /usr/bin/chromium — Debian's wrapper script execs the real binary, keeping the PID). */
  executablePath: string;
  /** Profile directory (`--user-data-dir`). */
  userDataDir: string;
  /** Extra command-line flags appended to {@link CHROMIUM_ARGS} and {@link MEMORY_ARGS}. */
  extraArgs?: readonly string[] | undefined;
  /** Launch timeout, ms (default 30 000). */
  timeoutMs?: number | undefined;
  /** Chromium's sandbox (`WACLOUD_CHROMIUM_SANDBOX`, see `sandbox.ts`). Default `auto`. */
  sandbox?: ChromiumSandboxMode | undefined;
  /** Where the no-sandbox warning goes. */
  logger?: SandboxLogger | undefined;
}

/**
 * Launches Chromium headless with a DevTools WebSocket endpoint (`browser.wsEndpoint()`, loopback, random port) that
 * another puppeteer (whatsapp-web.js') can connect to. The browser is the leader of its own process group
 * (puppeteer spawns it detached), so {@link closeBrowser} can kill the whole tree. Signal handlers are left to the
 * caller. Sandboxed unless `options.sandbox` and the machine say otherwise (`launchWithSandboxPolicy`).
 * @throws ChromiumSandboxError with sandbox `on` when Chromium cannot start sandboxed; Error from puppeteer when
 * Chromium does not start (message includes Chromium's stderr).
 */
export async function launchChromium(options: LaunchOptions): Promise<Browser> {
  return launchWithSandboxPolicy(options.sandbox ?? 'auto', options.logger, (noSandbox) => launchOnce(options, noSandbox));
}

function launchOnce(options: LaunchOptions, noSandbox: boolean): Promise<Browser> {
  return puppeteer.launch({
    executablePath: options.executablePath,
    headless: true,
    userDataDir: options.userDataDir,
    args: [...(noSandbox ? [NO_SANDBOX_FLAG] : []), ...CHROMIUM_ARGS, ...MEMORY_ARGS, ...(options.extraArgs ?? [])],
    ignoreDefaultArgs: [...IGNORED_DEFAULT_ARGS],
    defaultViewport: null,
    pipe: false,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    timeout: options.timeoutMs ?? 30_000,
  });
}

/**
 * Closes a browser launched by {@link launchChromium} and makes sure no process of it remains: a graceful
 * `browser.close()` bounded by `timeoutMs`, then SIGKILL to the browser's process group (zygotes and renderers
 * included), then waits (up to 2 s) for the group to disappear. Never throws; safe to call twice.
 */
export async function closeBrowser(browser: Browser, timeoutMs = 5_000): Promise<void> {
  const pid = browser.process()?.pid;
  await withTimeout(browser.close(), timeoutMs).catch(() => undefined);
  if (pid === undefined) return;
  if (groupAlive(pid)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + 2_000;
  while (groupAlive(pid) && Date.now() < deadline) await sleep(50);
}

/**
 * How long a screenshot keeps picking a page again after the one picked closed under it, ms. Three picks 100 ms apart
 * were not enough on a busy machine (a clean-clone CI trial saw the third closed too). It bounds a swap of pages, not
 * the wait for whatsapp-web.js's own page: until the client has connected, the page picked is the browser's first,
 * which on a busy machine can refuse the capture for longer than this (a later CI trial) — while the run starts, that
 * is a {@link ScreenNotReadyError} at once (the caller tells the client to retry), not a wait.
 */
const SCREENSHOT_REPICK_WINDOW_MS = 5_000;
/** Pause before picking again after a page closed under the screenshot, ms: the swap of pages is under way. */
const SCREENSHOT_REPICK_MS = 100;
/**
 * Longest one capture may take, ms (a capture of WhatsApp Web takes ~50–150 ms here). Chromium can leave one
 * unanswered; puppeteer would then wait for its protocol timeout (180 s), and every later capture through the same
 * connection would wait behind it (puppeteer takes one capture at a time per browser context).
 */
export const SCREENSHOT_CAPTURE_TIMEOUT_MS = 5_000;

/** A screenshot failed while the run starts and no other page was left to capture; `cause` is the last failure. */
export class ScreenNotReadyError extends Error {
  constructor(cause: unknown) {
    super(`the screen cannot be captured yet: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ScreenNotReadyError';
  }
}

/**
 * PNG of the page `pick` returns, or undefined when it returns none. While whatsapp-web.js starts, the page picked
 * can be closed under us (it swaps the browser's first page for its own, and on a busy machine the page picked next
 * can still be the closing one): picks again every `pauseMs` (default 100) for up to `windowMs` (default
 * {@link SCREENSHOT_REPICK_WINDOW_MS}) while `live()` — when the page reports itself closed, or when puppeteer's error
 * says its target closed (the error can arrive before the page's close event, so `isClosed()` is still false then).
 *
 * While `starting()` (default: never) and `live()`, a page that reports itself closed is still picked again that way;
 * any other failed capture adds its page to the set `pick` is handed (`pick` should choose another page than those)
 * and picks again at once. When `pick` then has no page left (it returns none, or one that failed already), or the
 * window has passed, throws {@link ScreenNotReadyError}: the screen cannot be captured yet. A capture that has not
 * answered within `captureTimeoutMs` (default {@link SCREENSHOT_CAPTURE_TIMEOUT_MS}) has failed (a timeout error).
 * @throws ScreenNotReadyError as above; otherwise puppeteer's error (or the timeout's) when the screenshot fails other
 *   than by a close, when `live()` turns false, or when pages still close under it at the window's end.
 */
export async function screenshotPng(
  pick: (failed: ReadonlySet<Page>) => Promise<Page | undefined>,
  live: () => boolean,
  o: { windowMs?: number; pauseMs?: number; captureTimeoutMs?: number; starting?: () => boolean } = {},
): Promise<Buffer | undefined> {
  const pauseMs = o.pauseMs ?? SCREENSHOT_REPICK_MS;
  const captureTimeoutMs = o.captureTimeoutMs ?? SCREENSHOT_CAPTURE_TIMEOUT_MS;
  const until = Date.now() + (o.windowMs ?? SCREENSHOT_REPICK_WINDOW_MS);
  const failed = new Set<Page>();
  let last: { err: unknown } | undefined; // the last failure while starting
  for (;;) {
    const page = await pick(failed);
    if (last && (!page || failed.has(page))) throw new ScreenNotReadyError(last.err);
    if (!page) return undefined;
    try {
      return Buffer.from(await withTimeout(page.screenshot({ type: 'png' }), captureTimeoutMs, 'the screen capture'));
    } catch (err) {
      const windowOpen = Date.now() + pauseMs <= until;
      if (live() && o.starting?.()) {
        last = { err };
        if (!windowOpen) throw new ScreenNotReadyError(err);
        if (page.isClosed()) await sleep(pauseMs);
        else failed.add(page);
        continue;
      }
      const closed = page.isClosed() || (err as Error).name === 'TargetCloseError';
      if (!closed || !live() || !windowOpen) throw err;
      await sleep(pauseMs);
    }
  }
}

/** True while a live (non-zombie) process belongs to process group `pgid`. */
export function groupAlive(pgid: number): boolean {
  for (const { pid, pgrp, state } of listProcesses()) {
    if (pgrp === pgid && state !== 'Z' && state !== 'X' && pid > 0) return true;
  }
  return false;
}

/** PID and its descendants (depth-first, root first), from a scan of /proc/<pid>/stat. Empty when `rootPid` is gone. */
export function processTree(rootPid: number): number[] {
  const procs = listProcesses();
  if (!procs.some((p) => p.pid === rootPid)) return [];
  const children = new Map<number, number[]>();
  for (const p of procs) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const out: number[] = [];
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    if (out.includes(pid)) continue;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * Proportional set size of one process in bytes, from `/proc/<pid>/smaps_rollup` (`Pss:` line, kB), falling back to
 * summing `/proc/<pid>/smaps` on kernels without the rollup. 0 when the process is gone or unreadable.
 */
export function pssBytes(pid: number): number {
  const rollup = readProc(`/proc/${pid}/smaps_rollup`);
  if (rollup !== undefined) {
    const m = /^Pss:\s+(\d+) kB/m.exec(rollup);
    return m ? Number(m[1]) * 1024 : 0;
  }
  const smaps = readProc(`/proc/${pid}/smaps`);
  if (smaps === undefined) return 0;
  let kb = 0;
  for (const m of smaps.matchAll(/^Pss:\s+(\d+) kB/gm)) kb += Number(m[1]);
  return kb * 1024;
}

/**
 * Memory of a browser in bytes: PSS summed over `rootPid` and all its descendants. PSS splits shared pages among
 * the processes sharing them, so the sum does not over-count Chromium's shared libraries the way an RSS sum does.
 * Returns undefined when `rootPid` no longer exists.
 */
export function processTreePssBytes(rootPid: number): number | undefined {
  const pids = processTree(rootPid);
  if (pids.length === 0) return undefined;
  return pids.reduce((sum, pid) => sum + pssBytes(pid), 0);
}

interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  /** One-letter state (R, S, D, Z, …). */
  state: string;
}

function listProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProc(`/proc/${name}/stat`);
    if (!stat) continue;
    // "pid (comm) state ppid pgrp …" — comm may contain spaces and parentheses, so split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.push({ pid: Number(name), state: rest[0] ?? '', ppid: Number(rest[1]), pgrp: Number(rest[2]) });
  }
  return out;
}

function readProc(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves/rejects like `promise`, or rejects with `Error('timed out after N ms')`. The timer never keeps Node alive. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
