/**
 * The request log and duration metric of requests answered ahead of express (`front-route.ts`, e.g. the api's
 * gateway, which proxies every client request to an instance): the same
 * request id, completion line and `http_request_duration_seconds` observation as pino-http and the duration
 * middleware give the other requests, without pino-http's per-request child logger (it serialises and redacts the
 * request up front for every request, logged or not — about a tenth of the api's CPU per proxied request; see
 * BENCHMARKS.md, gateway). A line is only built when its level is enabled: successes are `debug`, 4xx `info`, an
 * expected 503 `warn`, other 5xx `error` ({@link requestLogLevel}); a response cut off before it finished is a
 * `warn` "request aborted".
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Histogram } from 'prom-client';

/** The request id: the client's `X-Request-Id` (first 64 characters) or a new UUID, echoed in the answer's header. */
export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const id = (req.headers['x-request-id'] as string | undefined)?.slice(0, 64) || randomUUID();
  res.setHeader('x-request-id', id);
  return id;
}

/** A request URL as it may be logged: the value of a `token=` query parameter replaced by `[redacted]`. */
export function loggableUrl(url: string): string {
  return url.replace(/token=[^&]+/g, 'token=[redacted]');
}

/** What the error handler leaves for the log line (kit's `ResponseLocals`). */
interface Locals {
  errorCode?: string;
}

/**
 * A middleware that logs and measures requests of route template `route` (see the file's docstring).
 * @param level the level of a finished request's line by its status (kit's `requestLogLevel`).
 */
export function lightRequestLog(
  logger: Logger,
  histogram: Histogram<'method' | 'route' | 'status_code'>,
  level: (status: number) => 'debug' | 'info' | 'warn' | 'error',
) {
  return (req: IncomingMessage, res: ServerResponse & { locals?: Locals }, route: string, next: () => void): void => {
    const id = requestId(req, res);
    (req as { id?: unknown }).id = id; // as pino-http sets it
    const started = performance.now();
    const end = histogram.startTimer();
    res.once('finish', () => end({ method: req.method ?? 'GET', route, status_code: String(res.statusCode) }));
    res.once('close', () => {
      const finished = res.writableFinished;
      const lvl = finished ? level(res.statusCode) : 'warn';
      if (!logger.isLevelEnabled(lvl)) return;
      const errorCode = res.locals?.errorCode;
      logger[lvl](
        {
          req: { id, method: req.method, url: loggableUrl(req.url ?? '/') },
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - started),
          ...(errorCode ? { errorCode } : {}),
        },
        !finished ? 'request aborted' : lvl === 'error' ? 'request errored' : 'request completed',
      );
    });
    next();
  };
}
