/**
 * The internal API's routes of the platform's own subscription (target `api`, `webhooks/api-subscription.ts`): the
 * main api sets where this instance reports every event (its ingest) and the secret they are signed with. Tenants
 * never see them: the api does not expose them.
 */
import { z } from 'zod';
import { defineRoute, type RouteDef } from '@wacloud/kit';
import { API_ONLY_EVENTS, type ApiSubscription } from '../webhooks/api-subscription.js';
import { WEBHOOK_EVENTS } from '../webhooks/settings.js';
import * as s from './schemas.js';

const err = (description: string) => ({ description, schema: s.errorResponse });
const authErrors = { 401: err('Missing or wrong internal key') };
const route = defineRoute<undefined>();

const view = z.object({
  url: z.string().nullable().meta({ description: "The api's ingest URL; null: no subscription" }),
  secretSet: z.boolean(),
  events: z.array(z.string()).nullable().meta({ description: 'The event types queued for the api; null: every event' }),
  batch: z.number().int().nullable().meta({ description: 'Events per POST at most (batch bodies); null: one event per POST' }),
});
const body = z
  .object({
    url: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .meta({ description: "The api's ingest (`…/internal/v1/instance-events`); not subject to the SSRF guard" }),
    secret: z.string().min(16).max(200).meta({ description: 'HMAC key of the signatures (X-Wacloud-Signature)' }),
    events: z
      .array(z.enum([...WEBHOOK_EVENTS, ...API_ONLY_EVENTS]))
      .min(1)
      .max(50)
      .optional()
      .meta({ description: 'Event types to queue for the api (those it consumes); absent: every event' }),
    batch: z
      .number()
      .int()
      .min(1)
      .max(500)
      .optional()
      .meta({
        description:
          'Up to this many due events per POST, in order, as `{instanceId, events: [{id, event, createdAt, payload}]}` ' +
          '(an api that takes batches and answers `{accepted, results}`); absent: one event per POST, the single body',
      }),
  })
  .strict();

export function apiSubscriptionRoutes(sub: ApiSubscription): RouteDef[] {
  return [
    route({
      method: 'get',
      path: '/internal/v1/api-subscription',
      operationId: 'getApiSubscription',
      tags: ['internal'],
      scope: 'internal',
      summary: "The platform's subscription to this instance's events (the secret is never returned)",
      responses: { 200: { description: 'The subscription', schema: view }, ...authErrors },
      handler: () => sub.view(),
    }),
    route({
      method: 'put',
      path: '/internal/v1/api-subscription',
      operationId: 'putApiSubscription',
      tags: ['internal'],
      scope: 'internal',
      summary:
        "Set the platform's subscription (idempotent): every event from now on (of `events`, or all: the webhook catalogue plus `session.qr`) is " +
        'delivered to `url`, signed with `secret`, retried until it is taken',
      body,
      responses: { 200: { description: 'The subscription', schema: view }, 400: err('Invalid body'), ...authErrors },
      handler: ({ body }) => sub.set(body.url, body.secret, body.events ?? null, body.batch ?? null),
    }),
    route({
      method: 'delete',
      path: '/internal/v1/api-subscription',
      operationId: 'deleteApiSubscription',
      tags: ['internal'],
      scope: 'internal',
      summary: "Remove the platform's subscription: no more events are queued for it",
      responses: { 204: { description: 'Removed' }, ...authErrors },
      handler: async () => {
        await sub.set(null, null);
      },
    }),
  ];
}
