/**
 * Tenant webhooks, per instance, for the organisation's owners and admins (access token; changes are audited): the receiver URL and events, the signing
 * secret (shown once, rotatable), a test event, the delivery log and the replay of a failed delivery.
 *
 * The instance owns its settings, outbox and deliveries; these routes only check ownership and call its internal API
 * (like the token routes), so instance tokens — held by the tenant's own systems — can neither redirect the event
 * flow nor read the log. The instance's SSRF guard judges the URL (`webhook_url_refused`), see docs/security.md.
 */
import { defineRoute, wholeNumberQuery, type RouteDef } from '@wacloud/kit';
import { z } from 'zod';
import type { AuthContext } from './accounts.js';
import type { AuditLog } from './audit.js';
import { AppError, ERROR_CATALOGUE, type ErrorCode } from './errors.js';
import { call } from './instance-client.js';
import type { InstanceService } from './instances.js';
import { isAdmin, requireAdmin, requireRight } from './orgs/access.js';
import type { InstanceEndpoints } from './providers/index.js';
import * as s from './schemas.js';
import type { Logger } from 'pino';

/** Event types an instance sends; `*` subscribes to all. */
export const WEBHOOK_EVENTS = ['message', 'message.any', 'message.ack', 'session.status'] as const;

const route = defineRoute<AuthContext>();
/** Whether `v` parses as an http or https URL (WHATWG). */
export function isHttpUrl(v: string): boolean {
  return URL.canParse(v) && /^https?:$/.test(new URL(v).protocol);
}
/** The documented form of a receiver URL (the parser takes any URL WHATWG parses with http or https). */
export const WEBHOOK_URL_PATTERN = '^https?://(?:[A-Za-z0-9-]+\\.)*[A-Za-z][A-Za-z0-9-]*(?::[1-9]\\d{0,3})?(?:/[A-Za-z0-9._~-]*)*$';
const err = (description: string) => ({ description, schema: s.errorResponse });
const common = {
  401: err('Missing, invalid, expired or revoked access token'),
  403: err('`role_required`: only owners and admins'),
  404: err('`instance_not_found`: no such instance'),
  409: err('`instance_suspended`: the instance is suspended for an unpaid period'),
  500: err('`provider_rejected`: the instance runtime refused the request; retrying will not help'),
  502: err('`upstream_error`: the instance answered with an error'),
  503: err('`instance_unavailable`: the instance is not reachable yet; retry shortly'),
};

const webhookBody = z
  .object({
    url: z
      .string()
      .max(2048)
      .refine(isHttpUrl, 'must be an http or https URL')
      .meta({ pattern: WEBHOOK_URL_PATTERN })
      .nullable()
      .meta({ description: 'Receiver URL (http/https, a public address), or null to stop deliveries' }),
    events: z
      .array(z.enum([...WEBHOOK_EVENTS, '*']))
      .max(16)
      .meta({ description: `Subscribed events: ${WEBHOOK_EVENTS.join(', ')}, or * for all` }),
  })
  .strict();
const webhookView = z.object({ url: z.string().nullable(), secretSet: z.boolean(), events: z.array(z.string()) });
const deliveryView = z.object({
  id: z.string(),
  event: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  httpStatus: z.number().int().nullable().meta({ description: "The receiver's HTTP status of the last attempt; null: no answer" }),
  error: z.string().nullable(),
  latencyMs: z.number().int().nullable().meta({ description: 'Duration of the last attempt, ms' }),
  address: z.string().nullable().meta({ description: 'The address the last attempt connected to' }),
  createdAt: z.string(),
  lastAttemptAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  replays: z.number().int(),
});
const deliveryParams = s.instanceIdParams.extend({
  deliveryId: z.string().regex(/^evt_[0-9a-f]{32}$/, 'must be a delivery id (evt_ and 32 hex characters)'),
});
const deliveriesQuery = z
  .object({
    limit: wholeNumberQuery(200).meta({ description: 'How many, 1–200 (default 50)' }),
    status: z.enum(['pending', 'delivered', 'failed']).optional(),
  })
  .strict();

/**
 * One call of the instance's webhook routes; the instance's coded 4xx answers become the same api codes.
 * @throws AppError (the instance's code, or `upstream_error` for one the api does not know).
 */
async function webhookCall<T>(log: Logger | undefined, ep: InstanceEndpoints, method: string, p: string, body?: unknown): Promise<T> {
  const r = await call<T & { error?: { code?: string; message?: string } }>(log, ep, method, `/internal/v1/webhook${p}`, body);
  if (r.status < 400) return r.body;
  const code = r.body?.error?.code;
  if (code && code in ERROR_CATALOGUE) throw new AppError(code as ErrorCode, r.body.error?.message);
  log?.warn({ method, path: p, status: r.status, code }, 'the instance refused a webhook call');
  throw new AppError('upstream_error', `The instance answered ${r.status}.`);
}

