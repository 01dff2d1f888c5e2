/**
 * `GET /v1/stats`: the organisation's statistics for owners and admins (`stats-service.ts`).
 */
import { defineRoute, wholeNumberQuery, type RouteDef } from '@wacloud/kit';
import { z } from 'zod';
import type { AuthContext } from '../accounts.js';
import { requireAdmin } from '../orgs/access.js';
import * as s from '../schemas.js';
import type { StatsService } from './stats-service.js';

const route = defineRoute<AuthContext>();
const err = (description: string) => ({ description, schema: s.errorResponse });

const statsQuery = z
  .object({
    days: wholeNumberQuery(90).meta({ description: 'The window: this many UTC days ending today, 1–90 (default 30)' }),
    instanceId: s.instanceIdParams.shape.id.optional().meta({ description: 'Only this instance (and its conversations)' }),
  })
  .strict();

const dayCount = z.object({
  date: z.string().meta({ description: 'YYYY-MM-DD (UTC)' }),
  in: z.number().int().meta({ description: 'Messages received' }),
  out: z.number().int().meta({ description: 'Messages sent (from the phone or through the API)' }),
});
const statsView = z.object({
  from: z.string().meta({ description: '00:00 UTC of the first day (ISO 8601)' }),
  to: z.string().meta({ description: '00:00 UTC of the day after the last, exclusive (ISO 8601)' }),
  sessions: z.object({
    total: z.number().int().meta({ description: 'Instances' }),
    working: z.number().int().meta({ description: 'Instances whose WhatsApp session is WORKING' }),
  }),
  chats: z.number().int().meta({ description: 'Chats with a message in the window, over the instances' }),
  days: z.array(dayCount).meta({ description: 'Every day of the window, oldest first, over the instances that answered' }),
  instances: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      state: z.string().nullable().meta({ description: "The WhatsApp session's state; null when the instance did not answer" }),
      available: z.boolean().meta({
        description: 'Whether the instance answered; a stopped, suspended, starting or unreachable one counts 0 and shows false',
      }),
      chats: z.number().int(),
      in: z.number().int(),
      out: z.number().int(),
    }),
  ),
  agents: z.array(
    z.object({
      memberId: z.string(),
      name: z.string().nullable().meta({ description: "The member's email; null for a member no longer in the organisation" }),
      sent: z.number().int().meta({ description: 'Messages the member sent in conversations' }),
      resolved: z.number().int().meta({ description: 'Conversations the member resolved' }),
      medianFirstResponseMs: z.number().int().nullable().meta({ description: 'Median first-response time, ms; null without any' }),
    }),
  ),
});

/** What the api's route table needs for statistics (`RouteDeps` extends it). */
export interface StatsDeps {
  /** The organisation's statistics; none: no stats route. */
  stats?: StatsService;
}

/** The statistics route. */
export function statsRoutes(stats: StatsService): RouteDef[] {
  return [
    route({
      method: 'get',
      path: '/v1/stats',
      operationId: 'getStats',
      tags: ['stats'],
      scope: 'user',
      summary:
        'Statistics of the organisation (or one instance) for the last `days` UTC days: sessions, chats, messages in / out ' +
        'per day and per instance (asked from the instances; one that does not answer is flagged, never an error), and per ' +
        'member: messages sent, conversations resolved, median first-response time. Owners and admins',
      query: statsQuery,
      responses: {
        200: { description: 'The statistics', schema: statsView },
        400: err('`invalid_request`: days outside 1–90, a malformed instance id or an unknown parameter'),
        401: err('Missing, invalid, expired or revoked access token'),
        403: err('`role_required`: only owners and admins of the organisation'),
        404: err('`instance_not_found`: no such instance in your organisation'),
      },
      handler: ({ auth, query }) => {
        requireAdmin(auth);
        return stats.get(auth.orgId, query.days ?? 30, query.instanceId);
      },
    }),
  ];
}
