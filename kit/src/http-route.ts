/**
 * Declarative routes: each endpoint is one `RouteDef` — method, path, required scope, zod schemas for params,
 * query and body, documented responses, and a thin handler. `mountRoutes` registers them on an express router with
 * authentication and validation; `openapi.ts` documents the very same definitions, and a test checks the express
 * router against the document, so the two cannot drift.
 */
import type { NextFunction, Request, Response, Router } from 'express';
import type { z } from 'zod';
import { KitError } from './http-error.js';

/**
 * Who may call a route. `none` is public; every other value is interpreted by the service's `Authenticate`
 * (e.g. the instance's `r`/`w`/`any`/`internal`, the api's `user`).
 */
export type Scope = string;

export interface RouteContext<P, Q, B, A = unknown> {
  req: Request;
  res: Response;
  params: P;
  query: Q;
  body: B;
  /** What `Authenticate` resolved for this request (an instance token, a user, …). */
  auth: A;
}

export interface ResponseDef {
  description: string;
  schema?: z.ZodType;
  /** Default application/json. */
  contentType?: string;
}

export interface RouteDef<P = unknown, Q = unknown, B = unknown, A = unknown> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express path, e.g. `/v1/messages/:id`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  scope: Scope;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Whether a body is required when `body` is given (default true). */
  bodyRequired?: boolean;
  /**
   * The route also takes `multipart/form-data` (file uploads): `schema` documents the form's fields (a file field as
   * `z.file()` or a string with `contentMediaType`). The handler parses the stream itself (after authentication); `body`
   * is then undefined. Without it a multipart request answers 415.
   */
  multipart?: { schema: z.ZodType } | undefined;
  responses: Record<number, ResponseDef>;
  handler: (ctx: RouteContext<P, Q, B, A>) => Promise<unknown> | unknown;
}

/** Identity for type inference of a route's schemas (`A`: what the service's Authenticate resolves). */
export function defineRoute<A = unknown>() {
  return <P, Q, B>(def: RouteDef<P, Q, B, A>): RouteDef => def as unknown as RouteDef;
}

/**
 * Parses `value` with `schema` or throws KitError `invalid_request` (400): the message names the first problem, `details`
 * lists each problem with its location (`{ in, field?, problem }[]`).
 */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown, where: 'path' | 'query' | 'body'): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => ({ in: where, field: i.path.join('.') || undefined, problem: i.message }));
  const first = problems[0]!;
  const message = `Invalid ${where}${first.field ? ` field "${first.field}"` : ''}: ${first.problem}`;
  throw new KitError('invalid_request', message, problems);
}

/**
 * The location of the first string in `value` (deep: objects, arrays) that holds NUL (U+0000), or undefined. Text with
 * NUL is refused (`nul_character`, 422) before a handler runs: it means nothing in WhatsApp text or names, and
 * PostgreSQL — under the embedded MongoDB-wire server (docs/embedded-database.md) — cannot store it.
 */
export function nulField(value: unknown, at = ''): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? at || '(value)' : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const f = nulField(value[i], `${at}[${i}]`);
      if (f) return f;
    }
    return undefined;
  }
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) {
      const f = nulField(v, at ? `${at}.${k}` : k);
      if (f) return f;
    }
  }
  return undefined;
}

/** @throws KitError `nul_character` (422) when a string of `value` holds NUL. */
function refuseNul(value: unknown, where: 'path' | 'query' | 'body'): void {
  const field = nulField(value);
  if (field)
    throw new KitError('nul_character', `Invalid ${where} field "${field}": text must not contain NUL (U+0000).`, [
      { in: where, field, problem: 'contains NUL' },
    ]);
}

/** Resolves the caller for `scope` (undefined for `none`) or throws an HttpError (401/403). */
export type Authenticate = (req: Request, scope: Scope) => Promise<unknown>;

/** Registers `routes` on `router`; the handler's return value is sent as JSON (status 200, or 201 for POST creates). */
export function mountRoutes(router: Router, routes: RouteDef[], authenticate: Authenticate): void {
  // A path of its own (`/tokens/verify`) is not a value of a parameter (`/tokens/:id`): asked with a method it does
  // not take, it gets its 405, not the parameter route's validation error.
  const fixedPaths = new Set(routes.filter((r) => !r.path.includes(':')).map((r) => r.path.toLowerCase()));
  for (const r of routes) {
    router[r.method](r.path, async (req: Request, res: Response, next: NextFunction) => {
      if (r.path.includes(':') && fixedPaths.has(req.path.replace(/(.)\/$/, '$1').toLowerCase())) return next();
      try {
        const auth = await authenticate(req, r.scope);
        const params = r.params ? parseInput(r.params, req.params, 'path') : undefined;
        const query = r.query ? parseInput(r.query, req.query ?? {}, 'query') : undefined;
        refuseNul(params, 'path');
        refuseNul(query, 'query');
        let body: unknown;
        const multipart = Boolean(req.is('multipart/form-data'));
        if (multipart && !r.multipart) {
          throw new KitError('unsupported_media_type', 'Send the body as application/json.', { contentType: req.headers['content-type'] });
        }
        if (r.body && !multipart) {
          if (req.body === undefined && r.bodyRequired !== false) throw new KitError('invalid_request', 'A JSON body is required.');
          body = parseInput(r.body, req.body ?? {}, 'body');
          refuseNul(body, 'body');
        }
        const result = await r.handler({ req, res, params, query, body, auth });
        if (res.headersSent) return;
        if (result === undefined) res.status(204).end();
        else res.status(Number(Object.keys(r.responses).find((s) => s.startsWith('2')) ?? 200)).json(result);
      } catch (err) {
        next(err);
      }
    });
  }
}
