/**
 * Read queries of the public API over the instance's database: filtered, cursor-paginated lists of messages
 * (newest first by (timestamp, id)) and contacts (by id). Every filter is served by an index (see store.ts).
 */
import { AppError } from '../errors.js';
import type { ContactDoc, MessageDoc, Store } from './store.js';

export interface MessageFilter {
  since?: Date | undefined;
  until?: Date | undefined;
  q?: string | undefined;
  chatId?: string | undefined;
  author?: string | undefined;
  fromMe?: boolean | undefined;
  isGroup?: boolean | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** Escapes a user string for use inside a regular expression (literal match). */
export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function encodeCursor(parts: Array<string | number>): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

function decodeCursor(c: string, shape: Array<'string' | 'number'>): Array<string | number> {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === shape.length && v.every((x, i) => typeof x === shape[i])) return v as Array<string | number>;
  } catch {
    /* fall through */
  }
  throw new AppError('invalid_cursor');
}

/** The message with serialized id `id`, or null. */
export function findMessageById(store: Store, id: string): Promise<MessageDoc | null> {
  return store.col.messages.findOne({ _id: id });
}

/** The contact (user or group) with id `id`, or null. */
export function findContactById(store: Store, id: string): Promise<ContactDoc | null> {
  return store.col.contacts.findOne({ _id: id });
}

/**
 * The MongoDB filter of `f` (without `limit`), sorted by {@link MESSAGE_ORDER}. Every condition is one FerretDB on
 * PostgreSQL pushes down (docs/embedded-database.md): equalities, date ranges, a case-insensitive literal regex, and a
 * cursor as `timestamp ≤ t AND (timestamp < t OR _id < id)` — equivalent to `(timestamp, _id) < (t, id)`, with a
 * range that bounds the index scan. @throws AppError invalid_cursor
 */
export function messageFilter(f: MessageFilter): Record<string, unknown> {
  const and: Record<string, unknown>[] = [];
  if (f.chatId) and.push({ chatId: f.chatId });
  if (f.author) and.push({ author: f.author });
  if (f.fromMe !== undefined) and.push({ fromMe: f.fromMe });
  if (f.isGroup !== undefined) and.push({ isGroup: f.isGroup });
  if (f.since || f.until) and.push({ timestamp: { ...(f.since ? { $gte: f.since } : {}), ...(f.until ? { $lt: f.until } : {}) } });
  if (f.q) and.push({ body: { $regex: escapeRegex(f.q), $options: 'i' } });
  if (f.cursor) {
    const [ts, id] = decodeCursor(f.cursor, ['number', 'string']) as [number, string];
    const t = new Date(ts);
    and.push({ timestamp: { $lte: t } }, { $or: [{ timestamp: { $lt: t } }, { _id: { $lt: id } }] });
  }
  return and.length === 0 ? {} : and.length === 1 ? and[0]! : { $and: and };
}

/** The order of message lists: newest first, by (timestamp, _id) (an index of store.ts ends in it for every filter). */
export const MESSAGE_ORDER = { timestamp: -1, _id: -1 } as const;

/** Messages matching `f`, newest first. @throws AppError invalid_cursor */
export async function findMessages(store: Store, f: MessageFilter): Promise<Page<MessageDoc>> {
  const limit = f.limit ?? 50;
  const docs: MessageDoc[] = await store.col.messages
    .find(messageFilter(f))
    .sort(MESSAGE_ORDER)
    .limit(limit + 1)
    .toArray();
  const more = docs.length > limit;
  const items = more ? docs.slice(0, limit) : docs;
  const last = items[items.length - 1];
  return { items, nextCursor: more && last ? encodeCursor([last.timestamp.getTime(), last._id]) : null };
}

export interface ContactFilter {
  q?: string | undefined;
  isGroup?: boolean | undefined;
  isMyContact?: boolean | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** Contacts (users and groups) matching `f`, by id. @throws AppError invalid_cursor */
export async function findContacts(store: Store, f: ContactFilter): Promise<Page<ContactDoc>> {
  const limit = f.limit ?? 50;
  const and: Record<string, unknown>[] = [];
  if (f.isGroup !== undefined) and.push({ isGroup: f.isGroup });
  if (f.isMyContact !== undefined) and.push(f.isMyContact ? { isMyContact: true } : { isMyContact: { $ne: true } });
  if (f.q) {
    const re = { $regex: escapeRegex(f.q), $options: 'i' };
    and.push({ $or: [{ name: re }, { pushname: re }, { number: re }] });
  }
  if (f.cursor) {
    const [id] = decodeCursor(f.cursor, ['string']) as [string];
    and.push({ _id: { $gt: id } });
  }
  const filter = and.length === 0 ? {} : and.length === 1 ? and[0]! : { $and: and };
  const docs: ContactDoc[] = await store.col.contacts
    .find(filter)
    .sort({ _id: 1 })
    .limit(limit + 1)
    .toArray();
  const more = docs.length > limit;
  const items = more ? docs.slice(0, limit) : docs;
  const last = items[items.length - 1];
  return { items, nextCursor: more && last ? encodeCursor([last._id]) : null };
}

/** 30 UTC days of message counts (oldest first) and totals. */
export async function messageStats(
  store: Store,
  now = new Date(),
): Promise<{
  daily: Array<{ day: string; in: number; out: number }>;
  totals: { messagesIn: number; messagesOut: number; chats: number; contacts: number };
}> {
  const days: string[] = [];
  for (let i = 29; i >= 0; i--) days.push(new Date(now.getTime() - i * 86_400_000).toISOString().slice(0, 10));
  const grouped = (await store.col.messages
    .aggregate([{ $match: { day: { $gte: days[0] } } }, { $group: { _id: { day: '$day', fromMe: '$fromMe' }, n: { $sum: 1 } } }])
    .toArray()) as Array<{ _id: { day: string; fromMe: boolean }; n: number }>;
  const byDay = new Map(days.map((d) => [d, { day: d, in: 0, out: 0 }]));
  for (const g of grouped) {
    const row = byDay.get(g._id.day);
    if (row) row[g._id.fromMe ? 'out' : 'in'] += g.n;
  }
  const [messagesIn, messagesOut, chats, contacts] = await Promise.all([
    store.col.messages.countDocuments({ fromMe: false }),
    store.col.messages.countDocuments({ fromMe: true }),
    store.col.chats.countDocuments({}),
    store.col.contacts.countDocuments({}),
  ]);
  return { daily: [...byDay.values()], totals: { messagesIn, messagesOut, chats, contacts } };
}
