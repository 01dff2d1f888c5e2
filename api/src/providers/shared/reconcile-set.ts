/**
 * The shape every provider's `reconcile(desired)` shares: compare what should exist with what does, then run one task
 * per instance with bounded concurrency, attempting every task and keeping the first error for the caller.
 */
import type { Logger } from 'pino';

/** One unit of reconcile work on one instance. */
export interface ReconcileTask {
  /** What the task does (`ensure`, `apply`, `remove`, `stop`), for the log line of a failure. */
  what: string;
  /** The instance (or object) it works on. */
  id: string;
  run(): Promise<void>;
}

/** Default number of reconcile tasks in flight. */
export const RECONCILE_CONCURRENCY = 8;

/** Ids in `actual` that are not in `desired` (the strays), in `actual`'s order, without duplicates. */
export function strayIds(desired: Iterable<string>, actual: Iterable<string>): string[] {
  const want = new Set(desired);
  return [...new Set(actual)].filter((id) => !want.has(id));
}

/** Outcome of {@link runReconcileTasks}. */
export interface ReconcileOutcome {
  /** Tasks that failed. */
  failed: number;
  /** Rethrows the first failure (in completion order), if any: call it after logging a summary. */
  throwFirst(): void;
}

/**
 * Runs every task, at most `concurrency` (default {@link RECONCILE_CONCURRENCY}) at a time. A failed task is logged
 * (warn, `reconcile: <what> failed`) and does not stop the others; the first error is kept for
 * {@link ReconcileOutcome.throwFirst}. Never rejects.
 */
export async function runReconcileTasks(
  tasks: readonly ReconcileTask[],
  o: { concurrency?: number | undefined; log: Logger },
): Promise<ReconcileOutcome> {
  const errors: unknown[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const t = tasks[next++]!;
      try {
        await t.run();
      } catch (err) {
        o.log.warn({ instance: t.id, err }, `reconcile: ${t.what} failed`);
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, o.concurrency ?? RECONCILE_CONCURRENCY), tasks.length) }, worker));
  return {
    failed: errors.length,
    throwFirst() {
      if (errors.length > 0) throw errors[0];
    },
  };
}
