/**
 * An express application over declarative routes, the way every wacloud HTTP service is built: JSON bodies up to a
 * limit (413 beyond, 415 for other media types; `json-body.ts`, which spares a process iconv-lite's codec tables),
 * coded errors (`HttpError` → `{error: {code, message, details?}}`, never a stack; kit's own codes, statuses and
 * messages come from `KIT_ERROR_CATALOGUE`), 405 `method_not_allowed` with an `Allow` header for a known path asked
 * with another method, pino-http request logging (the logger redacts credentials), a request-duration histogram,
 * `/openapi.json` and `/metrics`. Requests a service answers ahead of express (e.g. the api's gateway) go through
 * `front-route.ts`.
 */
import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler, type Response } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from 'pino';
import type { Histogram, Registry } from 'prom-client';
import { KitError } from './http-error.js';
import { sendError, toHttpError } from './error-render.js';
import { jsonBody } from './json-body.js';
import { mountRoutes, type Authenticate, type RouteDef } from './http-route.js';
import { methodsByPath, mountMethodNotAllowed } from './method-not-allowed.js';
import { loggableUrl, requestId } from './request-log-light.js';

/** The bearer credential of a request, if any. */
export function bearer(req: Pick<Request, 'headers'>): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

export interface AppOptions {
  routes: RouteDef[];
  authenticate: Authenticate;
  logger: Logger;
  /** Registry served at /metrics. */
  registry: Registry;
  /** `http_request_duration_seconds{method,route,status_code}` */
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  bodyLimitBytes: number;
  openapi: () => unknown;
  /** Extra middleware mounted before the routes (e.g. a proxy that must see the raw body). */
  before?: express.RequestHandler[];
  /** Extra middleware mounted after the routes, before the 404 (e.g. static files). */
  after?: express.RequestHandler[];
}

/** What the error handler leaves on `res.locals` for the request log. */
export interface ResponseLocals {
  /** The coded error the request was answered with. */
  errorCode?: string;
}

/**
 * Whether a response is an expected answer rather than a failure: any 4xx, and a 503 (the server's coded "retry
 * shortly", or an instance's own 503 relayed by a gateway) — unless an error was thrown past the error handler.
 */
function expectedAnswer(status: number, err: unknown): boolean {
  // pino-http hands its own made-up error ("failed with status code 503") to the error message and object hooks.
  const none = !err || (err instanceof Error && err.message === `failed with status code ${status}`);
  return none && (status < 500 || status === 503);
}

/**
 * Level of a request's log line: `debug` for successes, `info` for 4xx, `warn` for an expected 503, `error` for other
 * 5xx (with the error and its stack).
 */
export function requestLogLevel(status: number, err: unknown): 'debug' | 'info' | 'warn' | 'error' {
  if (status < 400 && !err) return 'debug';
  if (!expectedAnswer(status, err)) return 'error';
  return status >= 500 ? 'warn' : 'info';
}

/** Builds one express app over `routes`. */
export function createApp(o: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const requestLog = pinoHttp<Request, Response>({
    logger: o.logger,
    genReqId: requestId,
    customLogLevel: (_req, res, err) => requestLogLevel(res.statusCode, err),
    // An expected 503 (a coded "retry shortly": an instance starting, a runtime or database unavailable) is a warning
    // without pino-http's made-up "failed with status code" error and its stack; other 5xx keep theirs.
    customErrorObject: (_req, res, err, val: Record<string, unknown>) => {
      const locals = res.locals as ResponseLocals;
      const code = locals.errorCode ? { errorCode: locals.errorCode } : {};
      return expectedAnswer(res.statusCode, err) ? { ...val, ...code, err: undefined } : { ...val, ...code };
    },
    customErrorMessage: (_req, res, err) => (expectedAnswer(res.statusCode, err) ? 'request completed' : 'request errored'),
    customSuccessObject: (_req, res, val: Record<string, unknown>) => {
      const locals = res.locals as ResponseLocals;
      return locals.errorCode ? { ...val, errorCode: locals.errorCode } : val;
    },
    serializers: {
      req: (req: { method: string; url: string; id: string }) => ({
        id: req.id,
        method: req.method,
        url: loggableUrl(req.url),
      }),
    },
  });
  const measure = durationMetrics(o.httpDuration);
  app.use((req, res, next) => requestLog(req, res, () => measure(req, res, next)));
  for (const m of o.before ?? []) app.use(m);
  app.use(requireJsonBodies);
  app.use(jsonBody({ limitBytes: o.bodyLimitBytes, types: ['application/json', 'application/*+json'] }));
  app.get('/openapi.json', (_req, res) => void res.json(o.openapi()));
  app.get('/metrics', async (_req, res, next) => {
    try {
      res.type(o.registry.contentType).send(await o.registry.metrics());
    } catch (err) {
      next(err);
    }
  });
  const router = express.Router({ strict: false });
  mountRoutes(router, o.routes, o.authenticate);
  // A known path with another method: 405 with Allow (after every route, so only unanswered requests get here).
  mountMethodNotAllowed(
    router,
    methodsByPath([...o.routes, { method: 'get', path: '/openapi.json' }, { method: 'get', path: '/metrics' }]),
  );
  app.use(router);
  for (const m of o.after ?? []) app.use(m);
  app.use((req, _res, next) =>
    next(
      new KitError('route_not_found', `No endpoint ${req.method} ${req.path}; see /openapi.json.`, { method: req.method, path: req.path }),
    ),
  );
  app.use(errorHandler(o.logger));
  return app;
}

/**
 * 415 for a body that is not JSON on methods that take one. `multipart/form-data` passes on to the routes: those that
 * declare `multipart` parse it themselves, the others answer 415 (`mountRoutes`).
 */
const requireJsonBodies: RequestHandler = (req, _res, next) => {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (
    hasBody &&
    ['POST', 'PUT', 'PATCH'].includes(req.method) &&
    !req.is(['application/json', 'application/*+json', 'multipart/form-data'])
  ) {
    return next(
      new KitError(
        'unsupported_media_type',
        `Send the body as application/json (got ${req.headers['content-type'] ?? 'no content type'}).`,
        { contentType: req.headers['content-type'] ?? null },
      ),
    );
  }
  next();
};

function durationMetrics(histogram: AppOptions['httpDuration']): RequestHandler {
  return (req, res, next) => {
    const end = histogram.startTimer();
    res.on('finish', () => {
      const route =
        (req.route as { path?: string } | undefined)?.path ??
        (res.statusCode === 404 ? 'unmatched' : req.path === '/metrics' || req.path === '/openapi.json' ? req.path : 'unmatched');
      end({ method: req.method, route, status_code: String(res.statusCode) });
    });
    next();
  };
}

function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => sendError(res, toHttpError(err, (req as Request & { log?: Logger }).log ?? logger));
}
