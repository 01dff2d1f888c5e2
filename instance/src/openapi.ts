#!/usr/bin/env node
/**
 * The instance's OpenAPI 3.1 document. `instanceOpenApi(groups, version)` builds it from route tables (both ports
 * serve the one over the public and the internal routes at `/openapi.json`); run as a script,
 * `node instance/dist/openapi.js` prints the public API's document — the routes tenants reach through the api's
 * gateway at `/v1/instances/{id}/api/<path>` — built over the route table alone: no database, engine or server.
 * The dashboard's instance models are generated from it (`npm run models -w dashboard`).
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { buildOpenApi, errorBodySchema, type ResponseDef, type RouteDef } from '@wacloud/kit';
import type { z } from 'zod';
import { actionRoutes, type ActionDeps } from './http/routes-actions.js';
import { groupRoutes } from './http/routes-groups.js';
import { mediaRoutes, type MediaDeps } from './http/routes-media.js';
import { presenceRoutes } from './http/routes-presence.js';
import { publicRoutes, type PublicDeps } from './http/routes-public.js';
import { syncRoutes } from './http/routes-sync.js';
import { idempotencyKey } from './http/schemas.js';

/** The package version, as the document and `/health` show it. */
export const instanceVersion = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

/** Route tables by port: `public` (PORT, instance tokens) and, when given, `internal` (INTERNAL_PORT, internal key). */
export interface InstanceRouteGroups {
  public: RouteDef[];
  internal?: RouteDef[];
}

/** The document over `groups`: each operation tagged `x-wacloud-server: public|internal`, with its bearer scheme. */
export function instanceOpenApi(groups: InstanceRouteGroups, version = instanceVersion): Record<string, unknown> {
  return buildOpenApi({
    title: 'wacloud instance API',
    version,
    description:
      'One WhatsApp account. Public API on PORT (instance tokens: r, w, rw); internal API on INTERNAL_PORT (internal key, main api only). ' +
      'Live events: WebSocket /v1/events (r) — messages `{event, data, timestamp}`. Errors: `{error: {code, message}}`.',
    groups: [{ server: 'public', routes: groups.public }, ...(groups.internal ? [{ server: 'internal', routes: groups.internal }] : [])],
    servers: [
      { url: '/', description: groups.internal ? 'public (PORT) or internal (INTERNAL_PORT) — see x-wacloud-server' : 'public (PORT)' },
    ],
    securitySchemes: {
      instanceToken: { type: 'http', scheme: 'bearer', description: 'Instance access token (wai_…)' },
      ...(groups.internal ? { internalKey: { type: 'http', scheme: 'bearer', description: 'Internal API key' } } : {}),
    },
    security: (scope) => (scope === 'none' ? [] : scope === 'internal' ? [{ internalKey: [] }] : [{ instanceToken: [] }]),
    commonResponses,
    headerParameters: HEADER_PARAMETERS,
  });
}

/** Routes that answer without the database (the health probes). */
const STATELESS = new Set(['health', 'healthLive', 'healthReady']);

/** What any instance route may answer besides its own: 401/403 by its scope, 503 when the database is down. */
function commonResponses(r: RouteDef): Record<number, ResponseDef> {
  const e = (description: string): ResponseDef => ({ description, schema: errorBodySchema });
  const out: Record<number, ResponseDef> = {};
  if (r.scope !== 'none')
    out[401] = e(
      r.scope === 'internal' ? '`unauthorized`: missing or wrong internal key' : '`unauthorized`: missing, invalid or deleted token',
    );
  if (r.scope === 'r' || r.scope === 'w') out[403] = e(`\`forbidden\`: the token lacks the "${r.scope}" permission`);
  if (!STATELESS.has(r.operationId)) out[503] = e('`storage_unavailable`: the database is unreachable; retry shortly');
  return out;
}

/** Request headers routes read themselves (the route tables describe path, query and body only), by operationId. */
const HEADER_PARAMETERS: Record<string, Array<{ name: string; schema: z.ZodType }>> = {
  sendMessage: [{ name: 'Idempotency-Key', schema: idempotencyKey }],
  replyToMessage: [{ name: 'Idempotency-Key', schema: idempotencyKey }],
  forwardMessage: [{ name: 'Idempotency-Key', schema: idempotencyKey }],
  sendMedia: [{ name: 'Idempotency-Key', schema: idempotencyKey }],
  sendLocation: [{ name: 'Idempotency-Key', schema: idempotencyKey }],
  sendContact: [{ name: 'Idempotency-Key', schema: idempotencyKey }],
};

/**
 * The public API's document, built without any running dependency: every service is a stand-in that throws when a
 * route would use it (building the table never does).
 */
export function publicOpenApi(): Record<string, unknown> {
  const unavailable = (name: string) =>
    new Proxy(
      {},
      {
        get: (_t, p) => {
          throw new Error(`openapi: ${name}.${String(p)} is not available while building the document`);
        },
      },
    );
  type Deps = PublicDeps &
    ActionDeps &
    MediaDeps &
    Parameters<typeof groupRoutes>[0] &
    Parameters<typeof presenceRoutes>[0] &
    Parameters<typeof syncRoutes>[0];
  const deps = new Proxy({} as Deps, { get: (_t, p: string) => (p === 'sendWaitMs' ? undefined : unavailable(p)) });
  return instanceOpenApi({
    public: [
      ...publicRoutes(deps),
      ...syncRoutes(deps),
      ...actionRoutes(deps),
      ...presenceRoutes(deps),
      ...groupRoutes(deps),
      ...mediaRoutes(deps),
    ],
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${JSON.stringify(publicOpenApi(), null, 2)}\n`);
}
