/**
 * A reconcile's logger whose pino child is made on its first call at an enabled level: `logger.child()` serialises
 * and redacts its bindings at once (about a quarter of the CPU of an up-to-date instance's reconcile), while most
 * reconciles — every one in a resync of up-to-date instances — log nothing.
 */
import type { LogFn, Logger } from 'pino';

/** The levels a reconcile logs at. */
export type ReconcileLog = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** `parent.child(bindings)`, made when first needed (see the module comment). */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): ReconcileLog {
  let child: Logger | undefined;
  const at = (level: keyof ReconcileLog): LogFn =>
    ((...args: unknown[]) => {
      if (!parent.isLevelEnabled(level)) return;
      child ??= parent.child(bindings);
      (child[level] as (this: Logger, ...a: unknown[]) => void).apply(child, args);
    }) as LogFn;
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
