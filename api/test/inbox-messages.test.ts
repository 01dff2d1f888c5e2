/**
 * Issue #15 items 3 and 4 against real servers (the api process, an instance process logged in on simnet, MongoDB-wire):
 * a conversation's messages are read from its instance, a member sends into it (a reply too) and the instance records
 * the member as the sender; who sent what is shown for every kind — member, instance token, the system, the phone —
 * and cannot be forged by an instance-token holder; outbound activity names the member.
 */
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { eventually, startMongo, type MongoServer } from '@wacloud/testenv';
import { startSimnet, type RunningSimnet } from '../../instance/test/harness.js';
import { InboxEvents, type MessageData } from '../src/inbox/events.js';
import { openInboxStore, type InboxStore } from '../src/inbox/store.js';
import { startApiProcess, tenant, type RunningApi } from './harness.js';

const PASSWORD = 'correct horse battery';
const ME = '15550017001';
const CUSTOMER = '15550017002';
const OTHER = '15550017003';
let mongo: MongoServer;
let simnet: RunningSimnet;
let api: RunningApi;
let db: mongoose.Connection;
let inbox: InboxStore;
let events: InboxEvents;
let owner: string;
let orgId: string;
let a: string;

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  api = await startApiProcess({ mongo, simnetUrl: simnet.url, env: { BILLING_CRON: 'false' } });
  db = await mongoose.createConnection(api.env.MONGODB_URI!).asPromise();
  inbox = await openInboxStore(db.db!);
  events = new InboxEvents(inbox, undefined);
  owner = await tenant(api, 'msg-owner@example.com', 10_000);
  orgId = (await api.call('GET', '/v1/me', { token: owner })).body.organisationId;
  const r = await api.call('POST', '/v1/instances', { token: owner, body: { name: 'A' } });
  expect(r.status).toBe(201);
  a = r.body.id;
  await eventually(async () => (await api.call('GET', `/v1/instances/${a}`, { token: owner })).body.phase === 'Running', 60_000);
  const login = await api.call('POST', `/v1/instances/${a}/api/v1/session/login`, { token: owner });
  expect(login.status).toBe(200);
  expect((await simnet.hook('/hooks/scan', { qr: login.body.qr, phone: ME })).status).toBe(200);
  for (const phone of [CUSTOMER, OTHER])
    expect((await simnet.hook('/hooks/accounts', { phone, pushname: 'Customer' })).status).toBeLessThan(300);
  await eventually(async () => (await api.call('GET', `/v1/instances/${a}`, { token: owner })).body.sessionState === 'WORKING', 30_000);
}, 150_000);

