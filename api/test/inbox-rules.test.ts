/**
 * Issue #15 items 3 (conversations), acceptance 2 and 3, against real servers (the api process, MongoDB-wire, an
 * instance process on simnet): conversations created on the first message either way, status rules (reopen, snooze
 * and its wake-up), first-response time and the `inbox_activity` rows, per-member read markers, notes, visibility,
 * the rights of agents on every conversation route, audit entries, and bad input with stable codes.
 *
 * Conversations come from instance events: the test process runs the inbox's event handler on the api's database with
 * events shaped like the instance's webhook payloads (`message.any`: the instance's message view), as the ingest
 * hands them over (`InstanceEventBus`).
 */
import mongoose from 'mongoose';
import { eventually, startMongo, type MongoServer } from '@wacloud/testenv';
import { startSimnet, type RunningSimnet } from '../../instance/test/harness.js';
import { InboxEvents } from '../src/inbox/events.js';
import { openInboxStore, type InboxStore } from '../src/inbox/store.js';
import type { LiveEventInput, LiveLog } from '../src/live/live-log.js';
import { startApiProcess, tenant, type RunningApi } from './harness.js';
import { messageAnyEvent } from './inbox-events.js';

const PASSWORD = 'correct horse battery';
let mongo: MongoServer;
let simnet: RunningSimnet;
let api: RunningApi;
let db: mongoose.Connection;
let inbox: InboxStore;
let events: InboxEvents;
let owner: string;
let orgId: string;
let a: string; // instance A
let b: string; // instance B
const live: LiveEventInput[] = [];

/** The live log of the handler run here: remembers what it was given (the api's own comes with the ingest). */
class RecordingLiveLog implements LiveLog {
  append(e: LiveEventInput): Promise<number> {
    live.push(e);
    return Promise.resolve(live.length);
  }
}

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  api = await startApiProcess({ mongo, simnetUrl: simnet.url, env: { BILLING_CRON: 'false', INBOX_WAKE_INTERVAL_MS: '300' } });
  db = await mongoose.createConnection(api.env.MONGODB_URI!).asPromise();
  inbox = await openInboxStore(db.db!);
  events = new InboxEvents(inbox, new RecordingLiveLog());
  owner = await tenant(api, 'inbox-owner@example.com', 10_000);
  orgId = (await api.call('GET', '/v1/me', { token: owner })).body.organisationId;
  const create = async (name: string) => {
    const r = await api.call('POST', '/v1/instances', { token: owner, body: { name } });
    expect(r.status).toBe(201);
    return r.body.id as string;
  };
  [a, b] = await Promise.all([create('A'), create('B')]);
}, 120_000);

