/**
 * How every wacloud HTTP service answers an error, whether express's error handler (`http-app.ts`) or a front route
 * (`front-route.ts`) met it: a coded {@link HttpError} as itself; body-parser style errors (`entity.too.large`,
 * `entity.parse.failed`, unsupported encodings) and any other 4xx-status error as kit's codes; an unreachable MongoDB
 * as 503 `storage_unavailable`; anything else as 500 `internal`, logged with its stack. The body is
 * `{ "error": { "code", "message", "details"? } }` (`HttpError.toJSON`), never a stack.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { HttpError, KitError } from './http-error.js';

/** Whether `err` is the MongoDB driver's "the server cannot be reached" (answered 503, not 500). */
function isMongoUnavailable(err: unknown): boolean {
  const name = (err as { name?: string } | undefined)?.name ?? '';
  return /MongoServerSelectionError|MongoNetworkError|MongoNotConnectedError|MongoNetworkTimeoutError/.test(name);
}

/**
 * The coded error `err` is answered with (see the file's docstring). An unexpected error is logged at `error` with its
 * stack on `log` (the request's logger when there is one).
 */
export function toHttpError(err: unknown, log: Logger): HttpError {
  const e = err as { type?: string; limit?: number; message?: unknown; status?: unknown } | undefined;
  if (err instanceof HttpError) return err;
  if (e?.type === 'entity.too.large')
    return new KitError('payload_too_large', `The body exceeds ${e.limit} bytes.`, { limitBytes: e.limit });
  if (e?.type === 'entity.parse.failed')
    return new KitError('invalid_json', `The body is not valid JSON: ${String(e.message).slice(0, 200)}`);
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported')
    return new KitError('unsupported_media_type', String(e.message));
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500)
    return new KitError('invalid_request', String(e.message ?? 'Bad request'));
  if (isMongoUnavailable(err)) return new KitError('storage_unavailable');
  log.error({ err }, 'unhandled error');
  return new KitError('internal');
}

/**
 * Sends `e` as the response (status, JSON body with its length) and leaves its code in `res.locals.errorCode` for the
 * request log. An error whose `details.retryAfterS` is a whole number of seconds ≥ 1 (e.g. a busy or starting
 * resource) also sends it as `Retry-After`, unless a route has set that header itself. A response whose headers are
 * out already is only ended (cut short).
 */
export function sendError(res: ServerResponse & { locals?: Record<string, unknown> }, e: HttpError): void {
  res.locals ??= {};
  res.locals.errorCode = e.code;
  if (res.headersSent) return void res.end();
  const body = JSON.stringify(e.toJSON());
  const retryAfterS = (e.details as { retryAfterS?: unknown } | undefined)?.retryAfterS;
  if (Number.isSafeInteger(retryAfterS) && (retryAfterS as number) >= 1 && !res.hasHeader('retry-after'))
    res.setHeader('retry-after', String(retryAfterS));
  res.statusCode = e.status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}
