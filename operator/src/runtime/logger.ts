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

/** `{ err: { message, code?, statusCode? } }` for a log line, whatever was thrown. */
export function errFields(err: unknown): { err: { message: string; name?: string; code?: unknown; statusCode?: unknown } } {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; statusCode?: unknown };
    return { err: { message: e.message, name: e.name, code: e.code, statusCode: e.statusCode } };
  }
  return { err: { message: String(err) } };
}
