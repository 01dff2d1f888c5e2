/**
 * The OpenAPI 3.1 document of both APIs (public and internal), generated from the route definitions and their zod
 * schemas (`z.toJSONSchema`). Served at `GET /openapi.json` on both ports.
 */
import { z } from 'zod';
import type { RouteDef } from './http-route.js';

type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  return rest;
}

/** `/v1/messages/:id` → `/v1/messages/{id}` */
export function toOpenApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): Json[] {
  if (!schema) return [];
  const js = jsonSchema(schema) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, prop]) => ({
    name,
    in: where,
    required: where === 'path' || (js.required ?? []).includes(name),
    ...(typeof prop.description === 'string' ? { description: prop.description } : {}),
    schema: prop,
  }));
}

export function buildOpenApi(publicRoutes: RouteDef[], internalRoutes: RouteDef[], version: string): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const add = (r: RouteDef, server: 'public' | 'internal') => {
    const p = (paths[toOpenApiPath(r.path)] ??= {});
    const security =
      r.scope === 'none' ? [] : r.scope === 'internal' ? [{ internalKey: [] }] : [{ instanceToken: [] }];
    p[r.method] = {
      operationId: r.operationId,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: r.tags,
      'x-wacloud-server': server,
      'x-wacloud-scope': r.scope,
      security,
      parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
      ...(r.body
        ? { requestBody: { required: r.bodyRequired !== false, content: { 'application/json': { schema: jsonSchema(r.body) } } } }
        : {}),
      responses: Object.fromEntries(
        Object.entries(r.responses).map(([code, resp]) => [
          code,
          {
            description: resp.description,
            ...(resp.schema
              ? { content: { [resp.contentType ?? 'application/json']: { schema: jsonSchema(resp.schema) } } }
              : resp.contentType
                ? { content: { [resp.contentType]: { schema: { type: 'string', contentMediaType: resp.contentType } } } }
                : {}),
          },
        ]),
      ),
    };
  };
  publicRoutes.forEach((r) => add(r, 'public'));
  internalRoutes.forEach((r) => add(r, 'internal'));
  return {
    openapi: '3.1.0',
    info: {
      title: 'wacloud instance API',
      version,
      description:
        'One WhatsApp account. Public API on PORT (instance tokens: r, w, rw); internal API on INTERNAL_PORT (internal key, main api only). ' +
        'Live events: WebSocket /v1/events (r) — messages `{event, data, timestamp}`. Errors: `{error: {code, message}}`.',
    },
    servers: [{ url: '/', description: 'public (PORT) or internal (INTERNAL_PORT) — see x-wacloud-server' }],
    components: {
      securitySchemes: {
        instanceToken: { type: 'http', scheme: 'bearer', description: 'Instance access token (wai_…)' },
        internalKey: { type: 'http', scheme: 'bearer', description: 'Internal API key' },
      },
    },
    paths,
  };
}
