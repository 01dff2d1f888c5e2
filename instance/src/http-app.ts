/**
 * The two express applications: `publicApp` (PORT: instance tokens) and `internalApp` (INTERNAL_PORT: internal key).
 * Internal routes exist only on the internal app — the public app answers 404 for them.
 * Both: JSON bodies up to BODY_LIMIT_BYTES, coded errors (errors.ts), pino-http request logging with redaction,
 * request-duration metrics, `/openapi.json`, `/metrics`.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from 'pino';
import { AppError } from './errors.js';
import { mountRoutes, type Authenticate, type RouteDef } from './http-route.js';
import type { Metrics } from './metrics.js';
import { grants, type TokenService } from './tokens.js';

/** The bearer credential of a request, if any. */
export function bearer(req: Pick<Request, 'headers'>): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

/** Authentication for the public API: instance tokens and their grants. */
export function tokenAuth(tokens: TokenService): Authenticate {
  return async (req, scope) => {
    if (scope === 'none') return undefined;
    const presented = bearer(req);
    if (!presented) throw new AppError('unauthorized', 'Send an instance token as "Authorization: Bearer <token>".');
    const token = await tokens.verify(presented);
    if (!token) throw new AppError('unauthorized', 'The token is invalid or was deleted.');
    if ((scope === 'r' || scope === 'w') && !grants(token.permissions, scope)) {
      throw new AppError('forbidden', `This endpoint needs the "${scope}" permission; the token has "${token.permissions}".`);
    }
    if (scope === 'internal') throw new AppError('forbidden');
    return token;
  };
}

/** Authentication for the internal API: the internal key, compared in constant time. */
export function internalKeyAuth(internalKey: string): Authenticate {
  const expected = createHash('sha256').update(internalKey).digest();
  return async (req, scope) => {
    if (scope === 'none') return undefined;
    const presented = bearer(req);
    const given = createHash('sha256').update(presented ?? '').digest();
    if (!presented || !timingSafeEqual(given, expected)) throw new AppError('unauthorized', 'Send the internal API key as "Authorization: Bearer <key>".');
    return undefined;
  };
}

export interface AppOptions {
  routes: RouteDef[];
  authenticate: Authenticate;
  logger: Logger;
  metrics: Metrics;
  bodyLimitBytes: number;
  openapi: () => unknown;
}

/** Builds one express app over `routes`. */
export function createApp(o: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(
    pinoHttp({
      logger: o.logger,
      genReqId: (req, res) => {
        const id = (req.headers['x-request-id'] as string | undefined)?.slice(0, 64) || randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug'),
      serializers: { req: (req: { method: string; url: string; id: string }) => ({ id: req.id, method: req.method, url: req.url.replace(/token=[^&]+/, 'token=[redacted]') }) },
    }),
  );
  app.use(durationMetrics(o.metrics));
  app.use(requireJsonBodies);
  app.use(express.json({ limit: o.bodyLimitBytes, strict: true, type: ['application/json', 'application/*+json'] }));
  app.get('/openapi.json', (_req, res) => void res.json(o.openapi()));
  app.get('/metrics', async (_req, res, next) => {
    try {
      res.type(o.metrics.registry.contentType).send(await o.metrics.registry.metrics());
    } catch (err) {
      next(err);
    }
  });
  const router = express.Router({ strict: false });
  mountRoutes(router, o.routes, o.authenticate);
  app.use(router);
  app.use((req, _res, next) => next(new AppError('route_not_found', `No endpoint ${req.method} ${req.path}; see /openapi.json.`)));
  app.use(errorHandler(o.logger));
  return app;
}

/** 415 for a body that is not JSON on methods that take one. */
const requireJsonBodies: RequestHandler = (req, _res, next) => {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (hasBody && ['POST', 'PUT', 'PATCH'].includes(req.method) && !req.is(['application/json', 'application/*+json'])) {
    return next(new AppError('unsupported_media_type', `Send the body as application/json (got ${req.headers['content-type'] ?? 'no content type'}).`));
  }
  next();
};

function durationMetrics(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const end = metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? (res.statusCode === 404 ? 'unmatched' : req.path === '/metrics' || req.path === '/openapi.json' ? req.path : 'unmatched');
      end({ method: req.method, route, status_code: String(res.statusCode) });
    });
    next();
  };
}

function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    let e: AppError;
    if (err instanceof AppError) e = err;
    else if (err?.type === 'entity.too.large') e = new AppError('payload_too_large', `The body exceeds ${err.limit} bytes.`);
    else if (err?.type === 'entity.parse.failed') e = new AppError('invalid_json', `The body is not valid JSON: ${String(err.message).slice(0, 200)}`);
    else if (err?.type === 'encoding.unsupported' || err?.type === 'charset.unsupported') e = new AppError('unsupported_media_type', String(err.message));
    else if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500) e = new AppError('invalid_request', String(err.message ?? 'Bad request'));
    else if (isMongoUnavailable(err)) e = new AppError('storage_unavailable');
    else {
      ((req as Request & { log?: Logger }).log ?? logger).error({ err }, 'unhandled error');
      e = new AppError('internal');
    }
    if (res.headersSent) return void res.end();
    res.status(e.status).json(e.toJSON());
  };
}

function isMongoUnavailable(err: unknown): boolean {
  const name = (err as { name?: string } | undefined)?.name ?? '';
  return /MongoServerSelectionError|MongoNetworkError|MongoNotConnectedError|MongoNetworkTimeoutError/.test(name);
}
