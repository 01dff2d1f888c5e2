/** One browser run of the `webjs` engine: the Chromium it launched and the whatsapp-web.js client on it. */
import type { Browser } from 'puppeteer-core';
import { screenshotPng } from './browser.js';
import type { WebjsClient } from './client.js';
import type { SessionState } from '../engine.js';

/** One browser + whatsapp-web.js client, from launch to teardown. Event handlers ignore runs no longer current. */
export interface BrowserRun {
  browser?: Browser | undefined;
  /** PID of the Chromium browser process (leader of its process group). */
  pid?: number | undefined;
  client?: WebjsClient | undefined;
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

/**
 * PNG of the run's WhatsApp Web page (or the browser's last page, e.g. Chromium's error page after a failed load);
 * undefined when no browser runs or the run is ending.
 */
export async function runScreenshot(run: BrowserRun | undefined): Promise<Buffer | undefined> {
  const browser = run?.browser;
  if (!run || !browser || run.ending) return undefined;
  return screenshotPng(
    async () => run.client?.pupPage ?? (await browser.pages()).at(-1),
    () => !run.ending,
  );
}
