/**
 * The logging surface the runtime needs: a structural subset of pino's `Logger` (`pino()` satisfies it), so callers
 * inject their own logger and tests can pass {@link silentLogger}.
 */
export interface RuntimeLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Discards everything. */
export const silentLogger: RuntimeLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/**
 * `{ err: { message, name?, code?, status?, reason?, cause? } }` for a log line, whatever was thrown (`status` and
 * `reason` are an ApiServerError's). Duck-typed rather than `instanceof Error`, which fails for errors from another
 * realm (Jest's VM contexts, worker threads).
 */
export function errFields(err: unknown): {
  err: { message: string; name?: string; code?: unknown; status?: unknown; reason?: unknown; cause?: string };
} {
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') {
    const e = err as { message: string; name?: unknown; code?: unknown; status?: unknown; reason?: unknown; cause?: unknown };
    const cause =
      e.cause === undefined
        ? undefined
        : typeof e.cause === 'object' && e.cause !== null && 'message' in e.cause
          ? String((e.cause as { message: unknown }).message)
          : String(e.cause);
    return {
      err: {
        message: e.message,
        name: typeof e.name === 'string' ? e.name : undefined,
        code: e.code,
        status: e.status,
        reason: e.reason || undefined,
        cause,
      },
    };
  }
  return { err: { message: String(err) } };
}
