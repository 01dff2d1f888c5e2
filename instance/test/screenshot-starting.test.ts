/**
 * A screenshot while the webjs run starts, against a real headless Chromium: a page whose capture fails the way a
 * busy machine's first page did (its DevTools session detached: puppeteer's TargetCloseError "Session closed" while
 * the page is not closed) is skipped for another page when there is one, and otherwise answers "not ready yet, retry"
 * — `ScreenNotReadyError` from `screenshotPng`, `EngineNotReadyError` with `retryAfterMs` from `runScreenshot`, and
 * `GET /v1/screenshot` 409 `session_not_ready` with Retry-After — instead of puppeteer's error. Once the run is no
 * longer starting, the same failure is thrown as before.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { Histogram, Registry } from 'prom-client';
import type { Browser, CDPSession, Page } from 'puppeteer-core';
import { createApp } from '@wacloud/kit';
import { chromiumPath } from '@wacloud/testenv';
import { EngineNotReadyError, type SessionState } from '../src/engines/engine.js';
import { closeBrowser, launchChromium, screenshotPng, ScreenNotReadyError } from '../src/engines/webjs/browser.js';
import type { WebjsClient } from '../src/engines/webjs/client.js';
import { runScreenshot, SCREENSHOT_RETRY_AFTER_MS, type BrowserRun } from '../src/engines/webjs/run.js';
import { publicRoutes, type PublicDeps } from '../src/http/routes-public.js';
import { callEngine } from '../src/services/engine-errors.js';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let profile: string;
let browser: Browser;
/** A page whose DevTools session was detached: its capture fails with TargetCloseError, yet it is not closed. */
let refusing: Page;
let open: Page;
/** A second browser whose page never answers a capture: its renderer's main thread spins (what a capture racing
 * whatsapp-web.js's new page showed, without the race). Its own browser, as the renderer is shared within one. */
let busyBrowser: Browser;
let busy: Page;

/** Detaches puppeteer's session to `page` (what a busy machine's first page showed): the target itself stays. */
async function detachSession(page: Page): Promise<void> {
  // puppeteer's own session objects (not in its public types): the page's, and the browser's it was attached through.
  const session = (page as unknown as { _client(): CDPSession & { parentSession(): CDPSession | undefined } })._client();
  await session.parentSession()?.send('Target.detachFromTarget', { sessionId: session.id() });
}

beforeAll(async () => {
  profile = mkdtempSync(path.join(tmpdir(), 'wacloud-screenshot-starting-'));
  browser = await launchChromium({ executablePath: chromiumPath(), userDataDir: profile });
  refusing = await browser.newPage();
  await detachSession(refusing);
  open = await browser.newPage();
  await open.setContent('<h1>whatsapp-web.js page</h1>');
  // The failure under test, as puppeteer reports it.
  const err = (await refusing.screenshot({ type: 'png' }).catch((e: unknown) => e)) as Error;
  expect(err.name).toBe('TargetCloseError');
  expect(refusing.isClosed()).toBe(false);
  busyBrowser = await launchChromium({ executablePath: chromiumPath(), userDataDir: path.join(profile, 'busy') });
  busy = await busyBrowser.newPage();
  await busy.setContent('<h1>busy</h1>');
  // Its main thread spins from the next task on: no frame is produced again, so a capture never answers.
  await busy.evaluate('setTimeout(() => { for (;;); }, 0)');
}, 60_000);

afterAll(async () => {
  await closeBrowser(busyBrowser);
  await closeBrowser(browser);
  rmSync(profile, { recursive: true, force: true });
});

/** A pick over `pages` in order that skips those whose capture failed, counting its calls and what it was handed. */
function skippingPicker(...pages: Page[]) {
  const p = {
    calls: 0,
    handed: [] as number[],
    pick: async (failed: ReadonlySet<Page>) => {
      p.calls++;
      p.handed.push(failed.size);
      return pages.find((page) => !failed.has(page));
    },
  };
  return p;
}

/** A starting run on the test browser whose whatsapp-web.js client has `pupPage` as its page. */
function startingRun(pupPage: Page): BrowserRun {
  return { browser, starting: true, settle: () => undefined, settled: Promise.resolve(), client: { pupPage } as unknown as WebjsClient };
}

