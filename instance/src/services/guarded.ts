/** Running event handlers so that a failure is logged, never thrown back into the emitter (the engine). */
import type { Logger } from 'pino';

/** Runs `fn`; a throw or a rejected promise is logged as `<what> failed`. */
export function runGuarded(logger: Logger, what: string, fn: () => unknown): void {
  try {
    const r = fn();
    if (r instanceof Promise) r.catch((err: Error) => logger.error({ err }, `${what} failed`));
  } catch (err) {
    logger.error({ err }, `${what} failed`);
  }
}
