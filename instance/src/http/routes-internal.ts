/**
 * The internal API, served only on INTERNAL_PORT and only to holders of the internal key (the main api):
 * token management (and token checks for the api's gateway), webhooks (see routes-webhooks.ts) and the daily message
 * counts of the api's statistics.
 */
import { z } from 'zod';
import { defineRoute, wholeNumberQuery, type RouteDef } from '@wacloud/kit';
import * as s from './schemas.js';
import type { TokenService } from '../services/tokens.js';
import type { WebhookAdmin } from '../webhooks/admin.js';
import { webhookRoutes } from './routes-webhooks.js';
import { SESSION_STATES, type SessionState } from '../engines/engine.js';
import type { DailyStats } from '../storage/daily-stats.js';

export interface InternalDeps {
  tokens: TokenService;
  webhooks: WebhookAdmin;
  /** The api's statistics: the session's state and the daily counts (none: no stats route). */
  stats?: { state(): SessionState; daily(days: number): Promise<DailyStats> };
}

const err = (description: string) => ({ description, schema: s.errorResponse });
const authErrors = { 401: err('Missing or wrong internal key') };

const route = defineRoute<undefined>();

/** `POST /internal/v1/tokens/verify` body: the token as a client presented it (at most 200 characters). */
const verifyTokenBody = z.object({ token: z.string().min(1).max(200) }).strict();
/** Its answer: `permissions` only when `valid`. */
const verifyTokenView = z.object({ valid: z.boolean(), permissions: z.enum(['r', 'w', 'rw']).optional() });

/** `GET /internal/v1/stats` query: the window, 1–90 UTC days ending today (default 30). */
const statsQuery = z.object({ days: wholeNumberQuery(90) }).strict();
/** Its answer: the session's state, the window, messages in/out per UTC day (oldest first), chats active in it. */
const internalStatsView = z.object({
  state: z.enum(SESSION_STATES),
  from: z.string().meta({ description: '00:00 UTC of the first day (ISO 8601)' }),
  to: z.string().meta({ description: '00:00 UTC of the day after the last (exclusive, ISO 8601)' }),
  days: z.array(z.object({ date: z.string().meta({ description: 'YYYY-MM-DD (UTC)' }), in: z.number().int(), out: z.number().int() })),
  chats: z.number().int().meta({ description: 'Chats whose newest message is in the window' }),
});

export function internalRoutes({ tokens, webhooks, stats }: InternalDeps): RouteDef[] {
  const statsRoutes: RouteDef[] = stats
    ? [
        route({
          method: 'get',
          path: '/internal/v1/stats',
          operationId: 'internalStats',
          tags: ['internal'],
          scope: 'internal',
          summary:
            "For the api's statistics: the session's state, messages in / out per UTC day for `days` days (1–90, default 30) " +
            'ending today, and the chats whose newest message is in that window. One aggregation over the time range',
          query: statsQuery,
          responses: { 200: { description: 'The counts', schema: internalStatsView }, 400: err('Invalid query'), ...authErrors },
          handler: async ({ query }) => ({ state: stats.state(), ...(await stats.daily(query.days ?? 30)) }),
        }),
      ]
    : [];
  return [
    ...statsRoutes,
    route({
      method: 'post',
      path: '/internal/v1/tokens',
      operationId: 'createToken',
      tags: ['internal'],
      scope: 'internal',
      summary: 'Create an access token with permissions r, w or rw; the plaintext is returned once',
      body: s.createTokenBody,
      responses: {
        201: { description: 'The token, with its plaintext `token`', schema: s.tokenView.extend({ token: s.tokenView.shape.id }) },
        400: err('Invalid body'),
        ...authErrors,
      },
      handler: ({ body }) => tokens.create(body.name, body.permissions),
    }),
    route({
      method: 'get',
      path: '/internal/v1/tokens',
      operationId: 'listTokens',
      tags: ['internal'],
      scope: 'internal',
      summary: 'List access tokens, without secrets',
      responses: { 200: { description: 'Tokens', schema: z.object({ items: s.tokenView.array() }) }, ...authErrors },
      handler: async () => ({ items: await tokens.list() }),
    }),
    route({
      method: 'post',
      path: '/internal/v1/tokens/verify',
      operationId: 'verifyToken',
      tags: ['internal'],
      scope: 'internal',
      summary: 'Check a presented token (for the gateway): valid or not, and its permissions; never which part was wrong',
      body: verifyTokenBody,
      responses: { 200: { description: 'The verdict', schema: verifyTokenView }, 400: err('Invalid body'), ...authErrors },
      handler: async ({ body }) => {
        const t = await tokens.verify(body.token);
        return t ? { valid: true, permissions: t.permissions } : { valid: false };
      },
    }),
    route({
      method: 'get',
      path: '/internal/v1/tokens/:id',
      operationId: 'getToken',
      tags: ['internal'],
      scope: 'internal',
      summary: 'One access token, without its secret',
      params: s.tokenIdParams,
      responses: { 200: { description: 'Token', schema: s.tokenView }, 404: err('No such token'), ...authErrors },
      handler: ({ params }) => tokens.get(params.id),
    }),
    route({
      method: 'patch',
      path: '/internal/v1/tokens/:id',
      operationId: 'updateToken',
      tags: ['internal'],
      scope: 'internal',
      summary: "Change a token's permissions; effective on the next request, and its open event streams are closed (4403)",
      params: s.tokenIdParams,
      body: s.updateTokenBody,
      responses: { 200: { description: 'Token', schema: s.tokenView }, 400: err('Invalid body'), 404: err('No such token'), ...authErrors },
      handler: ({ params, body }) => tokens.setPermissions(params.id, body.permissions),
    }),
    route({
      method: 'delete',
      path: '/internal/v1/tokens/:id',
      operationId: 'deleteToken',
      tags: ['internal'],
      scope: 'internal',
      summary: 'Delete a token; refused from the next request on, and its open event streams are closed (4401)',
      params: s.tokenIdParams,
      responses: { 204: { description: 'Deleted' }, 404: err('No such token'), ...authErrors },
      handler: async ({ params }) => {
        await tokens.delete(params.id);
      },
    }),
    ...webhookRoutes(webhooks),
  ];
}
