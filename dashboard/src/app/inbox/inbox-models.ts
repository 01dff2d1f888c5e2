/**
 * The Inbox's shapes: conversations, their messages and notes (the api's `/v1/conversations` routes, docs/team.md §3)
 * and the frames of the members' live socket (`/v1/live`, §2). Conversations and notes are aliased from the types
 * generated out of the api's OpenAPI document, messages from the instance's (the api passes them through); the queued
 * send and the socket's frames are written by hand (the api's document leaves the first open, and describes HTTP
 * operations, not WebSocket frames).
 */
import type { MessageView } from '../api/instance-models';
import type { ListConversationNotesResponses, ListConversationsResponses } from '../api/generated/api';

/** A conversation as the api lists it for the caller (GET /v1/conversations): with `unread` and the assignee's name. */
export type Conversation = ListConversationsResponses[200]['items'][number];
export type ConversationStatus = Conversation['status'];
export type Visibility = Conversation['visibility'];
export type ConversationPage = ListConversationsResponses[200];

/**
 * A message of a conversation: the instance's stored message (the api passes it through; its OpenAPI document leaves
 * it open), `sentBy.member` naming the agent who sent it.
 */
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
export type Note = ListConversationNotesResponses[200]['items'][number];

/** Which conversations a tab lists: the caller's, nobody's, or every one the caller may read. */
export type InboxTab = 'mine' | 'unassigned' | 'all';
/** The status filter; `any` lists every status. */
export type StatusFilter = ConversationStatus | 'any';

/** A frame of the live socket: `{id, type, data, at}`, `id` the gap-free resume point. */
export type LiveFrame =
  | { id: number; type: 'conversation.created' | 'conversation.updated' | 'conversation.assigned'; data: ConversationEventData; at: string }
  | { id: number; type: 'conversation.note'; data: Note; at: string }
  | { id: number; type: 'message.new' | 'message.sent'; data: { conversationId: string; message: InboxMessage }; at: string }
  | { id: number; type: 'message.ack'; data: { conversationId: string; message: Pick<InboxMessage, 'id' | 'ack'> }; at: string }
  | { id: number; type: 'instance.state' | 'instance.qr' | 'contact.updated' | 'ready'; data: unknown; at: string };

/**
 * A conversation event carries the conversation without the caller's fields (`unread`, the assignee's name) and
 * without its contact from the book (the list keeps the one it has), as the data itself or under `conversation`.
 */
export type ConversationEventData = Omit<Conversation, 'unread' | 'assignee' | 'contact'> & {
  unread?: number;
  assignee?: Conversation['assignee'];
  contact?: Conversation['contact'];
};
