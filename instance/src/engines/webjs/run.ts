/** One browser run of the `webjs` engine: the Chromium it launched and the whatsapp-web.js client on it. */
import type { Browser, Page } from 'puppeteer-core';
import { ScreenNotReadyError, screenshotPng } from './browser.js';
import type { WebjsClient } from './client.js';
import { EngineNotReadyError, type SessionState } from '../engine.js';

/** One browser + whatsapp-web.js client, from launch to teardown. Event handlers ignore runs no longer current. */
export interface BrowserRun {
  browser?: Browser | undefined;
  /** PID of the Chromium browser process (leader of its process group). */
  pid?: number | undefined;
  client?: WebjsClient | undefined;
  /** The browser's own first page (puppeteer's `about:blank`, listed at launch): the screen until the client has one. */
  page?: Page | undefined;
  /**
   * Set once the run is ending: the state it ends in (undefined: no state change, e.g. a watchdog restart),
   * whether the stored session must be removed after the browser closed (logged out from the phone), and whether
   * the start is retried with backoff (then `state` is what the session becomes when the budget is spent).
   */
  ending?: { state: SessionState | undefined; reason: string; wipe?: boolean; retry?: boolean } | undefined;
  /** True while the start operation waits for its outcome (then endings are handled by that operation). */
  starting: boolean;
  /** Wakes the start operation (first QR/code, ready, or an ending). */
  settle: () => void;
  settled: Promise<void>;
}

/** How long a client is told to wait before asking for a screenshot again while the run starts, ms. */
export const SCREENSHOT_RETRY_AFTER_MS = 1_000;

/**
 * PNG of the run's WhatsApp Web page (whatsapp-web.js's `client.pupPage`, also when it shows Chromium's error page
 * after a failed load), or of the browser's first page (`run.page`) until the client has opened its own; undefined
 * when no browser runs, the run is ending, or (once started) it has no page. Never lists the browser's pages: over
 * our connection puppeteer sets up every page it lists, and for the page whatsapp-web.js had just opened that set-up
 * was seen not to end until the browser closed (1 screenshot during a start in ~50 on this machine).
 * @param state the session's state now (for the error).
 * @throws EngineNotReadyError with `retryAfterMs` {@link SCREENSHOT_RETRY_AFTER_MS} while the run starts and no page
 *   can be captured yet (none is open yet, or the browser's first page refuses the capture — "Session closed", or no
 *   answer within the capture timeout — before whatsapp-web.js opened its own); puppeteer's error for a failed capture
 *   otherwise (see {@link screenshotPng}).
 */
export async function runScreenshot(run: BrowserRun | undefined, state: () => SessionState): Promise<Buffer | undefined> {
  if (!run?.browser || run.ending) return undefined;
  const pick = async () => run.client?.pupPage ?? run.page;
  let png: Buffer | undefined;
  try {
    png = await screenshotPng(pick, () => !run.ending, { starting: () => run.starting });
  } catch (err) {
    if (err instanceof ScreenNotReadyError) throw new EngineNotReadyError(state(), SCREENSHOT_RETRY_AFTER_MS, { cause: err });
    throw err;
  }
  if (!png && run.starting && !run.ending) throw new EngineNotReadyError(state(), SCREENSHOT_RETRY_AFTER_MS);
  return png;
}