afterAll(async () => {
  if (a) await api?.call('DELETE', `/v1/instances/${a}`, { token: owner }).catch(() => {});
  await db?.close();
  await api?.stop();
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

const code = (r: { body: any }) => r.body?.error?.code as string | undefined;

async function member(email: string): Promise<{ token: string; id: string }> {
  const inv = await api.call('POST', '/v1/invitations', { token: owner, body: { email, role: 'agent' } });
  const acc = await api.call('POST', '/v1/invitations/accept', { body: { token: inv.body.token, password: PASSWORD } });
  const me = await api.call('GET', '/v1/me', { token: acc.body.accessToken });
  return { token: acc.body.accessToken, id: me.body.memberId };
}

/** The instance's stored message with text `text` (its message view, the `data` of its webhook events). */
async function stored(text: string): Promise<MessageData> {
  return eventually(async () => {
    const r = await api.call('GET', `/v1/instances/${a}/api/v1/messages?q=${encodeURIComponent(text)}`, { token: owner });
    return r.body.items?.[0];
  }, 30_000);
}

/** Hands the inbox's handler the `message.any` event of `m`, as the ingest does. */
const deliver = (m: MessageData) =>
  events.handler({
    id: `evt_${randomBytes(16).toString('hex')}`,
    instanceId: a,
    orgId,
    type: 'message.any',
    data: m,
    timestamp: Date.now(),
  });

test('a member sends into a conversation (a reply too); the instance names the member; the messages, read from the instance, show who sent what', async () => {
  const question = `Where is my order? ${Date.now()}`;
  expect((await simnet.hook('/hooks/send', { from: CUSTOMER, to: ME, text: question })).status).toBe(201);
  const inbound = await stored(question);
  await deliver(inbound);
  const conv = await inbox.conversations.findOne({ instanceId: a, chatId: `${CUSTOMER}@c.us` });
  expect(conv).toMatchObject({ inboundCount: 1, status: 'open' });
  const id = conv!._id;

  const agent = await member('msg-agent@example.com');
  await api.call('PUT', `/v1/members/${agent.id}/rights/${a}`, {
    token: owner,
    body: { canRead: true, canWrite: true, canManageChats: false },
  });
  const forged = Buffer.from(JSON.stringify({ id: 'm_boss', name: 'The Boss' })).toString('base64url');
  const sent = await api.call('POST', `/v1/conversations/${id}/messages`, {
    token: agent.token,
    body: { text: 'It ships today', replyTo: inbound.id },
    headers: { 'x-wacloud-member': forged }, // ignored: the api names the caller
  });
  expect(sent.status).toBe(202);
  expect(sent.body).toMatchObject({
    chatId: `${CUSTOMER}@c.us`,
    quotedMessageId: inbound.id,
    sentBy: { kind: 'member', tokenName: 'wacloud-gateway', member: { id: agent.id, name: 'msg-agent@example.com' } },
  });
  // The customer gets it, quoting its question.
  const got = await eventually(async () => {
    const r = await simnet.hook<{ messages: { body: string; quotedMessageId?: string }[] }>(`/hooks/accounts/${CUSTOMER}/messages`);
    return r.body.messages.find((m) => m.body === 'It ships today');
  }, 30_000);
  expect(got.quotedMessageId?.split('_').pop()).toBe(inbound.id.split('_').pop()); // the same message, seen from the customer's side

  // Only a message of this conversation can be quoted.
  const elsewhere = `hello from elsewhere ${Date.now()}`;
  await simnet.hook('/hooks/send', { from: OTHER, to: ME, text: elsewhere });
  const foreign = await stored(elsewhere);
  const bad = await api.call('POST', `/v1/conversations/${id}/messages`, { token: agent.token, body: { text: 'x', replyTo: foreign.id } });
  expect([bad.status, code(bad)]).toEqual([422, 'message_not_found']);

  // An instance-token holder cannot claim to be a member: the header is ignored, the token is named.
  const crm = await api.call('POST', `/v1/instances/${a}/tokens`, { token: owner, body: { name: 'crm', permissions: 'rw' } });
  const byToken = await api.call('POST', `/v1/instances/${a}/api/v1/messages`, {
    token: crm.body.token,
    body: { to: CUSTOMER, text: 'from the crm' },
    headers: { 'x-wacloud-member': Buffer.from(JSON.stringify({ id: agent.id, name: 'msg-agent@example.com' })).toString('base64url') },
  });
  expect(byToken.status).toBe(202);
  expect(byToken.body.sentBy).toEqual({ kind: 'token', tokenId: crm.body.id, tokenName: 'crm' });
  // Typed on the phone itself.
  await simnet.hook('/hooks/send', { from: ME, to: CUSTOMER, text: 'typed on the phone' });

  // The conversation's messages, newest first, each outgoing one with its sender.
  const bySender = await eventually(async () => {
    const r = await api.call('GET', `/v1/conversations/${id}/messages?limit=10`, { token: agent.token });
    expect(r.status).toBe(200);
    const all = r.body.items as { body: string; sentBy?: { kind: string; member?: { id: string } } }[];
    const m = Object.fromEntries(all.map((x) => [x.body, x.sentBy]));
    return ['It ships today', 'from the crm', 'typed on the phone', question].every((b) => b in m) ? m : undefined;
  }, 30_000);
  expect(bySender['It ships today']).toMatchObject({ kind: 'member', member: { id: agent.id } });
  expect(bySender['from the crm']).toEqual({ kind: 'token', tokenId: crm.body.id, tokenName: 'crm' });
  expect(bySender['typed on the phone']).toEqual({ kind: 'phone' });
  expect(bySender[question]).toBeUndefined();
  expect(Object.keys(bySender)).not.toContain(elsewhere); // another chat's messages are not this conversation's
  const page1 = await api.call('GET', `/v1/conversations/${id}/messages?limit=1`, { token: agent.token });
  expect(page1.body.items).toHaveLength(1);
  const page2 = await api.call('GET', `/v1/conversations/${id}/messages?limit=1&cursor=${encodeURIComponent(page1.body.nextCursor)}`, {
    token: agent.token,
  });
  expect(page2.body.items[0].id).not.toBe(page1.body.items[0].id);

  // The outbound activity names the member for the member's message, nobody for the token's.
  for (const text of ['It ships today', 'from the crm']) await deliver(await stored(text));
  const rows = await inbox.activity.find({ conversationId: id, kind: { $in: ['outbound', 'first_response'] } }).toArray();
  expect(rows.map((r) => [r.kind, r.memberId]).sort()).toEqual([
    ['first_response', agent.id],
    ['outbound', null],
    ['outbound', agent.id],
  ]);

  // Without canWrite: 403; the session's answer passes through as a code.
  await api.call('PUT', `/v1/members/${agent.id}/rights/${a}`, {
    token: owner,
    body: { canRead: true, canWrite: false, canManageChats: false },
  });
  const refused = await api.call('POST', `/v1/conversations/${id}/messages`, { token: agent.token, body: { text: 'nope' } });
  expect([refused.status, code(refused)]).toEqual([403, 'right_required']);
}, 120_000);
