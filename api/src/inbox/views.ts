/**
 * How conversations and notes look in API answers and live events (ISO 8601 times), their zod schemas for the
 * OpenAPI document, and the live audience of a conversation.
 */
import { z } from 'zod';
import type { LiveAudience } from '../live/live-log.js';
import { contactSummarySchema } from './contact-summary.js';
import { STATUSES, type ConversationDoc, type NoteDoc } from './store.js';

const iso = (d: Date | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

/** A conversation as live events carry it (no caller-specific fields). */
export function conversationData(c: ConversationDoc) {
  return {
    id: c._id,
    instanceId: c.instanceId,
    chatId: c.chatId,
    name: c.name,
    isGroup: c.isGroup,
    status: c.status,
    snoozedUntil: iso(c.snoozedUntil),
    assigneeId: c.assigneeId,
    visibility: c.visibility,
    createdAt: iso(c.createdAt)!,
    lastActivityAt: iso(c.lastActivityAt)!,
    lastMessage: c.lastMessage ? { ...c.lastMessage, timestamp: iso(c.lastMessage.timestamp)! } : null,
    waitingSince: iso(c.waitingSince),
    firstResponseAt: iso(c.firstResponseAt),
    inboundCount: c.inboundCount,
    resolvedAt: iso(c.resolvedAt),
    resolvedBy: c.resolvedBy ?? null,
  };
}

/** A conversation for one member: with its unread count and the assignee's name. */
export function conversationView(c: ConversationDoc, unread: number, assignee: { id: string; name: string } | null) {
  return { ...conversationData(c), unread, assignee };
}

export function noteView(n: NoteDoc) {
  return {
    id: n._id,
    conversationId: n.conversationId,
    authorId: n.authorId,
    authorName: n.authorName,
    body: n.body,
    createdAt: iso(n.createdAt)!,
  };
}

/** Who receives live events of conversation `c`: readers of its instance; a private one only its assignee (and admins). */
export function audienceOf(c: Pick<ConversationDoc, 'orgId' | 'instanceId' | 'visibility' | 'assigneeId'>): LiveAudience {
  return { orgId: c.orgId, instanceId: c.instanceId, ...(c.visibility === 'private' ? { privateTo: c.assigneeId } : {}) };
}

export const conversationId = z.string().regex(/^cnv_[0-9a-f]{24}$/, 'must be a conversation id (cnv_ + 24 hex)');
export const conversationParams = z.object({ id: conversationId });
export const statusSchema = z.enum(STATUSES).meta({ description: 'open, pending, resolved or snoozed (until snoozedUntil)' });
export const visibilitySchema = z
  .enum(['public', 'private'])
  .meta({ description: 'public: the team (members who can read its instance); private: its assignee, owners and admins' });

export const conversationSchema = z.object({
  id: z.string(),
  instanceId: z.string(),
  chatId: z.string(),
  name: z.string(),
  isGroup: z.boolean(),
  status: statusSchema,
  snoozedUntil: z.string().nullable().meta({ description: 'ISO 8601; snoozed: when it wakes (back to open)' }),
  assigneeId: z.string().nullable(),
  visibility: visibilitySchema,
  createdAt: z.string(),
  lastActivityAt: z.string(),
  lastMessage: z.object({ id: z.string(), body: z.string(), fromMe: z.boolean(), timestamp: z.string() }).nullable(),
  waitingSince: z.string().nullable().meta({ description: 'ISO 8601: the oldest inbound message not answered yet' }),
  firstResponseAt: z.string().nullable().meta({ description: 'ISO 8601: the first answer since it was created or reopened' }),
  inboundCount: z.number().int(),
  resolvedAt: z.string().nullable(),
  resolvedBy: z.string().nullable().meta({ description: 'The member who resolved it' }),
});
export const conversationViewSchema = conversationSchema.extend({
  unread: z.number().int().meta({ description: "Inbound messages since the caller's read marker" }),
  assignee: z.object({ id: z.string(), name: z.string() }).nullable(),
});
/** A conversation as the list and GET /v1/conversations/{id} give it: with the contact of its chat in the book. */
export const conversationListItemSchema = conversationViewSchema.extend({
  contact: contactSummarySchema
    .nullable()
    .meta({ description: 'The contact of the chat in the contact book (name, tags); null for a group or a chat not in the book' }),
});
export const noteSchema = z.object({
  id: z.string(),
  conversationId: z.string(),
  authorId: z.string(),
  authorName: z.string(),
  body: z.string(),
  createdAt: z.string(),
});
