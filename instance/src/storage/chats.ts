/**
 * Read queries of the chats API: chats filtered and cursor-paginated newest first by (lastMessageAt, id) — chats
 * without a message come last, by id — one chat, its group record, and the newest stored message of chats.
 */
import { AppError } from '../errors.js';
import { escapeRegex, type Page } from './queries.js';
import type { ChatDoc, MessageDoc, Store } from './store.js';
import { groupsCollection, type GroupDoc } from './sync.js';

export interface ChatFilter {
  /** Text in the chat's name or id (case-insensitive). */
  q?: string | undefined;
  isGroup?: boolean | undefined;
  /** true: unread messages only; false: none unread. */
  unread?: boolean | undefined;
  archived?: boolean | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** Cursor: [lastMessageAt epoch ms, or null for a chat without one, id]. */
function encodeCursor(at: number | null, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

function decodeCursor(c: string): [number | null, string] {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && (v[0] === null || typeof v[0] === 'number') && typeof v[1] === 'string') {
      return v as [number | null, string];
    }
  } catch {
    /* fall through */
  }
  throw new AppError('invalid_cursor');
}

/** Chats matching `f`, newest first. @throws AppError invalid_cursor */
export async function findChats(store: Store, f: ChatFilter): Promise<Page<ChatDoc>> {
  const limit = f.limit ?? 50;
  const and: Record<string, unknown>[] = [];
  if (f.isGroup !== undefined) and.push({ isGroup: f.isGroup });
  if (f.unread !== undefined) and.push(f.unread ? { unreadCount: { $gt: 0 } } : { unreadCount: { $not: { $gt: 0 } } });
  if (f.archived !== undefined) and.push(f.archived ? { archived: true } : { archived: { $ne: true } });
  if (f.q) {
    const re = { $regex: escapeRegex(f.q), $options: 'i' };
    and.push({ $or: [{ name: re }, { _id: re }] });
  }
  if (f.cursor) {
    const [at, id] = decodeCursor(f.cursor);
    if (at === null) and.push({ lastMessageAt: null, _id: { $lt: id } });
    else {
      const t = new Date(at);
      and.push({ $or: [{ lastMessageAt: { $lt: t } }, { lastMessageAt: t, _id: { $lt: id } }, { lastMessageAt: null }] });
    }
  }
  const filter = and.length === 0 ? {} : and.length === 1 ? and[0]! : { $and: and };
  const docs: ChatDoc[] = await store.col.chats
    .find(filter)
    .sort({ lastMessageAt: -1, _id: -1 })
    .limit(limit + 1)
    .toArray();
  const more = docs.length > limit;
  const items = more ? docs.slice(0, limit) : docs;
  const last = items[items.length - 1];
  return { items, nextCursor: more && last ? encodeCursor(last.lastMessageAt ? last.lastMessageAt.getTime() : null, last._id) : null };
}

/** The chat with id `id`, or null. */
export function findChatById(store: Store, id: string): Promise<ChatDoc | null> {
  return store.col.chats.findOne({ _id: id });
}

/** The stored group with id `id`, or null. */
export function findGroupById(store: Store, id: string): Promise<GroupDoc | null> {
  return groupsCollection(store).findOne({ _id: id });
}

/** The newest stored message of each chat in `chatIds` (one indexed query per chat). */
export async function newestMessages(store: Store, chatIds: string[]): Promise<Map<string, MessageDoc>> {
  const found = await Promise.all(
    chatIds.map((chatId) => store.col.messages.find({ chatId }).sort({ timestamp: -1, _id: -1 }).limit(1).next()),
  );
  const out = new Map<string, MessageDoc>();
  for (const m of found) if (m) out.set(m.chatId, m);
  return out;
}