export function webhookRoutes(instances: InstanceService, log: Logger | undefined, audit: AuditLog): RouteDef[] {
  /** Owners and admins only (an agent that cannot read the instance: 404). */
  const ep = (auth: AuthContext, id: string) => {
    if (!isAdmin(auth)) {
      requireRight(auth, id, 'canRead');
      requireAdmin(auth);
    }
    return instances.endpoints(id, auth.orgId);
  };
  return [
    route({
      method: 'get',
      path: '/v1/instances/:id/webhook',
      operationId: 'getWebhook',
      tags: ['webhooks'],
      scope: 'user',
      summary: "The instance's webhook: receiver URL, events, whether a signing secret is set (never the secret)",
      params: s.instanceIdParams,
      responses: { 200: { description: 'Settings', schema: webhookView }, ...common },
      handler: async ({ auth, params }) => webhookCall(log, await ep(auth, params.id), 'GET', ''),
    }),
    route({
      method: 'put',
      path: '/v1/instances/:id/webhook',
      operationId: 'putWebhook',
      tags: ['webhooks'],
      scope: 'user',
      summary:
        'Set the receiver URL and events. The URL must resolve to public addresses only. The first URL gets a signing ' +
        'secret, returned here once as `secret`',
      params: s.instanceIdParams,
      body: webhookBody,
      responses: {
        200: { description: 'Settings (with `secret` once)', schema: webhookView.extend({ secret: z.string().optional() }) },
        400: err('Invalid body'),
        ...common,
        422: err(
          '`webhook_url_refused`: the URL resolves to a loopback, private, link-local or other internal address, or does not resolve',
        ),
      },
      handler: async ({ auth, params, body }) => {
        const r = await webhookCall<object>(log, await ep(auth, params.id), 'PUT', '', body);
        await audit.record(
          auth.orgId,
          auth,
          'webhook.updated',
          { type: 'instance', id: params.id },
          // The receiver's host only: a URL's path or query may hold a secret.
          { host: body.url ? new URL(body.url).host : null, events: body.events },
        );
        return r;
      },
    }),
    route({
      method: 'post',
      path: '/v1/instances/:id/webhook/secret',
      operationId: 'rotateWebhookSecret',
      tags: ['webhooks'],
      scope: 'user',
      summary: 'A new signing secret, used from the next delivery on; returned this once',
      params: s.instanceIdParams,
      responses: { 200: { description: 'The new secret', schema: z.object({ secret: z.string() }) }, ...common },
      handler: async ({ auth, params }) => {
        const r = await webhookCall<object>(log, await ep(auth, params.id), 'POST', '/secret');
        await audit.record(auth.orgId, auth, 'webhook.secret_rotated', { type: 'instance', id: params.id });
        return r;
      },
    }),
    route({
      method: 'post',
      path: '/v1/instances/:id/webhook/test',
      operationId: 'sendWebhookTest',
      tags: ['webhooks'],
      scope: 'user',
      summary: 'Send a `webhook.test` event now; follow it in the delivery log',
      params: s.instanceIdParams,
      responses: {
        202: { description: 'The queued delivery', schema: deliveryView },
        ...common,
        409: err('`webhook_not_configured`: no URL is set; or `instance_suspended`'),
      },
      handler: async ({ auth, params }) => webhookCall(log, await ep(auth, params.id), 'POST', '/test'),
    }),
    route({
      method: 'get',
      path: '/v1/instances/:id/webhook/deliveries',
      operationId: 'listWebhookDeliveries',
      tags: ['webhooks'],
      scope: 'user',
      summary: 'The delivery log, newest first: status, HTTP answer, latency, attempts',
      description:
        "Delivered events stay in the log for the instance's `WEBHOOK_LOG_RETENTION_MS` (30 days by default) from their creation, " +
        'failed events (replayable) for its `WEBHOOK_FAILED_RETENTION_MS` (90 days by default) from their last attempt; pending events stay whatever their age.',
      params: s.instanceIdParams,
      query: deliveriesQuery,
      responses: {
        200: { description: 'Deliveries', schema: z.object({ items: z.array(deliveryView) }) },
        400: err('Invalid query'),
        ...common,
      },
      handler: async ({ auth, params, query }) => {
        const q = new URLSearchParams();
        if (query.limit) q.set('limit', String(query.limit));
        if (query.status) q.set('status', query.status);
        return webhookCall(log, await ep(auth, params.id), 'GET', `/deliveries${q.size ? `?${q}` : ''}`);
      },
    }),
    route({
      method: 'post',
      path: '/v1/instances/:id/webhook/deliveries/:deliveryId/replay',
      operationId: 'replayWebhookDelivery',
      tags: ['webhooks'],
      scope: 'user',
      summary: 'Send a failed delivery again (same event id, attempts from zero)',
      params: deliveryParams,
      responses: {
        200: { description: 'The delivery, pending again', schema: deliveryView },
        ...common,
        404: err('`instance_not_found` or `delivery_not_found`'),
        409: err('`delivery_not_failed`: only failed deliveries are replayed; or `instance_suspended`'),
      },
      handler: async ({ auth, params }) => webhookCall(log, await ep(auth, params.id), 'POST', `/deliveries/${params.deliveryId}/replay`),
    }),
  ];
}
