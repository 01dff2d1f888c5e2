import { DestroyRef, inject } from '@angular/core';

/** Runs `fn` now (unless `start: false`; then at the first `now()`) and every `ms` while the calling component lives (no overlap: waits for the previous run). */
export function poll(fn: () => Promise<unknown>, ms: number, opts: { start?: boolean } = {}): { now(): Promise<void> } {
  const destroyRef = inject(DestroyRef);
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | null = null;
  const run = (): Promise<void> => {
    clearTimeout(timer);
    running ??= Promise.resolve()
      .then(fn)
      .catch(() => undefined)
      .then(() => {
        running = null;
        if (!stopped) timer = setTimeout(run, ms);
      });
    return running;
  };
  destroyRef.onDestroy(() => {
    stopped = true;
    clearTimeout(timer);
  });
  if (opts.start !== false) void run();
  return { now: run };
}
