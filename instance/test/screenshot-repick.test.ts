/**
 * `screenshotPng` against a real headless Chromium: a page closed under the screenshot (as whatsapp-web.js swaps the
 * browser's first page for its own while it starts) is picked again within the window, for as long as the run is live
 * and the window lasts; any other failure is thrown at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { chromiumPath } from '@wacloud/testenv';
import { closeBrowser, launchChromium, screenshotPng } from '../src/engines/webjs/browser.js';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let profile: string;
let browser: Browser;
let open: Page;
let closed: Page;

beforeAll(async () => {
  profile = mkdtempSync(path.join(tmpdir(), 'wacloud-screenshot-'));
  browser = await launchChromium({ executablePath: chromiumPath(), userDataDir: profile });
  open = await browser.newPage();
  await open.setContent('<h1>open</h1>');
  closed = await browser.newPage();
  await closed.close();
}, 60_000);

afterAll(async () => {
  await closeBrowser(browser);
  rmSync(profile, { recursive: true, force: true });
});

/** A pick that hands out `pages` in turn (the last one from then on), counting its calls. */
function picker(...pages: Page[]) {
  const p = {
    calls: 0,
    pick: async () => pages[Math.min(p.calls++, pages.length - 1)],
  };
  return p;
}

it('picks again while pages close under it, past three picks, and returns the open page', async () => {
  const p = picker(closed, closed, closed, closed, open);
  const png = await screenshotPng(p.pick, () => true, { pauseMs: 20, windowMs: 5_000 });
  expect(png?.subarray(0, 8)).toEqual(PNG_MAGIC);
  expect(p.calls).toBe(5);
});

it('gives up with the close error once the window has passed', async () => {
  const p = picker(closed);
  const t0 = Date.now();
  await expect(screenshotPng(p.pick, () => true, { pauseMs: 50, windowMs: 300 })).rejects.toThrow();
  const took = Date.now() - t0;
  expect(took).toBeGreaterThanOrEqual(200);
  expect(took).toBeLessThan(5_000);
  expect(p.calls).toBeGreaterThanOrEqual(2); // picked again at least once (more on an idle machine: ~5)
  expect(p.calls).toBeLessThanOrEqual(8);
});

it('does not pick again once the run is no longer live', async () => {
  const p = picker(closed, open);
  await expect(screenshotPng(p.pick, () => false, { pauseMs: 20 })).rejects.toThrow();
  expect(p.calls).toBe(1);
});

it('throws a failure other than a closed page at once', async () => {
  // An open page whose capture fails for another reason (puppeteer refuses a zero-sized clip before capturing).
  const failing = Object.assign(Object.create(null) as object, {
    isClosed: () => open.isClosed(),
    screenshot: () => open.screenshot({ type: 'png', clip: { x: 0, y: 0, width: 0, height: 0 } }),
  }) as unknown as Page;
  const p = picker(failing, open);
  await expect(screenshotPng(p.pick, () => true, { pauseMs: 20 })).rejects.toThrow(/width/);
  expect(p.calls).toBe(1);
});

it('returns undefined when there is no page to pick', async () => {
  await expect(
    screenshotPng(
      async () => undefined,
      () => true,
    ),
  ).resolves.toBeUndefined();
});
