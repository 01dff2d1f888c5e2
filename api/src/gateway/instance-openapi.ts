/**
 * The instance API's document as the gateway serves it at `GET /v1/instances/{id}/api/openapi.json`: the instance's
 * own public document (fetched from the instance), cut to what the gateway forwards (the public `/v1/…` routes and
 * `/health`; never an internal route, never the probes), with `servers` pointing at the gateway prefix, the access
 * token accepted besides instance tokens, and the gateway's own answers (401, 404, 409, 429, 502, 503, 504) added to
 * every operation.
 */
import { z } from 'zod';
import { errorBodySchema, mergeResponses, type ResponseDef } from '@wacloud/kit';

type Json = Record<string, unknown>;
interface Operation {
  'x-wacloud-server'?: string;
  security?: Array<Record<string, string[]>>;
  responses: Record<string, Json>;
  [k: string]: unknown;
}

/** What the gateway itself may answer on any forwarded operation. */
const GATEWAY_RESPONSES: Record<number, string> = {
  401: '`unauthorized`: no token, an unknown instance token, or an invalid, expired or revoked access token',
  404: '`instance_not_found`: no such instance (or not yours)',
  409: '`instance_suspended`: suspended by billing for an unpaid period; `instance_stopped`: its tenant stopped it',
  413: '`payload_too_large`: the body is larger than the limit',
  429: '`rate_limited`: too many requests from this address or tenant; the Retry-After header gives the wait in seconds',
  502: '`upstream_error`: the instance answered with an error',
  503:
    '`instance_unavailable`: the instance is not reachable yet; retry shortly. `instance_busy`: the requests ahead of ' +
    'this one at the instance did not finish within the queue timeout, so it was not sent; retry after the Retry-After header (seconds)',
  504: '`upstream_timeout`: the instance did not answer in time',
};

/**
 * Rewrites the instance's document `doc` for instance `id` behind the gateway.
 * @param forwardable whether the gateway forwards an instance path (the gateway's own rule).
 */
export function gatewayInstanceDoc(doc: Json, id: string, forwardable: (path: string) => boolean): Json {
  const { $schema: _drop, ...errorSchema } = z.toJSONSchema(errorBodySchema, { io: 'input' }) as Json;
  const gatewayResponses = Object.fromEntries(
    Object.entries(GATEWAY_RESPONSES).map(([s, description]) => [s, { description, schema: z.never() } satisfies ResponseDef]),
  );
  const paths: Record<string, Record<string, Operation>> = {};
  for (const [p, ops] of Object.entries((doc.paths ?? {}) as Record<string, Record<string, Operation>>)) {
    if (!forwardable(p.replace(/\{[^}]+\}/g, 'x'))) continue;
    for (const [method, op] of Object.entries(ops)) {
      if (op['x-wacloud-server'] !== undefined && op['x-wacloud-server'] !== 'public') continue;
      // Merge the descriptions the way kit does; the gateway's answers carry the error body.
      const own = Object.fromEntries(
        Object.entries(op.responses).map(([s, r]) => [s, { description: String(r.description ?? '') } satisfies ResponseDef]),
      );
      const merged = mergeResponses(own, gatewayResponses);
      const responses: Record<string, Json> = {};
      for (const [s, r] of Object.entries(merged))
        responses[s] = op.responses[s]
          ? { ...op.responses[s], description: r.description }
          : { description: r.description, content: { 'application/json': { schema: errorSchema } } };
      (paths[p] ??= {})[method] = { ...op, security: [{ instanceToken: [] }, { accessToken: [] }], responses };
    }
  }
  const components = (doc.components ?? {}) as { securitySchemes?: Record<string, Json> };
  return {
    ...doc,
    info: {
      ...(doc.info as Json),
      description:
        `${String((doc.info as Json | undefined)?.description ?? '')} Served by the api's gateway for instance ${id}: ` +
        "every route takes an instance token or the owner's access token.",
    },
    servers: [{ url: `/v1/instances/${id}/api`, description: `instance ${id} through the api's gateway` }],
    components: {
      ...components,
      securitySchemes: {
        instanceToken: components.securitySchemes?.instanceToken ?? { type: 'http', scheme: 'bearer' },
        accessToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: "The owner's access token" },
      },
    },
    paths,
  };
}
