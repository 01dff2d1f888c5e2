#!/usr/bin/env node
/**
 * The api's OpenAPI 3.1 document. `apiOpenApi(routes)` builds it from the route table (the server serves it at
 * `/openapi.json`); run as a script, `node api/dist/openapi.js` prints the document built over the route table alone
 * — no database, no provider, no server, the default configuration — which is what the dashboard's generated models
 * come from (`npm run models -w dashboard`).
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { buildOpenApi, errorBodySchema, type ResponseDef, type RouteDef } from '@wacloud/kit';
import { loadConfig } from './config.js';
import { apiRoutes, type RouteDeps } from './routes.js';
import { idempotencyKey } from './schemas.js';

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The api's document over `routes` (title, version, description, bearer security for every non-public route). */
export function apiOpenApi(routes: RouteDef[]): Record<string, unknown> {
  return buildOpenApi({
    title: 'wacloud api',
    version,
    description:
      'The main backend: accounts, wallet, pricing, instances, instance tokens. Gateway: the `/v1/…` routes of an instance and a state-only `/health` are reachable at ' +
      '`/v1/instances/{id}/api/<instance path>` (see the instance API document, served at `/v1/instances/{id}/api/openapi.json`) with your access token or an instance token; ' +
      'WebSocket `/v1/instances/{id}/api/v1/events` (close codes: 1001 api shutting down, 1009 frame above 64 KiB, 4401 revoked, ' +
      '4403 re-scoped, 4429 too many open streams for this account). Gateway requests count against a budget per client ' +
      'address and per tenant: beyond it `429 rate_limited` with a Retry-After header (seconds); an instance that does not ' +
      'answer in time is `504 upstream_timeout`; one still busy with the requests ahead after the queue timeout (20 s) is ' +
      '`503 instance_busy` with a Retry-After header, the request not sent. Money is in minor currency units. Errors: `{error: {code, message}}`.',
    groups: [{ server: 'api', routes }],
    securitySchemes: { accessToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    security: (scope) => (scope === 'none' ? [] : [{ accessToken: [] }]),
    commonResponses,
    headerParameters: { deposit: [{ name: 'Idempotency-Key', schema: idempotencyKey }] },
  });
}

/** Routes that answer without the database. */
const STATELESS = new Set(['health', 'pricing']);

/** What any api route may answer besides its own: 401 for a route behind the access token, 503 when the database is down. */
function commonResponses(r: RouteDef): Record<number, ResponseDef> {
  const out: Record<number, ResponseDef> = {};
  if (r.scope !== 'none')
    out[401] = { description: '`unauthorized`: missing, invalid, expired or revoked access token', schema: errorBodySchema };
  if (!STATELESS.has(r.operationId))
    out[503] = { description: '`storage_unavailable`: the database is unreachable; retry shortly', schema: errorBodySchema };
  return out;
}

/**
 * The document of the default configuration, built without any running dependency: every dependency but the
 * configuration is a stand-in that throws when a route would use it (building the table never does).
 */
export function defaultApiOpenApi(): Record<string, unknown> {
  // Placeholders for what loadConfig requires; none is used nor appears in the document.
  const config = loadConfig({
    MONGODB_URI: 'mongodb://unused.invalid/wacloud',
    JWT_SECRET: 'openapi-document-placeholder-secret-0123456789',
    SIMNET_URL: 'http://unused.invalid',
  });
  const unavailable = (name: string) =>
    new Proxy(
      {},
      {
        get: (_t, p) => {
          throw new Error(`openapi: ${name}.${String(p)} is not available while building the document`);
        },
      },
    );
  const deps = new Proxy({ config } as RouteDeps, { get: (t, p: string) => (p in t ? t[p as keyof RouteDeps] : unavailable(p)) });
  return apiOpenApi(apiRoutes(deps));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${JSON.stringify(defaultApiOpenApi(), null, 2)}\n`);
}
