/**
 * `POST /v1/instances/:id/ws-ticket`: a single-use ticket (`gateway/ws-tickets.ts`) for a browser to open the
 * instance's event stream through the gateway (`…/api/v1/events?ticket=<ticket>`) without an access token in the URL.
 * Only members who may read the instance get one (another organisation's instance, or one an agent has no `canRead`
 * on, is a 404 like an unknown one); a ticket opens that
 * instance only, once, within its lifetime (WS_TICKET_TTL_S, 30 s by default).
 */
import { defineRoute, type RouteDef } from '@wacloud/kit';
import { z } from 'zod';
import type { AuthContext } from './accounts.js';
import type { WsTickets } from './gateway/ws-tickets.js';
import type { InstanceService } from './instances.js';
import { requireRight } from './orgs/access.js';
import * as s from './schemas.js';

const route = defineRoute<AuthContext>();
const err = (description: string) => ({ description, schema: s.errorResponse });

const ticketView = z.object({
  ticket: z.string().meta({ description: 'Opaque single-use ticket: connect with `?ticket=<ticket>`' }),
  expiresAt: z.string().meta({ description: 'When the ticket expires unused (ISO 8601)' }),
  expiresInS: z.number().int().meta({ description: 'Its lifetime, seconds' }),
});

/** The ticket route over `instances` (ownership) and `tickets`. */
export function wsTicketRoutes(instances: Pick<InstanceService, 'owned'>, tickets: WsTickets): RouteDef[] {
  return [
    route({
      method: 'post',
      path: '/v1/instances/:id/ws-ticket',
      operationId: 'createWsTicket',
      tags: ['instances'],
      scope: 'user',
      summary:
        "A single-use ticket to open the instance's event stream from a browser: WebSocket " +
        '`/v1/instances/{id}/api/v1/events?ticket=<ticket>` (tokens in the URL are refused). It opens this instance only, ' +
        'once, within its lifetime; the stream then lasts as long as the access token it was asked with (logout closes it).',
      params: s.instanceIdParams,
      responses: {
        201: { description: 'The ticket', schema: ticketView },
        404: err('`instance_not_found`: no such instance'),
        401: err('Missing, invalid, expired or revoked access token'),
      },
      handler: async ({ auth, params }) => {
        requireRight(auth, params.id, 'canRead'); // an agent without canRead: the instance does not exist for them
        await instances.owned(auth.orgId, params.id);
        return tickets.issue({ userId: auth.userId, sessionId: auth.sessionId, instanceId: params.id });
      },
    }),
  ];
}
