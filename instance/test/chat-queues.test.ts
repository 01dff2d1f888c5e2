/** The send queue's per-chat FIFOs (services/outgoing/chat-queues.ts), on given records (no database, no waiting). */
import { ChatQueues, type Queued } from '../src/services/outgoing/chat-queues.js';

const rec = (id: string, chatId: string, createdAt: number): Queued => ({ id, chatId, createdAt });
const heads = (q: ChatQueues<Queued>) => [...q.heads()].map((h) => h.id).sort();

test('one head per chat, however many records a chat has queued', () => {
  const q = new ChatQueues<Queued>();
  for (let i = 0; i < 20_000; i++) q.add(rec(`a${i}`, 'a@c.us', i));
  q.add(rec('b0', 'b@c.us', 5));
  expect(q.size).toBe(20_001);
  expect(heads(q)).toEqual(['a0', 'b0']);
});

test('a chat sends in creation order; a record put back goes to its place, after those created at the same time', () => {
  const q = new ChatQueues<Queued>();
  q.add(rec('m1', 'a@c.us', 10));
  q.add(rec('m2', 'a@c.us', 20));
  q.add(rec('m3', 'a@c.us', 20));
  expect(q.remove('a@c.us', 'm1')).toBe(true);
  expect(heads(q)).toEqual(['m2']);
  // m1's send failed: it is queued again and is the chat's first record again.
  q.add(rec('m1', 'a@c.us', 10));
  expect(heads(q)).toEqual(['m1']);
  q.remove('a@c.us', 'm1');
  q.remove('a@c.us', 'm2');
  q.add(rec('m2', 'a@c.us', 20)); // created with m3: after it
  expect(heads(q)).toEqual(['m3']);
});

test('removing: the chat goes once empty; an unknown record or chat is refused', () => {
  const q = new ChatQueues<Queued>();
  q.add(rec('m1', 'a@c.us', 1));
  expect(q.remove('a@c.us', 'nope')).toBe(false);
  expect(q.remove('b@c.us', 'm1')).toBe(false);
  expect(q.remove('a@c.us', 'm1')).toBe(true);
  expect(q.size).toBe(0);
  expect([...q.heads()]).toEqual([]);
  expect(q.remove('a@c.us', 'm1')).toBe(false);
});
