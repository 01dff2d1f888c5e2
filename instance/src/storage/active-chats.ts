/**
 * The chats the gap fill looks at after a (re)connect: those with a stored message lately, each with the time of its
 * newest stored message (where the gap, if any, begins).
 */
import type { Store } from './store.js';

/** A chat with stored messages and the time of its newest one. */
export interface ActiveChat {
  chatId: string;
  /** Time of the newest stored message of the chat. */
  lastTimestamp: Date;
}

/**
 * Up to `limit` chats with a message stored at or after `since`, the most recent first, each with its newest stored
 * message's time. The chat ids come from the messages themselves (a chat record may be missing after a crash); when
 * there are more than `limit`, the chat records' `lastMessageAt` picks the most recent. Then one indexed lookup per
 * chat (`chatId, timestamp`). No `$group`: FerretDB v1 does not implement its `$max`.
 * @throws the driver's error when the database is unreachable.
 */
export async function activeChats(store: Store, since: Date, limit: number): Promise<ActiveChat[]> {
  const ids = (await store.col.messages.distinct('chatId', { timestamp: { $gte: since } })) as string[];
  let chosen = ids;
  if (ids.length > limit) {
    const recent = await store.col.chats
      .find({ _id: { $in: ids } }, { projection: { _id: 1 } })
      .sort({ lastMessageAt: -1 })
      .limit(limit)
      .toArray();
    chosen = recent.map((c) => c._id);
    for (const id of ids) if (chosen.length < limit && !chosen.includes(id)) chosen.push(id);
  }
  const out: ActiveChat[] = [];
  for (const chatId of chosen) {
    const last = await store.col.messages.findOne({ chatId }, { sort: { timestamp: -1, _id: -1 }, projection: { timestamp: 1 } });
    if (last) out.push({ chatId, lastTimestamp: last.timestamp });
  }
  return out.sort((a, b) => b.lastTimestamp.getTime() - a.lastTimestamp.getTime());
}

/** Which of `ids` are stored messages. @throws the driver's error when the database is unreachable. */
export async function storedMessageIds(store: Store, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const docs = await store.col.messages.find({ _id: { $in: ids } }, { projection: { _id: 1 } }).toArray();
  return new Set(docs.map((d) => d._id));
}
