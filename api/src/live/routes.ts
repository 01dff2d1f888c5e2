/**
 * `POST /v1/live/ticket`: a single-use ticket for a browser to open the live socket (`GET /v1/live?ticket=…`) without
 * an access token in the URL — the gateway's WebSocket tickets (`gateway/ws-tickets.ts`) with the scope `live`. Any
 * member may ask; what the socket then sends is filtered by the member's rights.
 */
import { defineRoute, type RouteDef } from '@wacloud/kit';
import { z } from 'zod';
import type { AuthContext } from '../accounts.js';
import type { WsTickets } from '../gateway/ws-tickets.js';
import * as s from '../schemas.js';
import { LIVE_TICKET_SCOPE } from './sockets.js';

const route = defineRoute<AuthContext>();
const err = (description: string) => ({ description, schema: s.errorResponse });

const ticketView = z.object({
  ticket: z.string().meta({ description: 'Opaque single-use ticket: connect with `GET /v1/live?ticket=<ticket>`' }),
  expiresAt: z.string().meta({ description: 'When the ticket expires unused (ISO 8601)' }),
  expiresInS: z.number().int().meta({ description: 'Its lifetime, seconds' }),
});

export function liveRoutes(tickets: WsTickets): RouteDef[] {
  return [
    route({
      method: 'post',
      path: '/v1/live/ticket',
      operationId: 'createLiveTicket',
      tags: ['live'],
      scope: 'user',
      summary:
        'A single-use ticket to open the live socket: WebSocket `/v1/live?ticket=<ticket>[&lastEventId=<id>]`. Frames ' +
        '`{id, type, data, at}` (conversation.*, message.*, instance.state, instance.qr, …) filtered by your current rights; ' +
        'after any replay a `ready` frame whose `id` is the resume point. `lastEventId` resumes without a gap; close 4410: ' +
        'the resume point expired (reload lists), 4401: session ended or member removed, 4403: rights changed (reconnect).',
      responses: {
        201: { description: 'The ticket', schema: ticketView },
        401: err('`unauthorized`: missing, invalid, expired or revoked access token'),
      },
      handler: ({ auth }) => tickets.issue({ userId: auth.userId, sessionId: auth.sessionId, instanceId: LIVE_TICKET_SCOPE }),
    }),
  ];
}
