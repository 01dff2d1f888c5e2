/**
 * The inbox's endpoints (docs/team.md §3): conversations of the organisation's instances — list, one, its messages
 * (read from the instance), send into it (as the member), assign / transfer, status, visibility, notes, read marker.
 * Rules in `rules.ts`.
 */
import { defineRoute, wholeNumberQuery, type RouteDef } from '@wacloud/kit';
import { z } from 'zod';
import type { AuthContext } from '../accounts.js';
import { requireRight } from '../orgs/access.js';
import * as s from '../schemas.js';
import type { ConversationMessages } from './messages.js';
import type { Inbox } from './rules.js';
import type { ContactSummaries } from './contact-summary.js';
import {
  conversationListItemSchema,
  conversationParams,
  conversationViewSchema,
  noteSchema,
  statusSchema,
  visibilitySchema,
} from './views.js';

export interface InboxRouteDeps {
  inbox: Inbox;
  messages: ConversationMessages;
  /** The contact of each conversation of the list (one batched read per page). */
  contacts: ContactSummaries;
}

const route = defineRoute<AuthContext>();
const err = (description: string) => ({ description, schema: s.errorResponse });
const authErr = { 401: err('Missing, invalid, expired or revoked access token') };
const notFound = {
  404: err(
    "`conversation_not_found`: no such conversation, or not one for the caller (its instance is not readable to it, or it is another member's private one)",
  ),
};
const manageErr = { 403: err('`right_required`: needs canManageChats on its instance') };
const instanceErr = {
  409: err("`session_not_ready`: the instance's WhatsApp session is not logged in; `instance_suspended`, `instance_stopped`"),
  502: err('`upstream_error`: the instance answered with an error'),
  503: err('`instance_unavailable`: the instance is not reachable; retry shortly'),
};

const memberId = z.string().regex(/^m_[\w-]{1,64}$/, 'must be a member id (m_…)');
const listQuery = z
  .object({
    instanceId: s.instanceIdParams.shape.id.optional().meta({ description: 'Only this instance' }),
    status: statusSchema.optional(),
    assignee: z
      .union([z.enum(['me', 'unassigned', 'any']), memberId])
      .optional()
      .meta({ description: 'me, unassigned, any (default) or a member id' }),
    visibility: visibilitySchema.optional(),
    unread: z.enum(['true', 'false']).optional().meta({ description: 'true: only those with messages the caller has not read' }),
    q: z.string().min(1).max(200).optional().meta({ description: 'Case-insensitive text in the name, chat id or last message' }),
    limit: wholeNumberQuery(200).meta({ description: 'Page size, 1–200 (default 50)' }),
    cursor: z
      .string()
      .max(200)
      .meta({ pattern: '^\\d{1,16}\\.cnv_[0-9a-f]{24}$' })
      .optional()
      .meta({ description: "The previous page's nextCursor" }),
  })
  .strict();
const messagesQuery = z
  .object({
    limit: wholeNumberQuery(200).meta({ description: 'Page size, 1–200 (default 50)' }),
    cursor: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,512}$/, "must be the previous page's nextCursor")
      .optional()
      .meta({ description: "The previous page's nextCursor (the instance's)" }),
  })
  .strict();
const sendBody = z
  .object({
    text: z.string().min(1, 'must not be empty').max(65_536),
    replyTo: z.string().min(1).max(256).optional().meta({ description: 'Id of a message of this conversation to quote' }),
  })
  .strict();
const assignBody = z
  .object({ assigneeId: memberId.nullable().meta({ description: 'The member to assign it to; null unassigns' }) })
  .strict();
const statusBody = z
  .object({
    status: statusSchema,
    snoozedUntil: z.iso.datetime({ offset: true }).optional().meta({ description: 'ISO 8601, in the future: status snoozed only' }),
  })
  .strict();
const patchBody = z.object({ visibility: visibilitySchema }).strict();
const noteBody = z.object({ body: z.string().trim().min(1, 'must not be empty').max(10_000).meta({ pattern: '\\S' }) }).strict();
const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });
const message = z
  .object({ id: z.string(), chatId: z.string(), fromMe: z.boolean(), body: z.string(), timestamp: z.string() })
  .passthrough()
  .meta({ description: "The instance's message view (its `sentBy` names the token and member that sent it)" });