afterAll(async () => {
  for (const id of [a, b]) if (id) await api?.call('DELETE', `/v1/instances/${id}`, { token: owner }).catch(() => {});
  await db?.close();
  await api?.stop();
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

const code = (r: { body: any }) => r.body?.error?.code as string | undefined;

async function member(email: string, role: string): Promise<{ token: string; id: string }> {
  const inv = await api.call('POST', '/v1/invitations', { token: owner, body: { email, role } });
  expect(inv.status).toBe(201);
  const acc = await api.call('POST', '/v1/invitations/accept', { body: { token: inv.body.token, password: PASSWORD } });
  expect(acc.status).toBe(200);
  const me = await api.call('GET', '/v1/me', { token: acc.body.accessToken });
  return { token: acc.body.accessToken, id: me.body.memberId };
}

const rights = (memberId: string, instanceId: string, r: Partial<Record<'canRead' | 'canWrite' | 'canManageChats', boolean>>) =>
  api.call('PUT', `/v1/members/${memberId}/rights/${instanceId}`, {
    token: owner,
    body: { canRead: false, canWrite: false, canManageChats: false, ...r },
  });

let seq = 0;
/**
 * Hands the handler a `message.any` event of instance `instanceId`, shaped like the instance's message view; returns
 * the message.
 */
async function message(
  instanceId: string,
  chatId: string,
  o: { fromMe: boolean; body?: string; at?: Date; member?: { id: string; name: string } },
) {
  const { data, event } = messageAnyEvent(instanceId, orgId, chatId, { ...o, body: o.body ?? `message ${++seq}` });
  await events.handler(event);
  return { data, event };
}

/** The conversation of (instance, chat) as the owner sees it. */
async function conversationOf(instanceId: string, chatId: string): Promise<any> {
  const doc = await inbox.conversations.findOne({ instanceId, chatId });
  expect(doc).not.toBeNull();
  const r = await api.call('GET', `/v1/conversations/${doc!._id}`, { token: owner });
  expect(r.status).toBe(200);
  return r.body;
}

test('a conversation per chat, created on the first message either way; waiting, first response, reopening and the activity rows', async () => {
  // Created by an outbound message (we wrote first): not waiting.
  const first = await message(a, '15550001001@c.us', { fromMe: true, body: 'hello from us' });
  let c = await conversationOf(a, '15550001001@c.us');
  expect(c).toMatchObject({ status: 'open', assigneeId: null, assignee: null, visibility: 'public', inboundCount: 0, waitingSince: null });
  expect(c.id).toMatch(/^cnv_[0-9a-f]{24}$/);
  expect(c.lastMessage).toMatchObject({ id: first.data.id, body: 'hello from us', fromMe: true });
  expect(live.find((e) => e.type === 'conversation.created' && (e.data as { id: string }).id === c.id)?.audience).toEqual({
    orgId,
    instanceId: a,
  });

  // Created by an inbound message; the customer waits from its first unanswered message.
  const t0 = new Date(Date.now() - 60_000);
  const in1 = await message(a, '15550001002@c.us', { fromMe: false, at: t0 });
  await message(a, '15550001002@c.us', { fromMe: false, at: new Date(t0.getTime() + 10_000) });
  c = await conversationOf(a, '15550001002@c.us');
  expect(c).toMatchObject({ inboundCount: 2, waitingSince: t0.toISOString(), firstResponseAt: null, unread: 2 });
  expect(await inbox.conversations.countDocuments({ instanceId: a, chatId: '15550001002@c.us' })).toBe(1);

  // A redelivered event changes nothing.
  await events.handler(in1.event);
  expect((await conversationOf(a, '15550001002@c.us')).inboundCount).toBe(2);

  // The answer ends the wait and records the first-response time (and who answered).
  const answeredAt = new Date(t0.getTime() + 45_000);
  await message(a, '15550001002@c.us', { fromMe: true, at: answeredAt, member: { id: 'm_answerer', name: 'x@example.com' } });
  c = await conversationOf(a, '15550001002@c.us');
  expect(c).toMatchObject({ waitingSince: null, firstResponseAt: answeredAt.toISOString() });
  // The answer's two rows share its time: ordered by kind after time.
  const rows = await inbox.activity.find({ conversationId: c.id }).sort({ at: 1, kind: 1 }).toArray();
  expect(rows.map((r) => [r.kind, r.memberId])).toEqual([
    ['inbound', null],
    ['inbound', null],
    ['first_response', 'm_answerer'],
    ['outbound', 'm_answerer'],
  ]);
  expect(rows.find((r) => r.kind === 'first_response')).toMatchObject({ ms: 45_000, orgId, instanceId: a });
  // A second answer is not a first response.
  await message(a, '15550001002@c.us', { fromMe: true, at: new Date(answeredAt.getTime() + 1000) });
  expect(await inbox.activity.countDocuments({ conversationId: c.id, kind: 'first_response' })).toBe(1);

  // Resolved: recorded with who resolved it; the customer's next message reopens it and waits for a new first response.
  const resolved = await api.call('POST', `/v1/conversations/${c.id}/status`, { token: owner, body: { status: 'resolved' } });
  expect(resolved.status).toBe(200);
  const me = (await api.call('GET', '/v1/me', { token: owner })).body.memberId;
  expect(resolved.body).toMatchObject({ status: 'resolved', resolvedBy: me });
  expect(await inbox.activity.findOne({ conversationId: c.id, kind: 'resolved' })).toMatchObject({ memberId: me });
  await message(a, '15550001002@c.us', { fromMe: false });
  c = await conversationOf(a, '15550001002@c.us');
  expect(c).toMatchObject({ status: 'open', resolvedAt: null, resolvedBy: null, firstResponseAt: null, inboundCount: 3 });
  expect(c.waitingSince).not.toBeNull();
}, 60_000);

test('a message whose handling stopped after its activity row was stored is applied when it is delivered again', async () => {
  const chatId = '15550001077@c.us';
  const { data, event } = messageAnyEvent(a, orgId, chatId, { fromMe: false, body: 'lost?' });
  const id = data.id;
  // The state an api stopped at between the row's insert and the conversation's write.
  await inbox.activity.insertOne({
    _id: `inbound:${a}:${id}`,
    orgId,
    instanceId: a,
    conversationId: 'cnv_000000000000000000000000',
    kind: 'inbound',
    memberId: null,
    at: new Date(),
    pending: true,
  });
  expect(await inbox.conversations.findOne({ instanceId: a, chatId })).toBeNull();
  await events.handler(event);
  const c = await conversationOf(a, chatId);
  expect(c).toMatchObject({ inboundCount: 1, lastMessage: { id, body: 'lost?' } });
  expect((await inbox.activity.findOne({ _id: `inbound:${a}:${id}` }))?.pending).toBeUndefined();
  // Once applied, a further redelivery changes nothing.
  await events.handler(event);
  expect((await conversationOf(a, chatId)).inboundCount).toBe(1);
}, 60_000);

test('status: the set is open / pending / resolved / snoozed; a snooze wakes when its time passes or on the next inbound message', async () => {
  await message(a, '15550002001@c.us', { fromMe: false });
  await message(a, '15550002002@c.us', { fromMe: false });
  const c1 = await conversationOf(a, '15550002001@c.us');
  const c2 = await conversationOf(a, '15550002002@c.us');
  const set = (id: string, body: unknown) => api.call('POST', `/v1/conversations/${id}/status`, { token: owner, body });

  const pending = await set(c1.id, { status: 'pending' });
  expect(pending.body.status).toBe('pending');
  // Outside the set, or a snooze without a future time: coded 4xx, nothing changed.
  const bad = await set(c1.id, { status: 'finished' });
  expect([bad.status, code(bad)]).toEqual([400, 'invalid_request']);
  for (const body of [
    { status: 'snoozed' },
    { status: 'snoozed', snoozedUntil: new Date(Date.now() - 1000).toISOString() },
    { status: 'open', snoozedUntil: new Date(Date.now() + 60_000).toISOString() },
  ]) {
    const r = await set(c1.id, body);
    expect([r.status, code(r)]).toEqual([422, 'invalid_snooze']);
  }
  expect((await conversationOf(a, '15550002001@c.us')).status).toBe('pending');

  // Woken by the api's sweep once the time has passed.
  const until = new Date(Date.now() + 1500).toISOString();
  const snoozed = await set(c1.id, { status: 'snoozed', snoozedUntil: until });
  expect(snoozed.body).toMatchObject({ status: 'snoozed', snoozedUntil: until });
  expect((await conversationOf(a, '15550002001@c.us')).status).toBe('snoozed');
  await eventually(async () => (await conversationOf(a, '15550002001@c.us')).status === 'open', 20_000);
  expect((await conversationOf(a, '15550002001@c.us')).snoozedUntil).toBeNull();

  // Woken by the customer's next message, long before its time.
  await set(c2.id, { status: 'snoozed', snoozedUntil: new Date(Date.now() + 3_600_000).toISOString() });
  await message(a, '15550002002@c.us', { fromMe: false });
  expect(await conversationOf(a, '15550002002@c.us')).toMatchObject({ status: 'open', snoozedUntil: null });

  // Status changes are audited.
  const audit = await api.call('GET', '/v1/audit', { token: owner });
  expect(audit.body.items.find((e: any) => e.action === 'conversation.status_changed' && e.target.id === c1.id)).toMatchObject({
    target: { type: 'conversation', id: c1.id },
    details: { instanceId: a, from: 'pending', to: 'snoozed', snoozedUntil: until },
  });
}, 60_000);

test('rights: without canRead the conversation does not exist (404), without canWrite sending is 403, without canManageChats assignment / status / visibility are 403', async () => {
  await message(a, '15550003001@c.us', { fromMe: false });
  await message(b, '15550003002@c.us', { fromMe: false });
  const ca = await conversationOf(a, '15550003001@c.us');
  const cb = await conversationOf(b, '15550003002@c.us');
  const agent = await member('rights-agent@example.com', 'agent');
  const t = agent.token;
  const routes = (id: string) =>
    [
      ['GET', `/v1/conversations/${id}`],
      ['GET', `/v1/conversations/${id}/messages`],
      ['POST', `/v1/conversations/${id}/messages`, { text: 'hi' }],
      ['POST', `/v1/conversations/${id}/assign`, { assigneeId: null }],
      ['POST', `/v1/conversations/${id}/status`, { status: 'pending' }],
      ['PATCH', `/v1/conversations/${id}`, { visibility: 'private' }],
      ['POST', `/v1/conversations/${id}/notes`, { body: 'note' }],
      ['GET', `/v1/conversations/${id}/notes`],
      ['POST', `/v1/conversations/${id}/read`],
    ] as const;

  // No rights at all: nothing exists, the list is empty, an instance filter is 404 too.
  for (const [method, p, body] of routes(ca.id)) {
    const r = await api.call(method, p, { token: t, body });
    expect([p, method, r.status, code(r)]).toEqual([p, method, 404, 'conversation_not_found']);
  }
  expect((await api.call('GET', '/v1/conversations', { token: t })).body.items).toEqual([]);
  const filtered = await api.call('GET', `/v1/conversations?instanceId=${a}`, { token: t });
  expect([filtered.status, code(filtered)]).toEqual([404, 'instance_not_found']);

  // canRead on A: A's conversations exist (B's still do not); changes are refused.
  expect((await rights(agent.id, a, { canRead: true })).status).toBe(200);
  const list = await api.call('GET', '/v1/conversations', { token: t });
  expect(list.body.items.map((c: { instanceId: string }) => c.instanceId)).toContain(a);
  expect(list.body.items.map((c: { instanceId: string }) => c.instanceId)).not.toContain(b);
  expect(code(await api.call('GET', `/v1/conversations/${cb.id}`, { token: t }))).toBe('conversation_not_found');
  expect((await api.call('GET', `/v1/conversations/${ca.id}`, { token: t })).status).toBe(200);
  expect((await api.call('POST', `/v1/conversations/${ca.id}/notes`, { token: t, body: { body: 'a note' } })).status).toBe(201);
  expect((await api.call('POST', `/v1/conversations/${ca.id}/read`, { token: t })).status).toBe(200);
  const send = await api.call('POST', `/v1/conversations/${ca.id}/messages`, { token: t, body: { text: 'hi' } });
  expect([send.status, code(send), send.body.error?.details]).toEqual([403, 'right_required', { right: 'canWrite' }]);
  for (const [method, p, body] of routes(ca.id).slice(3, 6)) {
    const r = await api.call(method, p, { token: t, body });
    expect([p, r.status, code(r), r.body.error?.details]).toEqual([p, 403, 'right_required', { right: 'canManageChats' }]);
  }

  // canManageChats: assignment, status and visibility work (canWrite alone would not).
  await rights(agent.id, a, { canRead: true, canWrite: true });
  expect(code(await api.call('POST', `/v1/conversations/${ca.id}/status`, { token: t, body: { status: 'pending' } }))).toBe(
    'right_required',
  );
  await rights(agent.id, a, { canRead: true, canManageChats: true });
  expect((await api.call('POST', `/v1/conversations/${ca.id}/assign`, { token: t, body: { assigneeId: agent.id } })).status).toBe(200);
  expect((await api.call('POST', `/v1/conversations/${ca.id}/status`, { token: t, body: { status: 'pending' } })).status).toBe(200);
  expect((await api.call('PATCH', `/v1/conversations/${ca.id}`, { token: t, body: { visibility: 'private' } })).status).toBe(200);
  // Another organisation never sees it.
  const stranger = await tenant(api, 'inbox-stranger@example.com');
  expect(code(await api.call('GET', `/v1/conversations/${ca.id}`, { token: stranger }))).toBe('conversation_not_found');
  expect((await api.call('GET', '/v1/conversations', { token: stranger })).body.items).toEqual([]);
}, 90_000);

test('visibility: a private conversation exists only for its assignee, owners and admins; assignment and transfer are audited', async () => {
  await message(a, '15550004001@c.us', { fromMe: false });
  const c = await conversationOf(a, '15550004001@c.us');
  const alice = await member('vis-alice@example.com', 'agent');
  const bob = await member('vis-bob@example.com', 'agent');
  const admin = await member('vis-admin@example.com', 'admin');
  await rights(alice.id, a, { canRead: true });
  await rights(bob.id, a, { canRead: true });
  const sees = async (token: string) => {
    const one = (await api.call('GET', `/v1/conversations/${c.id}`, { token })).status === 200;
    const listed = (await api.call('GET', `/v1/conversations?instanceId=${a}`, { token })).body.items.some(
      (x: { id: string }) => x.id === c.id,
    );
    expect(listed).toBe(one);
    return one;
  };
  expect([await sees(alice.token), await sees(bob.token)]).toEqual([true, true]); // public: the team

  const assign = (assigneeId: string | null) =>
    api.call('POST', `/v1/conversations/${c.id}/assign`, { token: owner, body: { assigneeId } });
  const assigned = await assign(alice.id);
  expect(assigned.body).toMatchObject({ assigneeId: alice.id, assignee: { id: alice.id, name: 'vis-alice@example.com' } });
  const priv = await api.call('PATCH', `/v1/conversations/${c.id}`, { token: owner, body: { visibility: 'private' } });
  expect(priv.body.visibility).toBe('private');
  expect([await sees(alice.token), await sees(bob.token), await sees(admin.token), await sees(owner)]).toEqual([true, false, true, true]);
  // Bob cannot act on it either (it does not exist for him).
  expect(code(await api.call('POST', `/v1/conversations/${c.id}/notes`, { token: bob.token, body: { body: 'x' } }))).toBe(
    'conversation_not_found',
  );

  // Transfer to Bob: now Bob's, no longer Alice's.
  expect((await assign(bob.id)).body.assignee).toEqual({ id: bob.id, name: 'vis-bob@example.com' });
  expect([await sees(alice.token), await sees(bob.token)]).toEqual([false, true]);
  // Unassigned private: owners and admins only.
  expect((await assign(null)).body).toMatchObject({ assigneeId: null, assignee: null });
  expect([await sees(alice.token), await sees(bob.token), await sees(admin.token)]).toEqual([false, false, true]);

  // Live events of a private conversation go to its assignee only (owners and admins always receive).
  await assign(alice.id);
  await message(a, '15550004001@c.us', { fromMe: false });
  const last = live.filter((e) => e.type === 'message.new' && (e.data as { conversationId: string }).conversationId === c.id).pop();
  expect(last?.audience).toEqual({ orgId, instanceId: a, privateTo: alice.id });

  const actions = (await api.call('GET', '/v1/audit', { token: owner })).body.items
    .filter((e: any) => e.target.id === c.id)
    .map((e: any) => [e.action, e.details.from, e.details.to])
    .reverse();
  expect(actions).toEqual([
    ['conversation.assigned', null, alice.id],
    ['conversation.visibility_changed', 'public', 'private'],
    ['conversation.transferred', alice.id, bob.id],
    ['conversation.unassigned', bob.id, null],
    ['conversation.assigned', null, alice.id],
  ]);
}, 90_000);

test('bad input: an unknown member, an assignee without rights on the instance, malformed ids: each a 4xx with its code', async () => {
  await message(a, '15550005001@c.us', { fromMe: false });
  const c = await conversationOf(a, '15550005001@c.us');
  const assign = (body: unknown) => api.call('POST', `/v1/conversations/${c.id}/assign`, { token: owner, body });
  const unknown = await assign({ assigneeId: 'm_nobody' });
  expect([unknown.status, code(unknown)]).toEqual([422, 'assignee_not_found']);
  const stranger = await tenant(api, 'inbox-outsider@example.com');
  const outsiderId = (await api.call('GET', '/v1/me', { token: stranger })).body.memberId;
  const outsider = await assign({ assigneeId: outsiderId });
  expect([outsider.status, code(outsider)]).toEqual([422, 'assignee_not_found']); // another organisation's member
  const carol = await member('bad-carol@example.com', 'agent');
  await rights(carol.id, b, { canRead: true, canWrite: true, canManageChats: true }); // rights on B, not A
  const noAccess = await assign({ assigneeId: carol.id });
  expect([noAccess.status, code(noAccess)]).toEqual([422, 'assignee_without_access']);
  expect((await conversationOf(a, '15550005001@c.us')).assigneeId).toBeNull();
  await rights(carol.id, a, { canRead: true });
  expect((await assign({ assigneeId: carol.id })).status).toBe(200);

  const malformed = await assign({ assigneeId: 'boss' });
  expect([malformed.status, code(malformed)]).toEqual([400, 'invalid_request']);
  const badId = await api.call('GET', '/v1/conversations/cnv_nope', { token: owner });
  expect([badId.status, code(badId)]).toEqual([400, 'invalid_request']);
  const missing = await api.call('GET', `/v1/conversations/cnv_${'0'.repeat(24)}`, { token: owner });
  expect([missing.status, code(missing)]).toEqual([404, 'conversation_not_found']);
  const badVisibility = await api.call('PATCH', `/v1/conversations/${c.id}`, { token: owner, body: { visibility: 'secret' } });
  expect([badVisibility.status, code(badVisibility)]).toEqual([400, 'invalid_request']);
  const badCursor = await api.call('GET', '/v1/conversations?cursor=zzz', { token: owner });
  expect([badCursor.status, code(badCursor)]).toEqual([400, 'invalid_cursor']);
  const emptyNote = await api.call('POST', `/v1/conversations/${c.id}/notes`, { token: owner, body: { body: '   ' } });
  expect([emptyNote.status, code(emptyNote)]).toEqual([400, 'invalid_request']);
}, 60_000);

test('read markers and unread counts are per member; notes stay in the api; the list filters, searches and pages newest first', async () => {
  const base = Date.now() + 3_600_000; // later than every other test's messages: these come first in the list
  for (let i = 0; i < 5; i++) await message(b, `1555000600${i}@c.us`, { fromMe: false, at: new Date(base + i * 1000), body: `order ${i}` });
  await message(b, '15550006000@c.us', { fromMe: false, at: new Date(base + 10_000), body: 'where is my parcel' });
  const dave = await member('read-dave@example.com', 'agent');
  await rights(dave.id, b, { canRead: true });
  const c0 = await conversationOf(b, '15550006000@c.us');
  expect(c0.unread).toBe(2);
  const read = await api.call('POST', `/v1/conversations/${c0.id}/read`, { token: owner });
  expect(read.body.unread).toBe(0);
  expect((await api.call('GET', `/v1/conversations/${c0.id}`, { token: dave.token })).body.unread).toBe(2); // Dave's own marker
  await message(b, '15550006000@c.us', { fromMe: false, at: new Date(base + 11_000), body: 'still no parcel' });
  expect((await api.call('GET', `/v1/conversations/${c0.id}`, { token: owner })).body.unread).toBe(1);

  // Notes: listed in order, never sent to the instance (its messages know nothing of them).
  await api.call('POST', `/v1/conversations/${c0.id}/notes`, { token: owner, body: { body: 'VIP customer' } });
  const n = await api.call('POST', `/v1/conversations/${c0.id}/notes`, { token: dave.token, body: { body: 'called them' } });
  expect(n.body).toMatchObject({ conversationId: c0.id, authorId: dave.id, authorName: 'read-dave@example.com', body: 'called them' });
  const notes = await api.call('GET', `/v1/conversations/${c0.id}/notes`, { token: owner });
  expect(notes.body.items.map((x: { body: string }) => x.body)).toEqual(['VIP customer', 'called them']);
  expect(live.some((e) => e.type === 'message.sent' && JSON.stringify(e.data).includes('VIP customer'))).toBe(false);

  // Newest activity first, by cursor.
  const pages: string[] = [];
  let cursor: string | null = null;
  do {
    const r: { body: { items: { chatId: string }[]; nextCursor: string | null } } = await api.call(
      'GET',
      `/v1/conversations?instanceId=${b}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      { token: owner },
    );
    pages.push(...r.body.items.map((x) => x.chatId));
    cursor = r.body.nextCursor;
  } while (cursor);
  expect(pages.slice(0, 5)).toEqual(['15550006000@c.us', '15550006004@c.us', '15550006003@c.us', '15550006002@c.us', '15550006001@c.us']);
  expect(new Set(pages).size).toBe(pages.length);

  // Filters.
  const list = async (q: string, token = owner) =>
    (await api.call('GET', `/v1/conversations?instanceId=${b}&${q}`, { token })).body.items.map((x: { chatId: string }) => x.chatId);
  expect(await list('q=PARCEL')).toEqual(['15550006000@c.us']);
  expect(await list('q=6003')).toEqual(['15550006003@c.us']);
  await api.call('POST', `/v1/conversations/${c0.id}/read`, { token: owner });
  expect(await list('unread=true&limit=3')).not.toContain('15550006000@c.us');
  expect(await list('unread=true', dave.token)).toContain('15550006000@c.us');
  const c3 = await conversationOf(b, '15550006003@c.us');
  await api.call('POST', `/v1/conversations/${c3.id}/assign`, { token: owner, body: { assigneeId: dave.id } });
  await api.call('POST', `/v1/conversations/${c3.id}/status`, { token: owner, body: { status: 'resolved' } });
  expect(await list('assignee=me', dave.token)).toEqual(['15550006003@c.us']);
  expect(await list(`assignee=${dave.id}`)).toEqual(['15550006003@c.us']);
  expect(await list('assignee=unassigned')).not.toContain('15550006003@c.us');
  expect((await list('assignee=any')).length).toBeGreaterThanOrEqual(5);
  expect(await list('status=resolved')).toEqual(['15550006003@c.us']);
  expect(await list('visibility=private')).toEqual([]);
}, 60_000);
