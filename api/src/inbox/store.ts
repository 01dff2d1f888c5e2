/**
 * The inbox's collections (docs/team.md §3): `conversations` (one per instance and chat), `conversation_notes`
 * (private notes, never sent to WhatsApp), `conversation_reads` (per-member read markers) and `inbox_activity`
 * (append-only facts for the statistics: inbound, outbound, resolved, first_response), with their indexes.
 * FerretDB v1 compatible: uniqueness rests on `_id`s and unique indexes (atomic inserts); updates set or increment
 * single fields.
 */
import type mongoose from 'mongoose';

export const STATUSES = ['open', 'pending', 'resolved', 'snoozed'] as const;
export type ConversationStatus = (typeof STATUSES)[number];
export type Visibility = 'public' | 'private';

/** A conversation: one per (instanceId, chatId), created on its first message either way. */
export interface ConversationDoc {
  /** `cnv_` + 24 hex. */
  _id: string;
  orgId: string;
  instanceId: string;
  /** WhatsApp chat id (`…@c.us`, `…@g.us`). */
  chatId: string;
  name: string;
  isGroup: boolean;
  status: ConversationStatus;
  /** Set while `status` is `snoozed`: when it wakes (back to `open`). */
  snoozedUntil?: Date | null | undefined;
  /** The member in charge; null: unassigned. */
  assigneeId: string | null;
  /** `private`: only the assignee (and owners and admins) see it. */
  visibility: Visibility;
  createdAt: Date;
  lastActivityAt: Date;
  lastMessage: { id: string; body: string; fromMe: boolean; timestamp: Date } | null;
  /** The oldest inbound message not answered yet; null when the last word was ours. */
  waitingSince: Date | null;
  /** The first answer to the customer since the conversation was created or last reopened. */
  firstResponseAt: Date | null;
  /** Inbound messages so far (read markers compare against it). */
  inboundCount: number;
  resolvedAt?: Date | null | undefined;
  resolvedBy?: string | null | undefined;
}

export interface NoteDoc {
  /** `note_` + 24 hex. */
  _id: string;
  conversationId: string;
  orgId: string;
  authorId: string;
  authorName: string;
  body: string;
  createdAt: Date;
}

export interface ReadDoc {
  /** `<conversationId>:<memberId>`. */
  _id: string;
  inboundCountAtRead: number;
  readAt: Date;
}

export type ActivityKind = 'inbound' | 'outbound' | 'resolved' | 'first_response';

/** One fact for the statistics; append-only. */
export interface ActivityDoc {
  /** For message facts `<kind>:<instanceId>:<messageId>` (a redelivered event inserts nothing new); else random. */
  _id: string;
  orgId: string;
  instanceId: string;
  conversationId: string;
  kind: ActivityKind;
  /** The member who sent (outbound), resolved, or answered first; null: a token, the phone or the system. */
  memberId: string | null;
  at: Date;
  /** first_response: ms from the oldest waiting inbound message to the answer. */
  ms?: number | undefined;
}

export interface InboxStore {
  conversations: mongoose.mongo.Collection<ConversationDoc>;
  notes: mongoose.mongo.Collection<NoteDoc>;
  reads: mongoose.mongo.Collection<ReadDoc>;
  activity: mongoose.mongo.Collection<ActivityDoc>;
}

/** The inbox's collections in database `db`, with their indexes created. */
export async function openInboxStore(db: mongoose.mongo.Db): Promise<InboxStore> {
  const s: InboxStore = {
    conversations: db.collection<ConversationDoc>('conversations'),
    notes: db.collection<NoteDoc>('conversation_notes'),
    reads: db.collection<ReadDoc>('conversation_reads'),
    activity: db.collection<ActivityDoc>('inbox_activity'),
  };
  await s.conversations.createIndex({ instanceId: 1, chatId: 1 }, { unique: true });
  await s.conversations.createIndex({ orgId: 1, lastActivityAt: -1, _id: -1 });
  await s.conversations.createIndex({ status: 1, snoozedUntil: 1 });
  await s.notes.createIndex({ conversationId: 1, createdAt: 1 });
  await s.activity.createIndex({ orgId: 1, at: 1 });
  return s;
}