export function inboxRoutes(d: InboxRouteDeps): RouteDef[] {
  return [
    route({
      method: 'get',
      path: '/v1/conversations',
      operationId: 'listConversations',
      tags: ['inbox'],
      scope: 'user',
      summary: 'Conversations the caller may see, newest activity first, filtered; with its unread count of each',
      query: listQuery,
      responses: {
        200: { description: 'A page; each conversation with its contact from the book', schema: page(conversationListItemSchema) },
        400: err('`invalid_request`, `invalid_cursor`'),
        404: err('`instance_not_found`: the instanceId filter names an instance the caller cannot read'),
        ...authErr,
      },
      handler: async ({ auth, query }) => {
        const r = await d.inbox.list(auth, { ...query, unread: query.unread === 'true' });
        return { items: await d.contacts.attach(auth.orgId, r.items), nextCursor: r.nextCursor };
      },
    }),
    route({
      method: 'get',
      path: '/v1/conversations/:id',
      operationId: 'getConversation',
      tags: ['inbox'],
      scope: 'user',
      summary: 'One conversation, with its contact from the book',
      params: conversationParams,
      responses: { 200: { description: 'The conversation', schema: conversationListItemSchema }, ...notFound, ...authErr },
      handler: async ({ auth, params }) => {
        const [c] = await d.contacts.attach(auth.orgId, [await d.inbox.view(auth, await d.inbox.load(auth, params.id))]);
        return c!;
      },
    }),
    route({
      method: 'get',
      path: '/v1/conversations/:id/messages',
      operationId: 'listConversationMessages',
      tags: ['inbox'],
      scope: 'user',
      summary: "A conversation's messages, newest first, read from its instance; each sent one names its sender (`sentBy`)",
      params: conversationParams,
      query: messagesQuery,
      responses: {
        200: { description: 'A page', schema: page(message) },
        ...notFound,
        ...instanceErr,
        422: err('`unknown_cursor`: a well-formed cursor that was not issued for this conversation'),
        ...authErr,
      },
      handler: async ({ auth, params, query }) => d.messages.list(await d.inbox.load(auth, params.id), query.cursor, query.limit ?? 50),
    }),
    route({
      method: 'post',
      path: '/v1/conversations/:id/messages',
      operationId: 'sendConversationMessage',
      tags: ['inbox'],
      scope: 'user',
      summary:
        "Queue a text (optionally quoting one of its messages) into the conversation, sent as the caller (the instance records it as the member's)",
      params: conversationParams,
      body: sendBody,
      responses: {
        202: {
          description: "The instance's queued message (`out_…` id, status, sentBy)",
          schema: z.object({ id: z.string() }).passthrough(),
        },
        403: err('`right_required`: needs canWrite on its instance'),
        ...notFound,
        422: err('`message_not_found`: replyTo is not a message of this conversation'),
        ...instanceErr,
        ...authErr,
      },
      handler: async ({ auth, params, body }) => {
        const c = await d.inbox.load(auth, params.id);
        requireRight(auth, c.instanceId, 'canWrite');
        return d.messages.send(auth, c, body.text, body.replyTo);
      },
    }),
    route({
      method: 'post',
      path: '/v1/conversations/:id/assign',
      operationId: 'assignConversation',
      tags: ['inbox'],
      scope: 'user',
      summary: 'Assign the conversation to a member, transfer it to another, or unassign it (null). Audited',
      params: conversationParams,
      body: assignBody,
      responses: {
        200: { description: 'The conversation', schema: conversationViewSchema },
        ...manageErr,
        ...notFound,
        422: err('`assignee_not_found`: not a member of the organisation; `assignee_without_access`: the member cannot read its instance'),
        ...authErr,
      },
      handler: ({ auth, params, body }) => d.inbox.assign(auth, params.id, body.assigneeId),
    }),
    route({
      method: 'post',
      path: '/v1/conversations/:id/status',
      operationId: 'setConversationStatus',
      tags: ['inbox'],
      scope: 'user',
      summary:
        "Set the conversation's status: open, pending, resolved, or snoozed until a time (it wakes then, or at the customer's next message). Audited",
      params: conversationParams,
      body: statusBody,
      responses: {
        200: { description: 'The conversation', schema: conversationViewSchema },
        400: err('`invalid_request`: a status outside open, pending, resolved, snoozed'),
        ...manageErr,
        ...notFound,
        422: err('`invalid_snooze`: snoozed without a future snoozedUntil, or snoozedUntil with another status'),
        ...authErr,
      },
      handler: ({ auth, params, body }) =>
        d.inbox.setStatus(auth, params.id, body.status, body.snoozedUntil ? new Date(body.snoozedUntil) : undefined),
    }),
    route({
      method: 'patch',
      path: '/v1/conversations/:id',
      operationId: 'updateConversation',
      tags: ['inbox'],
      scope: 'user',
      summary: "Set the conversation's visibility: public (the team) or private (its assignee, owners and admins). Audited",
      params: conversationParams,
      body: patchBody,
      responses: { 200: { description: 'The conversation', schema: conversationViewSchema }, ...manageErr, ...notFound, ...authErr },
      handler: ({ auth, params, body }) => d.inbox.setVisibility(auth, params.id, body.visibility),
    }),
    route({
      method: 'post',
      path: '/v1/conversations/:id/notes',
      operationId: 'addConversationNote',
      tags: ['inbox'],
      scope: 'user',
      summary: 'Add a private note for the team (never sent to WhatsApp)',
      params: conversationParams,
      body: noteBody,
      responses: { 201: { description: 'The note', schema: noteSchema }, ...notFound, ...authErr },
      handler: ({ auth, params, body }) => d.inbox.addNote(auth, params.id, body.body),
    }),
    route({
      method: 'get',
      path: '/v1/conversations/:id/notes',
      operationId: 'listConversationNotes',
      tags: ['inbox'],
      scope: 'user',
      summary: "The conversation's notes, oldest first (at most 500)",
      params: conversationParams,
      responses: { 200: { description: 'Notes', schema: z.object({ items: z.array(noteSchema) }) }, ...notFound, ...authErr },
      handler: ({ auth, params }) => d.inbox.notes(auth, params.id),
    }),
    route({
      method: 'post',
      path: '/v1/conversations/:id/read',
      operationId: 'markConversationRead',
      tags: ['inbox'],
      scope: 'user',
      summary: "Mark the conversation read for the caller (its unread count drops to 0; other members' stay)",
      params: conversationParams,
      responses: { 200: { description: 'The conversation', schema: conversationViewSchema }, ...notFound, ...authErr },
      handler: ({ auth, params }) => d.inbox.markRead(auth, params.id),
    }),
  ];
}
