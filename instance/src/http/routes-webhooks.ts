/**
 * The internal API's webhook routes (internal key; the api exposes them to the instance's owner): settings with the
 * SSRF check of the URL, the signing secret (shown once, rotatable), a test event, the delivery log and replay.
 */
import { z } from 'zod';
import { defineRoute, wholeNumberQuery, type RouteDef } from '@wacloud/kit';
import type { WebhookAdmin } from '../webhooks/admin.js';
import * as s from './schemas.js';

const err = (description: string) => ({ description, schema: s.errorResponse });
const authErrors = { 401: err('Missing or wrong internal key') };
const route = defineRoute<undefined>();

/** A delivery of the log. */
export const deliveryView = z.object({
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
const deliveryIdParams = z.object({ id: z.string().regex(/^evt_[0-9a-f]{32}$/, 'must be a delivery id (evt_ and 32 hex characters)') });
const listQuery = z
  .object({
    limit: wholeNumberQuery(200).meta({ description: 'How many, 1–200 (default 50)' }),
    status: z.enum(['pending', 'delivered', 'failed']).optional(),
  })
  .strict();
const secretView = z.object({ secret: z.string().meta({ description: 'The signing secret; shown this once' }) });

export function webhookRoutes(admin: WebhookAdmin): RouteDef[] {
  return [
    route({
      method: 'get',
      path: '/internal/v1/webhook',
      operationId: 'getWebhook',
      tags: ['internal'],
      scope: 'internal',
      summary: 'Webhook settings (the secret is never returned)',
      responses: { 200: { description: 'Settings', schema: s.webhookView }, ...authErrors },
      handler: () => admin.get(),
    }),
    route({
      method: 'put',
      path: '/internal/v1/webhook',
      operationId: 'putWebhook',
      tags: ['internal'],
      scope: 'internal',
      summary:
        'Replace the webhook settings: receiver URL (checked by the SSRF guard), subscribed events, optionally the secret; ' +
        'the first URL without a secret gets a generated one, returned once as `secret`',
      body: s.webhookBody,
      responses: {
        200: { description: 'Settings', schema: s.webhookView.extend({ secret: z.string().optional() }) },
        400: err('Invalid body'),
        422: err('`webhook_url_refused`: the URL resolves to a refused address or does not resolve'),
        ...authErrors,
      },
      handler: ({ body }) => admin.update(body),
    }),
    route({
      method: 'post',
      path: '/internal/v1/webhook/secret',
      operationId: 'rotateWebhookSecret',
      tags: ['internal'],
      scope: 'internal',
      summary: 'A new signing secret, used from the next delivery on; returned once',
      responses: { 200: { description: 'The new secret', schema: secretView }, ...authErrors },
      handler: () => admin.rotateSecret(),
    }),
    route({
      method: 'post',
      path: '/internal/v1/webhook/test',
      operationId: 'sendWebhookTest',
      tags: ['internal'],
      scope: 'internal',
      summary: 'Queue a `webhook.test` event for delivery now (whatever the subscribed events); see it in the delivery log',
      responses: {
        202: { description: 'The queued delivery', schema: deliveryView },
        409: err('`webhook_not_configured`: no URL is set'),
        ...authErrors,
      },
      handler: () => admin.sendTest(),
    }),
    route({
      method: 'get',
      path: '/internal/v1/webhook/deliveries',
      operationId: 'listWebhookDeliveries',
      tags: ['internal'],
      scope: 'internal',
      summary: 'The delivery log, newest first: status, HTTP answer, latency, attempts',
      description:
        "Delivered events stay in the log for the instance's `WEBHOOK_LOG_RETENTION_MS` (30 days by default) from their creation, " +
        'failed events (replayable) for its `WEBHOOK_FAILED_RETENTION_MS` (90 days by default) from their last attempt; pending events stay whatever their age.',
      query: listQuery,
      responses: {
        200: { description: 'Deliveries', schema: z.object({ items: z.array(deliveryView) }) },
        400: err('Invalid query'),
        ...authErrors,
      },
      handler: async ({ query }) => ({ items: await admin.list(query.limit ?? 50, query.status) }),
    }),
    route({
      method: 'post',
      path: '/internal/v1/webhook/deliveries/:id/replay',
      operationId: 'replayWebhookDelivery',
      tags: ['internal'],
      scope: 'internal',
      summary: 'Send a failed delivery again (same event id, attempts from zero)',
      params: deliveryIdParams,
      responses: {
        200: { description: 'The delivery, pending again', schema: deliveryView },
        404: err('`delivery_not_found`'),
        409: err('`delivery_not_failed`: only failed deliveries are replayed'),
        ...authErrors,
      },
      handler: ({ params }) => admin.replay(params.id),
    }),
  ];
}
