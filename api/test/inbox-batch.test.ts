/**
 * Issue #18 item 2: the inbox applies a batch's messages in bulk (`inbox/events-batch.ts`) with exactly the effects of
 * its handler applied to each event in turn — on a real MongoDB-wire server, two databases fed the same events (one
 * event at a time, one batch): the same conversations, activity rows and live events, in the same order; a redelivered
 * batch changes nothing; a batch that fails is applied whole when delivered again.
 */
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import type { InstanceEvent } from '../src/events/instance-events.js';
import { InboxEvents } from '../src/inbox/events.js';
import { openInboxStore, type InboxStore } from '../src/inbox/store.js';
import type { LiveEventInput, LiveLog } from '../src/live/live-log.js';
import { messageAnyEvent } from './inbox-events.js';

const INS = 'i-inboxbatch001';
const ORG = 'org_inboxbatch';
let mongo: MongoServer;
const conns: mongoose.Connection[] = [];

/** A live log remembering what it was given (with `appendMany` when `many`). */
function recordingLog(many: boolean): LiveLog & { got: LiveEventInput[] } {
  const got: LiveEventInput[] = [];
  const log: LiveLog & { got: LiveEventInput[] } = {
    got,
    append: (e) => Promise.resolve(got.push(e)),
  };
  if (many) log.appendMany = (es) => Promise.resolve(es.map((e) => got.push(e)));
  return log;
}

async function inboxDb(): Promise<InboxStore> {
  const c = await mongoose.createConnection(mongo.dbUri(uniqueDbName('inboxbatch'))).asPromise();
  conns.push(c);
  return openInboxStore(c.db!);
}

beforeAll(async () => {
  mongo = await startMongo();
}, 60_000);

afterAll(async () => {
  for (const c of conns) await c.close();
  await mongo?.stop();
});

const at = (s: number) => new Date(Date.UTC(2026, 11, 1, 12, 0, s));
const msg = (chat: string, fromMe: boolean, body: string, s: number, member?: { id: string; name: string }) =>
  messageAnyEvent(INS, ORG, chat, { fromMe, body, at: at(s), ...(member ? { member } : {}) }).event as InstanceEvent;
const ack = (m: InstanceEvent): InstanceEvent => ({
  id: `evt_${randomBytes(16).toString('hex')}`,
  instanceId: INS,
  orgId: ORG,
  type: 'message.ack',
  data: { id: (m.data as { id: string }).id, chatId: (m.data as { chatId: string }).chatId, ack: 3 },
  timestamp: Date.now(),
});

/** What a database holds: conversations and activity rows, sorted by id. */
async function state(s: InboxStore) {
  const conversations = await s.conversations.find({}).sort({ _id: 1 }).toArray();
  const activity = await s.activity.find({}).sort({ _id: 1 }).toArray();
  return { conversations, activity };
}

test('a batch applied in bulk equals its events applied one by one: conversations, activity rows, live events', async () => {
  const [one, bulk] = [await inboxDb(), await inboxDb()];
  const [logOne, logBulk] = [recordingLog(false), recordingLog(true)];
  const perEvent = new InboxEvents(one, logOne);
  const batched = new InboxEvents(bulk, logBulk);
  const A = '15550020001@c.us';
  const B = '15550020002@c.us';
  // Before the batch, in both: conversation A exists and was resolved (its next inbound message reopens it).
  const first = msg(A, false, 'hello', 1);
  for (const [s, h] of [
    [one, perEvent],
    [bulk, batched],
  ] as const) {
    await h.handler(first);
    await s.conversations.updateOne({ chatId: A }, { $set: { status: 'resolved', resolvedAt: at(2), resolvedBy: 'mem_1' } });
  }
  logOne.got.length = logBulk.got.length = 0;
  const sent = msg(A, true, 'an answer', 12, { id: 'mem_2', name: 'Agent' });
  const events = [
    msg(A, false, 'back again', 10), // reopens A, starts waiting
    msg(B, false, 'a new customer', 11), // creates B
    sent, // first response in A
    ack(sent), // not a message: applied on its own between the runs
    msg(B, false, 'more', 13),
    msg(A, false, 'an older one from history', 5), // not the last message
    msg('status@broadcast', false, 'a status', 14), // skipped
    msg(B, true, 'hi B', 15),
  ];
  for (const e of events) await perEvent.handler(e);
  expect(await batched.handler.batch!(events)).toBe(events.length);
  const [s1, s2] = [await state(one), await state(bulk)];
  expect(s2.conversations).toEqual(s1.conversations);
  expect(s2.activity).toEqual(s1.activity);
  expect(s2.activity.some((r) => r.kind === 'first_response')).toBe(true);
  expect(s2.activity.every((r) => !('pending' in r))).toBe(true);
  expect(s1.conversations.find((c) => c.chatId === A)).toMatchObject({
    status: 'open',
    inboundCount: 3,
    lastMessage: { body: 'an answer' },
  });
  expect(logBulk.got).toEqual(logOne.got);

  // Delivered again (the ingest lost its answer): nothing changes, nothing is announced.
  logBulk.got.length = 0;
  expect(await batched.handler.batch!(events)).toBe(events.length);
  expect(await state(bulk)).toEqual(s2);
  expect(logBulk.got.filter((e) => e.type !== 'message.ack')).toEqual([]);
});

test('a batch whose writes fail is applied whole when delivered again (its rows stay pending)', async () => {
  const s = await inboxDb();
  const log = recordingLog(true);
  let fail = true;
  log.appendMany = (es) => {
    if (fail) return Promise.reject(new Error('live log down'));
    return Promise.resolve(es.map((e) => log.got.push(e)));
  };
  const h = new InboxEvents(s, log);
  const C = '15550020003@c.us';
  const events = [msg(C, false, 'one', 1), msg(C, false, 'two', 2)];
  expect(await h.handler.batch!(events)).toBe(0);
  expect(await s.activity.countDocuments({ pending: true })).toBe(2);
  fail = false;
  expect(await h.handler.batch!(events)).toBe(2);
  expect(await s.activity.countDocuments({ pending: true })).toBe(0);
  expect(log.got.filter((e) => e.type === 'message.new')).toHaveLength(2);
  // The conversation was inserted by the failed try: the retry applied the messages to it again (the documented
  // at-least-once of a stop between writes).
  expect(await s.conversations.countDocuments({ chatId: C })).toBe(1);
});