describe('screenshotPng while the run starts', () => {
  it('skips a page whose capture failed (not closed) and captures the next one', async () => {
    const p = skippingPicker(refusing, open);
    const png = await screenshotPng(p.pick, () => true, { starting: () => true });
    expect(png?.subarray(0, 8)).toEqual(PNG_MAGIC);
    expect(p.calls).toBe(2);
    expect(p.handed).toEqual([0, 1]); // the second pick was told the refusing page failed
  });

  it('throws ScreenNotReadyError, not puppeteer error, when no other page is left — at once, not after the window', async () => {
    const p = skippingPicker(refusing);
    const t0 = Date.now();
    const err = (await screenshotPng(p.pick, () => true, { starting: () => true }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ScreenNotReadyError);
    expect((err.cause as Error).name).toBe('TargetCloseError');
    expect(err.message).toMatch(/cannot be captured yet: .*Session closed/);
    expect(p.calls).toBe(2);
    expect(Date.now() - t0).toBeLessThan(3_000); // the default window is 5 s
  });

  it('throws ScreenNotReadyError when a pick that ignores failures hands the failed page again', async () => {
    let calls = 0;
    const pick = async () => (calls++, refusing);
    await expect(screenshotPng(pick, () => true, { starting: () => true })).rejects.toBeInstanceOf(ScreenNotReadyError);
    expect(calls).toBe(2);
  });

  it('once not starting, the same failure is puppeteer error again, thrown at the window end', async () => {
    const p = skippingPicker(refusing, open);
    const err = (await screenshotPng(p.pick, () => true, { starting: () => false, pauseMs: 20, windowMs: 300 }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err).not.toBeInstanceOf(ScreenNotReadyError);
    expect(err.name).toBe('TargetCloseError');
    expect(p.handed.every((n) => n === 0)).toBe(true); // nothing is skipped then
    expect(p.calls).toBeGreaterThanOrEqual(2);
  });

  it('a capture that never answers fails after captureTimeoutMs: while starting the next page is captured', async () => {
    const p = skippingPicker(busy, open);
    const t0 = Date.now();
    const png = await screenshotPng(p.pick, () => true, { starting: () => true, captureTimeoutMs: 500 });
    expect(png?.subarray(0, 8)).toEqual(PNG_MAGIC);
    expect(p.handed).toEqual([0, 1]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
  });

  it('a capture that never answers: ScreenNotReadyError while starting with no other page, the timeout otherwise', async () => {
    const starting = (await screenshotPng(skippingPicker(busy).pick, () => true, { starting: () => true, captureTimeoutMs: 300 }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(starting).toBeInstanceOf(ScreenNotReadyError);
    expect(starting.message).toMatch(/cannot be captured yet: the screen capture timed out after 300 ms/);
    const working = (await screenshotPng(skippingPicker(busy, open).pick, () => true, { captureTimeoutMs: 300 }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(working).not.toBeInstanceOf(ScreenNotReadyError);
    expect(working.message).toBe('the screen capture timed out after 300 ms');
  });

  it('a run no longer live throws puppeteer error at once, starting or not', async () => {
    const p = skippingPicker(refusing, open);
    const err = (await screenshotPng(p.pick, () => false, { starting: () => true }).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('TargetCloseError');
    expect(p.calls).toBe(1);
  });
});

describe('runScreenshot', () => {
  it('while starting, a client page that refuses the capture is EngineNotReadyError with retryAfterMs', async () => {
    const err = (await runScreenshot(startingRun(refusing), () => 'STARTING').catch((e: unknown) => e)) as EngineNotReadyError;
    expect(err).toBeInstanceOf(EngineNotReadyError);
    expect(err.sessionState).toBe('STARTING');
    expect(err.retryAfterMs).toBe(SCREENSHOT_RETRY_AFTER_MS);
  });

  it('while starting, the client page is captured when it can be', async () => {
    const png = await runScreenshot(startingRun(open), () => 'STARTING');
    expect(png?.subarray(0, 8)).toEqual(PNG_MAGIC);
  });

  it('not starting (e.g. SCAN_QR_CODE), the failure is puppeteer error as before', async () => {
    const run = { ...startingRun(refusing), starting: false };
    const err = (await runScreenshot(run, () => 'SCAN_QR_CODE').catch((e: unknown) => e)) as Error;
    expect(err).not.toBeInstanceOf(EngineNotReadyError);
    expect(err.name).toBe('TargetCloseError');
  }, 20_000);

  it('an ending run has no screenshot', async () => {
    const run: BrowserRun = { ...startingRun(open), ending: { state: 'STOPPED', reason: 'stop' } };
    await expect(runScreenshot(run, () => 'STARTING')).resolves.toBeUndefined();
  });
});

describe('GET /v1/screenshot', () => {
  let server: http.Server;
  let url: string;
  let run: BrowserRun;
  let state: SessionState;

  beforeAll(async () => {
    // The session controller's screenshot is `callEngine(() => engine.screenshot())`, and the webjs engine's is
    // `runScreenshot(run)` or EngineNotReadyError: that chain, on the real browser.
    const session = {
      screenshot: () =>
        callEngine(async () => {
          const png = await runScreenshot(run, () => state);
          if (!png) throw new EngineNotReadyError(state);
          return png;
        }),
    } as unknown as PublicDeps['session'];
    const routes = publicRoutes({ session } as PublicDeps).filter((r) => r.operationId === 'screenshot');
    const registry = new Registry();
    const app = createApp({
      routes,
      logger: pino({ level: 'silent' }),
      registry,
      httpDuration: new Histogram({ name: 'd', help: 'h', labelNames: ['method', 'route', 'status_code'], registers: [registry] }),
      bodyLimitBytes: 1024,
      openapi: () => ({}),
      authenticate: async () => undefined,
    });
    server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/screenshot`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('answers 409 session_not_ready with Retry-After while starting and the screen cannot be captured', async () => {
    run = startingRun(refusing);
    state = 'STARTING';
    const res = await fetch(url);
    expect(res.status).toBe(409);
    expect(res.headers.get('retry-after')).toBe('1');
    const body = (await res.json()) as { error: { code: string; message: string; details?: unknown } };
    expect(body.error.code).toBe('session_not_ready');
    expect(body.error.message).toMatch(/STARTING and cannot do this yet; retry in 1 s/);
    expect(body.error.details).toEqual({ sessionState: 'STARTING', retryAfterS: 1 });
  });

  it('answers the PNG once the client page can be captured', async () => {
    run = startingRun(open);
    state = 'STARTING';
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await res.arrayBuffer()).subarray(0, 8)).toEqual(PNG_MAGIC);
  });

  it('answers 409 session_not_ready without Retry-After when no browser runs', async () => {
    run = { starting: false, settle: () => undefined, settled: Promise.resolve() };
    state = 'STOPPED';
    const res = await fetch(url);
    expect(res.status).toBe(409);
    expect(res.headers.get('retry-after')).toBeNull();
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('session_not_ready');
    expect(body.error.message).toMatch(/STOPPED; log in/);
  });
});
