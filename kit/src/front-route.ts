/**
 * Requests a service answers ahead of express. The api's gateway proxies every client request to an instance; taken
 * through express (its request and response prototypes, the router's layers, pino-http's per-request child logger)
 * each cost a third more of the api's CPU than the same proxying in plain Node (BENCHMARKS.md, gateway). So the
 * server's request listener is {@link withFront}: a request the {@link FrontRoute} matches is
 * - logged and measured by `request-log-light.ts` (the same request id, completion line and
 *   `http_request_duration_seconds` observation as express's requests, labelled with the route template it matched),
 * - passed through `before` (plain Node handlers such as CORS, which may answer it, e.g. a preflight),
 * - handed to the route with the client's address — by the express app's `trust proxy` setting, read per request,
 *   so `X-Forwarded-For` counts exactly as for express's `req.ip` — and a `fail` that answers errors the way the
 *   app's error handler does (`error-render.ts`: coded errors as themselves, anything else 500 `internal`, logged),
 *   the rest of a request's body not read by then read and dropped;
 * every other request goes to the express app.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Express } from 'express';
import type { Logger } from 'pino';
import type { Histogram } from 'prom-client';
import proxyAddr from 'proxy-addr';
import { sendError, toHttpError } from './error-render.js';
import { requestLogLevel } from './http-app.js';
import { lightRequestLog } from './request-log-light.js';

/** What a front route's handler gets besides the request and response. */
export interface FrontContext {
  /** The client's address (after the app's `trust proxy` hops). */
  address: string;
  /** Answers the request with `err` as a coded error (see `error-render.ts`); once the headers are out, cuts it short. */
  fail(err: unknown): void;
}

/** Requests answered ahead of express. */
export interface FrontRoute {
  /** The route template of a request this answers (its `route` label), else undefined (express answers it). */
  match(req: IncomingMessage): string | undefined;
  /** Answers a matched request; an error thrown synchronously is answered as by `ctx.fail`. */
  handle(req: IncomingMessage, res: ServerResponse, ctx: FrontContext): void;
}

/** A plain Node handler run before a front route's (also usable as express middleware). */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

export interface FrontOptions {
  logger: Logger;
  /** `http_request_duration_seconds{method,route,status_code}`, the app's own. */
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  /** Run in order before the route; one that answers the request does not call `next`. */
  before?: NodeHandler[];
}

/**
 * The client's address of `req` as express's `req.ip` gives it: the peer, or with the app's `trust proxy` setting
 * (read on each call) the address `X-Forwarded-For` names within the trusted hops. For requests express never sees,
 * such as WebSocket upgrades.
 */
export function clientAddress(app: Express, req: IncomingMessage): string {
  return proxyAddr(req, app.get('trust proxy fn') as (addr: string, i: number) => boolean) ?? req.socket.remoteAddress ?? 'unknown';
}

/** The server's request listener: `front`'s requests answered ahead of `app` (see the file's docstring). */
export function withFront(app: Express, front: FrontRoute, o: FrontOptions): RequestListener {
  const log = lightRequestLog(o.logger, o.httpDuration, (status) => requestLogLevel(status, undefined));
  const before = o.before ?? [];
  return (req, res) => {
    const route = front.match(req);
    if (route === undefined) return void app(req, res);
    const fail = (err: unknown) => {
      // Answered before the request's body was read to its end (a body past the limit, a request never sent): the rest
      // is read and dropped, or it would stall the next request on the connection. Not closed at once instead: a client
      // still sending would get a reset in place of the answer. The server's requestTimeout bounds a body that never ends.
      if (!req.complete) req.resume();
      sendError(res, toHttpError(err, o.logger));
    };
    log(req, res, route, () => {
      let i = 0;
      const next = (): void => {
        if (i < before.length) return before[i++]!(req, res, next);
        try {
          front.handle(req, res, { address: clientAddress(app, req), fail });
        } catch (err) {
          fail(err);
        }
      };
      next();
    });
  };
}
