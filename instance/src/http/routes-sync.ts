/**
 * Routes of the sync after login: the chats the instance stored (`GET /v1/chats`, `GET /v1/chats/{id}`, scope r)
 * and marking a chat read on WhatsApp (`POST /v1/chats/{id}/read`, scope w).
 */
import { defineRoute, type RouteDef } from '@wacloud/kit';
import type { ChatsService } from '../services/chats.js';
import type { TokenInfo } from '../services/tokens.js';
import * as s from './schemas.js';
import { chatIdParams, chatView, listChatsQuery } from './schemas-sync.js';

const err = (description: string) => ({ description, schema: s.errorResponse });
const authErrors = { 401: err('Missing or invalid token'), 403: err('The token lacks the needed permission') };
const route = defineRoute<TokenInfo | undefined>();

/** The chats routes over `chats`. */
export function syncRoutes({ chats }: { chats: ChatsService }): RouteDef[] {
  return [
    route({
      method: 'get',
      path: '/v1/chats',
      operationId: 'listChats',
      tags: ['chats'],
      scope: 'r',
      summary: 'Chats, newest first (by last message), filtered by text, group, unread and archived',
      description:
        'Stored when the session becomes WORKING (sync after login) and kept current from WhatsApp events. Each chat ' +
        'carries its unread count, archived / pinned / muted flags and its newest message. Pins and mutes made on the ' +
        'phone show after the next sync (WhatsApp Web sends no event for them).',
      query: listChatsQuery,
      responses: {
        200: { description: 'A page of chats', schema: s.page(chatView) },
        400: err('Invalid filter (`invalid_request`)'),
        422: err('`invalid_cursor`: the cursor was not issued by this instance for this query; start again without it'),
        ...authErrors,
      },
      handler: ({ query }) => chats.list(query),
    }),
    route({
      method: 'get',
      path: '/v1/chats/:id',
      operationId: 'getChat',
      tags: ['chats'],
      scope: 'r',
      summary: "One chat by id; a group's with its subject, description, owner and participants (admin flags)",
      params: chatIdParams,
      responses: {
        200: { description: 'Chat', schema: chatView },
        400: err('Invalid id'),
        404: err('No such chat (`chat_not_found`)'),
        ...authErrors,
      },
      handler: ({ params }) => chats.get(params.id),
    }),
    route({
      method: 'post',
      path: '/v1/chats/:id/read',
      operationId: 'markChatRead',
      tags: ['chats'],
      scope: 'w',
      summary: 'Mark a chat read on WhatsApp (the senders see blue ticks); answers the chat with unreadCount 0',
      params: chatIdParams,
      responses: {
        200: { description: 'The chat, read', schema: chatView },
        400: err('Invalid id'),
        404: err('No such chat (`chat_not_found`)'),
        409: err('Session not logged in (`session_not_ready`)'),
        502: err('WhatsApp refused or failed the operation (`engine_error`)'),
        ...authErrors,
      },
      handler: ({ params }) => chats.markRead(params.id),
    }),
  ];
}
