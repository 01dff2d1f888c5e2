/**
 * OpenAPI 3.1 documents generated from route definitions and their zod schemas (`z.toJSONSchema`), so the document
 * and the served routes come from the same objects. Each service checks its document against its express routers.
 */
import { z } from 'zod';
import type { ResponseDef, RouteDef, Scope } from './http-route.js';

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

/** The body of every coded error: `{ error: { code, message, details? } }`. */
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string().meta({ description: 'A stable code (see the description of each status)' }),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

const errorDef = (description: string): ResponseDef => ({ description, schema: errorBodySchema });

/**
 * The answers kit itself gives a route, from its shape: 400 `invalid_request` for a route with path, query or body
 * input (and `invalid_json` with a body), 422 `nul_character` for text with NUL; 413 `payload_too_large` and 415 `unsupported_media_type` with a body.
 */
export function kitResponses(r: RouteDef): Record<number, ResponseDef> {
  const out: Record<number, ResponseDef> = {};
  if (r.params || r.query || r.body)
    out[400] = errorDef(
      `\`invalid_request\`: a ${[r.params && 'path', r.query && 'query', r.body && 'body'].filter(Boolean).join(', ')} field is invalid${r.body ? '; `invalid_json`: the body is not JSON' : ''}`,
    );
  if (r.params || r.query || r.body) out[422] = errorDef('`nul_character`: a text field contains NUL (U+0000)');
  if (r.body) {
    out[413] = errorDef('`payload_too_large`: the body is larger than the limit');
    out[415] = errorDef('`unsupported_media_type`: the body is not application/json');
  }
  return out;
}

/**
 * `own` with `common` added: a status only in `common` is added; a status in both keeps `own`'s schema and gets
 * `common`'s description appended unless `own`'s already names its code.
 */
export function mergeResponses(own: Record<number, ResponseDef>, common: Record<number, ResponseDef>): Record<number, ResponseDef> {
  const out: Record<number, ResponseDef> = { ...own };
  for (const [status, def] of Object.entries(common)) {
    const s = Number(status);
    const mine = out[s];
    if (!mine) out[s] = def;
    else {
      const code = /`([a-z_]+)`/.exec(def.description)?.[1];
      if (code && !mine.description.includes(code)) out[s] = { ...mine, description: `${mine.description}; ${def.description}` };
    }
  }
  return out;
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
  /**
   * Answers every route may give besides its own (authentication, storage, …), merged under its own by
   * {@link mergeResponses}; {@link kitResponses} (input validation, body limits) are always added.
   */
  commonResponses?: (r: RouteDef) => Record<number, ResponseDef>;
  /** Optional request headers routes read themselves (route tables describe path, query and body), by operationId. */
  headerParameters?: Record<string, Array<{ name: string; schema: z.ZodType }>>;
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
        parameters: [
          ...parameters(r.params, 'path'),
          ...parameters(r.query, 'query'),
          ...(o.headerParameters?.[r.operationId] ?? []).map((h) => {
            const { description, ...schema } = jsonSchema(h.schema);
            return { name: h.name, in: 'header', required: false, ...(description ? { description } : {}), schema };
          }),
        ],
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
          Object.entries(mergeResponses(mergeResponses(r.responses, kitResponses(r)), o.commonResponses?.(r) ?? {})).map(([code, resp]) => [
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
