/**
 * OpenAPI 3.1 documents generated from route definitions and their zod schemas (`z.toJSONSchema`), so the document
 * and the served routes come from the same objects. Each service checks its document against its express routers.
 */
import { z } from 'zod';
import type { RouteDef, Scope } from './http-route.js';

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

export interface OpenApiOptions {
  title: string;
  version: string;
  description: string;
  /** Route groups; each operation is tagged `x-wacloud-server: <server>`. */
  groups: Array<{ server: string; routes: RouteDef[] }>;
  securitySchemes: Record<string, Json>;
  /** Security requirement of a scope (`[]` for public). */
  security: (scope: Scope) => Array<Record<string, string[]>>;
  servers?: Json[];
}

/** Builds the document. */
export function buildOpenApi(o: OpenApiOptions): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const { server, routes } of o.groups) {
    for (const r of routes) {
      const p = (paths[toOpenApiPath(r.path)] ??= {});
      p[r.method] = {
        operationId: r.operationId,
        summary: r.summary,
        ...(r.description ? { description: r.description } : {}),
        tags: r.tags,
        'x-wacloud-server': server,
        'x-wacloud-scope': r.scope,
        security: o.security(r.scope),
        parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
        ...(r.body || r.multipart
          ? {
              requestBody: {
                required: r.bodyRequired !== false,
                content: {
                  ...(r.body ? { 'application/json': { schema: jsonSchema(r.body) } } : {}),
                  ...(r.multipart ? { 'multipart/form-data': { schema: jsonSchema(r.multipart.schema) } } : {}),
                },
              },
            }
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
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: o.title, version: o.version, description: o.description },
    ...(o.servers ? { servers: o.servers } : {}),
    components: { securitySchemes: o.securitySchemes },
    paths,
  };
}
