/**
 * Resolves in a later task, so that the browser may paint and handle input in between: `scheduler.yield()` where the
 * browser has it (the continuation runs ahead of other queued tasks), else a 0 ms timeout. Pages use it between the
 * requests of their first load, each of which costs main-thread time of its own (issue 18, Lighthouse: no long task).
 */
export function yieldToMain(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  return typeof scheduler?.yield === 'function' ? scheduler.yield() : new Promise((resolve) => setTimeout(resolve, 0));
}
