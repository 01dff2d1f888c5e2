/**
 * Messages in and out per UTC day over the last `days` days, and the chats active in that window: what the main
 * api's statistics (`GET /v1/stats`) ask every instance for through the internal API.
 *
 * Cheap on every backend, FerretDB v1 included (which scans a collection for most queries): one pass over the
 * messages — an aggregation with `$match` on the `timestamp` range (indexed on MongoDB), `$project` of the two grouped
 * fields, `$group` by (`day`, `fromMe`) with `$sum` (FerretDB v1 implements these; not `$addToSet` or `$max`) — and a
 * count of the chats by their `lastMessageAt` (the chats collection is small; indexed on MongoDB). A second pass over
 * the messages for the active chats (`distinct('chatId')`) doubled the time on FerretDB, so it is not made.
 */
import { dayWindow } from '@wacloud/kit';
import type { Store } from './store.js';

/** One UTC day's message counts. */
export interface DayCount {
  /** `YYYY-MM-DD`, UTC. */
  date: string;
  /** Messages received (`fromMe: false`). */
  in: number;
  /** Messages sent (`fromMe: true`, from the phone or through the API). */
  out: number;
}

/** The window's counts. */
export interface DailyStats {
  /** Start of the window: 00:00 UTC of its first day (ISO 8601). */
  from: string;
  /** End of the window (exclusive): 00:00 UTC of the day after `now` (ISO 8601). */
  to: string;
  /** Every day of the window, oldest first; days without messages count 0. */
  days: DayCount[];
  /**
   * Chats with a message in the window: those whose newest message is in it (their `lastMessageAt`, which lags the
   * newest stored message by at most a few seconds: `chat-touches.ts`).
   */
  chats: number;
}

/**
 * Messages in and out per UTC day for the `days` days ending today (UTC), and the chats active in them.
 * @param days 1 or more (the route bounds it).
 * @throws the driver's error when the database is unreachable.
 */
export async function dailyStats(store: Store, days: number, now = new Date()): Promise<DailyStats> {
  const { from, to, dates } = dayWindow(days, now);
  const [grouped, chats] = await Promise.all([
    store.col.messages
      .aggregate<{ _id: { day: string; fromMe: boolean }; n: number }>([
        { $match: { timestamp: { $gte: from, $lt: to } } },
        { $project: { _id: 0, day: 1, fromMe: 1 } },
        { $group: { _id: { day: '$day', fromMe: '$fromMe' }, n: { $sum: 1 } } },
      ])
      .toArray(),
    store.col.chats.countDocuments({ lastMessageAt: { $gte: from, $lt: to } }),
  ]);
  const byDay = new Map<string, DayCount>(dates.map((date) => [date, { date, in: 0, out: 0 }]));
  for (const g of grouped) {
    const row = byDay.get(g._id.day);
    if (row) row[g._id.fromMe ? 'out' : 'in'] += g.n;
  }
  return { from: from.toISOString(), to: to.toISOString(), days: [...byDay.values()], chats };
}
