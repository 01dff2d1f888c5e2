/**
 * Chats as the API shows them: the stored chats (kept by the sync after login and the engine's events) with their
 * last message (for one chat, the newest stored message when it is newer than the record's), a group's metadata, and marking a chat read through the engine.
 */
import { AppError } from '../errors.js';
import type { Engine } from '../engines/engine.js';
import type { EngineGroupParticipant } from '../engines/engine-sync.js';
import { findChatById, findChats, findGroupById, newestMessages, type ChatFilter } from '../storage/chats.js';
import type { Page } from '../storage/queries.js';
import type { ChatDoc, MessageDoc, Store } from '../storage/store.js';
import { markChatReadStored, type GroupDoc } from '../storage/sync.js';
import { callEngine } from './engine-errors.js';

/** The newest message of a chat, in short. */
export interface LastMessageView {
  id: string;
  author: string;
  fromMe: boolean;
  type: string;
  body: string;
  /** ISO 8601 */
  timestamp: string;
}

/** A group's metadata as the API shows it. */
export interface GroupView {
  subject: string;
  description?: string | undefined;
  owner?: string | undefined;
  /** ISO 8601 */
  createdAt?: string | undefined;
  participants: EngineGroupParticipant[];
}

/** A chat as the API shows it. */
export interface ChatView {
  id: string;
  name?: string | undefined;
  isGroup: boolean;
  unreadCount: number;
  archived: boolean;
  pinned: boolean;
  muted: boolean;
  /** ISO 8601 */
  lastMessageAt?: string | undefined;
  lastMessage?: LastMessageView | undefined;
  /** `GET /v1/chats/{id}` of a group: its metadata, once synced. */
  group?: GroupView | undefined;
  /** ISO 8601: when the record was last written. */
  updatedAt: string;
}

/** The newer of the stored newest message and the engine's last message of the chat. */
function lastMessageOf(chat: ChatDoc, stored: MessageDoc | undefined): LastMessageView | undefined {
  const synced = chat.lastMessage;
  if (stored && (!synced || stored.timestamp >= new Date(synced.timestamp))) {
    const { _id, author, fromMe, type, body, timestamp } = stored;
    return { id: _id, author, fromMe, type, body, timestamp: timestamp.toISOString() };
  }
  if (!synced) return undefined;
  return { ...synced, timestamp: new Date(synced.timestamp).toISOString() };
}

function toGroupView(g: GroupDoc): GroupView {
  return {
    subject: g.subject,
    ...(g.description ? { description: g.description } : {}),
    ...(g.owner ? { owner: g.owner } : {}),
    ...(g.createdAt ? { createdAt: new Date(g.createdAt).toISOString() } : {}),
    participants: g.participants.map(({ id, isAdmin, isSuperAdmin }) => ({ id, isAdmin, isSuperAdmin })),
  };
}

/** The view of a stored chat, its newest stored message and (for `get`) its group. */
export function toChatView(c: ChatDoc, newest: MessageDoc | undefined, group?: GroupDoc | null): ChatView {
  const last = lastMessageOf(c, newest);
  const lastAt = [c.lastMessageAt?.getTime(), last ? Date.parse(last.timestamp) : undefined].filter((v) => v !== undefined);
  return {
    id: c._id,
    ...(c.name ? { name: c.name } : {}),
    isGroup: Boolean(c.isGroup),
    unreadCount: c.unreadCount ?? 0,
    archived: Boolean(c.archived),
    pinned: Boolean(c.pinned),
    muted: Boolean(c.muted),
    ...(lastAt.length > 0 ? { lastMessageAt: new Date(Math.max(...lastAt)).toISOString() } : {}),
    ...(last ? { lastMessage: last } : {}),
    ...(group ? { group: toGroupView(group) } : {}),
    updatedAt: new Date(c.updatedAt).toISOString(),
  };
}

export class ChatsService {
  constructor(
    private readonly store: Store,
    private readonly engine: Engine,
  ) {}

  /**
   * Chats matching `filter`, newest first, each with the last message its record holds (kept by every stored message,
   * at most `CHAT_TOUCH_MS` behind, and by the sync). @throws AppError `invalid_cursor`.
   */
  async list(filter: ChatFilter): Promise<Page<ChatView>> {
    const page = await findChats(this.store, filter);
    return { items: page.items.map((c) => toChatView(c, undefined)), nextCursor: page.nextCursor };
  }

  /** One chat, with its group's metadata for a group. @throws AppError `chat_not_found`. */
  async get(id: string): Promise<ChatView> {
    const chat = await findChatById(this.store, id);
    if (!chat) throw new AppError('chat_not_found');
    const [newest, group] = await Promise.all([newestMessages(this.store, [id]), chat.isGroup ? findGroupById(this.store, id) : null]);
    return toChatView(chat, newest.get(id), group);
  }

  /**
   * Marks chat `id` read on WhatsApp (the senders see blue ticks) and stores its unread count as 0.
   * @throws AppError `chat_not_found` (not stored, or WhatsApp does not have it), `session_not_ready`, `engine_error`.
   */
  async markRead(id: string): Promise<ChatView> {
    if (!(await findChatById(this.store, id))) throw new AppError('chat_not_found');
    await callEngine(() => this.engine.markChatRead(id));
    await markChatReadStored(this.store, id);
    return this.get(id);
  }
}
