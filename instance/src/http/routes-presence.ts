/** Presence of the public API: the account's typing / recording indicator in a chat. */
import { defineRoute, type RouteDef } from '@wacloud/kit';
import type { PresenceService } from '../services/presence.js';
import type { TokenInfo } from '../services/tokens.js';
import * as s from './schemas.js';
import * as a from './schemas-actions.js';

const err = (description: string) => ({ description, schema: s.errorResponse });
const route = defineRoute<TokenInfo | undefined>();

export function presenceRoutes({ presence }: { presence: PresenceService }): RouteDef[] {
  return [
    route({
      method: 'post',
      path: '/v1/chats/:id/presence',
      operationId: 'setChatPresence',
      tags: ['chats'],
      scope: 'w',
      summary: 'Show "typing…" or "recording audio…" in a chat, or clear it (paused)',
      description: "Others' indicators arrive as `presence` live events and webhooks.",
      params: a.presenceParams,
      body: a.presenceBody,
      responses: {
        200: { description: 'Shown', schema: a.presenceBody.extend({ chatId: s.chatId }) },
        400: err('Invalid chat id or state'),
        401: err('Missing or invalid token'),
        403: err('The token lacks the needed permission'),
        404: err('No such chat (chat_not_found)'),
        409: err('Session not logged in (session_not_ready)'),
        422: err('Number not on WhatsApp (number_not_on_whatsapp)'),
        502: err('WhatsApp refused or failed it (engine_error)'),
      },
      handler: ({ params, body }) => presence.show(params.id, body.state),
    }),
  ];
}
