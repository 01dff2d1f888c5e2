/**
 * Flags of the headless Chromium the dashboard's end-to-end run (`run.mts`) and its Lighthouse bench
 * (`bench/lighthouse.mts`) launch: no sandbox (this machine cannot sandbox), no GPU, and none of the browser's own
 * background traffic (component updates, sync, first-run pages), which would reach for the internet.
 */
export const TEST_CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
