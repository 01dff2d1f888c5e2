/**
 * Message actions of the public API: reply (quoted) and forward — queued like `POST /v1/messages` (202, paced, sent
 * once, `Idempotency-Key`, `?wait=true`) —, react, edit and delete for everyone (revoke), which act at once.
 */
import { senderOf } from './sender.js';
import { defineRoute, type RouteDef } from '@wacloud/kit';
import type { MessageActionsService } from '../services/message-actions.js';
import type { TokenInfo } from '../services/tokens.js';
import { idempotencyKeyOf } from './routes-public.js';
import * as s from './schemas.js';
import * as a from './schemas-actions.js';

export interface ActionDeps {
  actions: MessageActionsService;
  /** `?wait=true`: longest wait for sent or failed, ms (default 30 s). */
  sendWaitMs?: number | undefined;
}

const err = (description: string) => ({ description, schema: s.errorResponse });
const authErrors = { 401: err('Missing or invalid token'), 403: err('The token lacks the needed permission') };
const route = defineRoute<TokenInfo | undefined>();

const queuedResponses = {
  202: { description: 'Queued (or, for a repeated Idempotency-Key, the first message as it is now)', schema: s.outgoingMessageView },
  201: { description: '`?wait=true`: sent', schema: s.outgoingMessageView },
  400: err('Invalid body, id or Idempotency-Key'),
  404: err('No such message (message_not_found); `?wait=true`: chat not found'),
  409: err('Session not logged in (session_not_ready); the message was deleted for everyone (message_revoked)'),
  422: err('Idempotency-Key used for another message; `?wait=true`: number not on WhatsApp'),
  502: err('`?wait=true`: WhatsApp refused or failed the message'),
  ...authErrors,
};

const actedResponses = (extra: Record<number, ReturnType<typeof err>>) => ({
  200: { description: 'The stored message after the action', schema: s.messageView },
  400: err('Invalid id or body'),
  404: err('No such message (message_not_found)'),
  409: err('Session not logged in (session_not_ready); the message was deleted for everyone (message_revoked)'),
  502: err('WhatsApp refused or failed the action (engine_error)'),
  ...extra,
  ...authErrors,
});

export function actionRoutes({ actions, sendWaitMs }: ActionDeps): RouteDef[] {
  const waitMs = sendWaitMs ?? 30_000;
  return [
    route({
      method: 'post',
      path: '/v1/messages/:id/reply',
      operationId: 'replyToMessage',
      tags: ['messages'],
      scope: 'w',
      summary: 'Queue a reply quoting a stored message, in its chat',
      description: 'Queued like POST /v1/messages (202, paced, sent once; Idempotency-Key and ?wait=true work the same).',
      params: s.messageIdParams,
      query: s.sendMessageQuery,
      body: a.replyBody,
      responses: queuedResponses,
      handler: async ({ req, res, params, body, query, auth: token }) => {
        const { view } = await actions.reply(params.id, body.text, senderOf(token!, req), {
          idempotencyKey: idempotencyKeyOf(req.header('idempotency-key')),
          waitMs: query.wait ? waitMs : 0,
        });
        res.status(query.wait && view.status === 'sent' ? 201 : 202).json(view);
      },
    }),
    route({
      method: 'post',
      path: '/v1/messages/:id/forward',
      operationId: 'forwardMessage',
      tags: ['messages'],
      scope: 'w',
      summary: 'Queue a forward of a stored message to a chat or phone number',
      description:
        'Queued like POST /v1/messages (202, paced, sent once; Idempotency-Key and ?wait=true work the same); the new ' +
        'message is marked isForwarded. Only messages with text can be forwarded (400 invalid_request).',
      params: s.messageIdParams,
      query: s.sendMessageQuery,
      body: a.forwardBody,
      responses: queuedResponses,
      handler: async ({ req, res, params, body, query, auth: token }) => {
        const { view } = await actions.forward(params.id, body.to, senderOf(token!, req), {
          idempotencyKey: idempotencyKeyOf(req.header('idempotency-key')),
          waitMs: query.wait ? waitMs : 0,
        });
        res.status(query.wait && view.status === 'sent' ? 201 : 202).json(view);
      },
    }),
    route({
      method: 'post',
      path: '/v1/messages/:id/reaction',
      operationId: 'reactToMessage',
      tags: ['messages'],
      scope: 'w',
      summary: "Put the account's reaction on a stored message (one emoji), or take it off (empty)",
      params: s.messageIdParams,
      body: a.reactionBody,
      responses: actedResponses({}),
      handler: ({ params, body }) => actions.react(params.id, body.reaction),
    }),
    route({
      method: 'patch',
      path: '/v1/messages/:id',
      operationId: 'editMessage',
      tags: ['messages'],
      scope: 'w',
      summary: "Edit the text of one of the account's messages (within 15 minutes of sending)",
      description: 'The stored message gets the new body and editedAt; a `message.edit` event follows.',
      params: s.messageIdParams,
      body: a.editBody,
      responses: actedResponses({
        403: err("Someone else's message (not_own_message), or the token lacks w"),
        422: err('Sent more than 15 minutes ago (edit_window_passed)'),
      }),
      handler: ({ params, body }) => actions.edit(params.id, body.text),
    }),
    route({
      method: 'delete',
      path: '/v1/messages/:id',
      operationId: 'revokeMessage',
      tags: ['messages'],
      scope: 'w',
      summary: "Delete one of the account's messages for everyone (revoke)",
      description: 'The stored message becomes a tombstone (type revoked, empty body, revokedAt); a `message.revoked` event follows.',
      params: s.messageIdParams,
      responses: actedResponses({ 403: err("Someone else's message (not_own_message), or the token lacks w") }),
      handler: ({ params }) => actions.revoke(params.id),
    }),
  ];
}
