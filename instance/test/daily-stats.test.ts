/**
 * The daily message counts of the api's statistics (`storage/daily-stats.ts`) against a real MongoDB-wire server:
 * exact counts per UTC day and direction, the window's bounds (a message just before it and one after today are
 * left out), the chats whose newest message is in it; and its cost at 10 000 messages (printed, not asserted).
 */
import { startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import type { EngineMessage } from '../src/engines/engine.js';
import { dayWindow } from '@wacloud/kit';
import { dailyStats } from '../src/storage/daily-stats.js';
import { toMessageDoc } from '../src/storage/messages.js';
import { openStore, type MessageDoc, type Store } from '../src/storage/store.js';

const NOW = new Date('2026-11-30T15:00:00Z');
const DAY = 86_400_000;

function message(n: number, at: Date, fromMe: boolean, chat: string): EngineMessage {
  return {
    id: `${fromMe}_${chat}_${String(n).padStart(8, '0')}`,
    chatId: chat,
    author: fromMe ? '15550009999@c.us' : chat,
    fromMe,
    isGroup: false,
    type: 'chat',
    body: `m ${n}`,
    timestamp: at.getTime(),
    ack: 1,
  };
}

/** Writes each chat's record with its newest message's time, as the persister's chat touches do. */
async function writeChats(store: Store, docs: MessageDoc[]): Promise<void> {
  const newest = new Map<string, Date>();
  for (const d of docs) if (!newest.has(d.chatId) || d.timestamp > newest.get(d.chatId)!) newest.set(d.chatId, d.timestamp);
  await store.col.chats.deleteMany({});
  await store.col.chats.insertMany(
    [...newest].map(([_id, lastMessageAt]) => ({ _id, isGroup: false, unreadCount: 0, lastMessageAt, updatedAt: new Date() })),
  );
}

describe('daily message counts', () => {
  let mongo: MongoServer;
  let store: Store;

  beforeAll(async () => {
    mongo = await startMongo();
    store = await openStore(mongo.dbUri(uniqueDbName('dailystats')));
    await store.init();
  });
  afterAll(async () => {
    await store?.close();
    await mongo?.stop();
  });

  test('the window: days ending today (UTC), oldest first', () => {
    const w = dayWindow(3, NOW);
    expect(w.dates).toEqual(['2026-11-28', '2026-11-29', '2026-11-30']);
    expect(w.from.toISOString()).toBe('2026-11-28T00:00:00.000Z');
    expect(w.to.toISOString()).toBe('2026-12-01T00:00:00.000Z');
  });

  test('counts in and out per UTC day, chats active in the window, nothing outside it', async () => {
    const a = '15550000001@c.us';
    const b = '15550000002@c.us';
    const c = '15550000003@c.us';
    const docs = [
      // today: 2 in (a, b), 1 out (a)
      message(1, new Date('2026-11-30T00:00:00Z'), false, a),
      message(2, new Date('2026-11-30T14:59:59Z'), false, b),
      message(3, new Date('2026-11-30T10:00:00Z'), true, a),
      // yesterday's last millisecond: 1 out (b)
      message(4, new Date('2026-11-29T23:59:59.999Z'), true, b),
      // the first day of a 30-day window: 1 in (a)
      message(5, new Date('2026-11-01T00:00:00Z'), false, a),
      // just before the window, and after today: never counted (chat c only there; its newest message is after it)
      message(6, new Date('2026-10-31T23:59:59.999Z'), false, c),
      message(7, new Date('2026-12-01T00:00:00Z'), true, c),
    ].map((m) => toMessageDoc(m));
    await store.col.messages.insertMany(docs);
    await writeChats(store, docs);

    const r = await dailyStats(store, 30, NOW);
    expect(r.from).toBe('2026-11-01T00:00:00.000Z');
    expect(r.to).toBe('2026-12-01T00:00:00.000Z');
    expect(r.days).toHaveLength(30);
    expect(r.days[0]).toEqual({ date: '2026-11-01', in: 1, out: 0 });
    expect(r.days[28]).toEqual({ date: '2026-11-29', in: 0, out: 1 });
    expect(r.days[29]).toEqual({ date: '2026-11-30', in: 2, out: 1 });
    expect(r.days.slice(1, 28).every((d) => d.in === 0 && d.out === 0)).toBe(true);
    expect(r.chats).toBe(2);

    const one = await dailyStats(store, 1, NOW);
    expect(one.days).toEqual([{ date: '2026-11-30', in: 2, out: 1 }]);
    expect(one.chats).toBe(2);
  });

  test('10 000 messages over 40 days: exact totals; the time is printed', async () => {
    await store.col.messages.deleteMany({});
    const docs = [];
    for (let i = 0; i < 10_000; i++) {
      const at = new Date(NOW.getTime() - (i % 40) * DAY - (i % 3600) * 1000);
      docs.push(toMessageDoc(message(i, at, i % 4 === 0, `1555${String(i % 200).padStart(7, '0')}@c.us`)));
    }
    for (let i = 0; i < docs.length; i += 1000) await store.col.messages.insertMany(docs.slice(i, i + 1000));
    await writeChats(store, docs);
    const from = dayWindow(30, NOW).from.getTime();
    const inWindow = docs.filter((d) => d.timestamp.getTime() >= from);
    const newest = new Map<string, number>();
    for (const d of docs) newest.set(d.chatId, Math.max(newest.get(d.chatId) ?? 0, d.timestamp.getTime()));
    const started = performance.now();
    const r = await dailyStats(store, 30, NOW);
    const ms = performance.now() - started;
    console.log(`daily-stats: 30 days over 10000 messages (${inWindow.length} in the window) in ${ms.toFixed(0)} ms`);
    expect(r.days.reduce((n, d) => n + d.in, 0)).toBe(inWindow.filter((d) => !d.fromMe).length);
    expect(r.days.reduce((n, d) => n + d.out, 0)).toBe(inWindow.filter((d) => d.fromMe).length);
    expect(r.chats).toBe([...newest.values()].filter((t) => t >= from).length);
    expect(r.chats).toBe(150); // chats on days 0–29 of 40
  }, 120_000);
});
