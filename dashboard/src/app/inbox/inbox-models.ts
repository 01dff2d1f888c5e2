/**
 * The Inbox's shapes: conversations, their messages and notes (the api's `/v1/conversations` routes, docs/team.md §3)
 * and the frames of the members' live socket (`/v1/live`, §2). The HTTP shapes are aliased from the types generated
 * out of the api's OpenAPI document; the socket's frames are written by hand (the OpenAPI document describes HTTP
 * operations, not WebSocket frames).
 */
import type { MessageView } from '../api/instance-models';

export type ConversationStatus = 'open' | 'pending' | 'resolved' | 'snoozed';
export type Visibility = 'public' | 'private';

/** A conversation as the api lists it for the caller (GET /v1/conversations). */
export interface Conversation {
  id: string;
  instanceId: string;
  chatId: string;
  name: string;
  isGroup: boolean;
  status: ConversationStatus;
  /** ISO 8601; a snoozed conversation wakes (back to open) then. */
  snoozedUntil: string | null;
  assigneeId: string | null;
  /** The assignee with their display name (the member's email). */
  assignee: { id: string; name: string } | null;
  visibility: Visibility;
  createdAt: string;
  lastActivityAt: string;
  lastMessage: { id: string; body: string; fromMe: boolean; timestamp: string } | null;
  /** ISO 8601: the oldest inbound message not answered yet. */
  waitingSince: string | null;
  firstResponseAt: string | null;
  inboundCount: number;
  resolvedAt: string | null;
  resolvedBy: string | null;
  /** Inbound messages since the caller's read marker. */
  unread: number;
}

export interface ConversationPage {
  items: Conversation[];
  nextCursor: string | null;
}

/** A message of a conversation: the instance's stored message, `sentBy.member` naming the agent who sent it. */
export type InboxMessage = MessageView;

/** The answer to a send: the instance's queued send (`out_…` id until WhatsApp gives it its own, `messageId`). */
export interface QueuedSend {
  id: string;
  status: 'queued' | 'sending' | 'sent' | 'failed';
  chatId: string;
  fromMe: true;
  isGroup: boolean;
  type: string;
  body: string;
  quotedMessageId?: string;
  sentBy: InboxMessage['sentBy'];
  createdAt: string;
  messageId?: string;
  ack?: number;
}

export interface MessagePage {
  items: InboxMessage[];
  nextCursor: string | null;
}

/** An internal note on a conversation (never sent to the customer). */
export interface Note {
  id: string;
  conversationId: string;
  authorId: string;
  authorName: string;
  body: string;
  createdAt: string;
}

/** Which conversations a tab lists: the caller's, nobody's, or every one the caller may read. */
export type InboxTab = 'mine' | 'unassigned' | 'all';
/** The status filter; `any` lists every status. */
export type StatusFilter = ConversationStatus | 'any';

/** A frame of the live socket: `{id, type, data, at}`, `id` the gap-free resume point. */
export type LiveFrame =
  | { id: number; type: 'conversation.created' | 'conversation.updated' | 'conversation.assigned'; data: ConversationEventData; at: string }
  | { id: number; type: 'conversation.note'; data: { conversationId: string; note: Note }; at: string }
  | { id: number; type: 'message.new' | 'message.sent'; data: { conversationId: string; message: InboxMessage }; at: string }
  | { id: number; type: 'message.ack'; data: { conversationId: string; message: Pick<InboxMessage, 'id' | 'ack'> }; at: string }
  | { id: number; type: 'instance.state' | 'instance.qr' | 'contact.updated' | 'ready'; data: unknown; at: string };

/**
 * A conversation event carries the conversation without the caller's fields (`unread`, the assignee's name), as the
 * data itself or under `conversation`.
 */
export type ConversationEventData = Omit<Conversation, 'unread' | 'assignee'> & { unread?: number; assignee?: Conversation['assignee'] };
