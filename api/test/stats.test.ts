/**
 * Issue #15 item 6, statistics, against real servers (the api, its process-provider instances on simnet,
 * MongoDB-wire): messages in / out per UTC day and chats come from the instances (a WhatsApp session with messages
 * received from two phones and sent through the gateway), per-member figures from `inbox_activity` rows written the
 * way docs/team.md §3 documents them; a stopped instance is flagged unavailable, not an error; owners and admins only
 * (an agent gets 403 `role_required`); bad input gets 400 `invalid_request`, an unknown instance 404.
 */
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { eventually, startMongo, type MongoServer } from '@wacloud/testenv';
import { startSimnet, type RunningSimnet } from '../../instance/test/harness.js';
import { InboxEvents } from '../src/inbox/events.js';
import { openInboxStore } from '../src/inbox/store.js';
import type { InboxActivityDoc } from '../src/stats/agent-stats.js';
import { startApiProcess, tenant, type RunningApi } from './harness.js';

const PASSWORD = 'correct horse battery';
const ME = '15557720001';
const BOB = '15557720002';
const CAROL = '15557720003';
const DAY = 86_400_000;

let mongo: MongoServer;
let simnet: RunningSimnet;
let api: RunningApi;
let db: mongoose.Connection;
let owner: string;
let other: string;
let orgId: string;
let ownerMemberId: string;
let agent: { token: string; id: string };
let a: string; // logged in, with messages
let b: string; // stopped
let otherInstance: string;

const code = (r: { body: any }) => r.body?.error?.code as string | undefined;

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  api = await startApiProcess({ mongo, simnetUrl: simnet.url, env: { BILLING_CRON: 'false' } });
  db = await mongoose.createConnection(api.env.MONGODB_URI!).asPromise();
  owner = await tenant(api, 'stats-owner@example.com', 10_000);
  other = await tenant(api, 'stats-other@example.com', 10_000);
  const me = await api.call('GET', '/v1/me', { token: owner });
  orgId = me.body.organisationId;
  ownerMemberId = me.body.memberId;
  const create = async (token: string, name: string) => {
    const r = await api.call('POST', '/v1/instances', { token, body: { name } });
    expect(r.status).toBe(201);
    return r.body.id as string;
  };
  // A before B: the answer lists instances oldest first, so they are created one after the other.
  [a, otherInstance] = await Promise.all([create(owner, 'sales'), create(other, 'theirs')]);
  b = await create(owner, 'support');
  const inv = await api.call('POST', '/v1/invitations', { token: owner, body: { email: 'stats-agent@example.com', role: 'agent' } });
  const acc = await api.call('POST', '/v1/invitations/accept', { body: { token: inv.body.token, password: PASSWORD } });
  agent = { token: acc.body.accessToken, id: (await api.call('GET', '/v1/me', { token: acc.body.accessToken })).body.memberId };

  // Instance A: logged in on simnet; 3 messages in (2 from Bob, 1 from Carol), 2 out through the gateway (to Bob).
  for (const phone of [BOB, CAROL]) await simnet.hook('/hooks/accounts', { phone, pushname: `User ${phone}` });
  const login = await api.call('POST', `/v1/instances/${a}/api/v1/session/login`, { token: owner });
  expect(login.body.qr).toEqual(expect.any(String));
  expect((await simnet.hook('/hooks/scan', { qr: login.body.qr, phone: ME, pushname: 'Sales' })).status).toBeLessThan(300);
  await eventually(
    async () => (await api.call('GET', `/v1/instances/${a}/api/health`, { token: owner })).body?.session?.state === 'WORKING',
    30_000,
  );
  for (const [from, text] of [
    [BOB, 'hi'],
    [BOB, 'anyone?'],
    [CAROL, 'hello'],
  ])
    expect((await simnet.hook('/hooks/send', { from, to: ME, text })).status).toBeLessThan(300);
  // Sent with an instance token (an integration, not a member): the inbox records these answers for no member, so the
  // members' figures below are exactly the rows this test writes.
  const integration = await api.call('POST', `/v1/instances/${a}/tokens`, { token: owner, body: { name: 'crm', permissions: 'rw' } });
  expect(integration.status).toBe(201);
  for (const text of ['hello Bob', 'how can we help?']) {
    const sent = await api.call('POST', `/v1/instances/${a}/api/v1/messages`, { token: integration.body.token, body: { to: BOB, text } });
    expect(sent.status).toBeLessThan(300);
  }
  // Instance B: stopped by its tenant — it cannot answer.
  await eventually(async () => (await api.call('GET', `/v1/instances/${b}`, { token: owner })).body.phase === 'Running', 60_000);
  expect((await api.call('POST', `/v1/instances/${b}/stop`, { token: owner })).status).toBe(200);

  // inbox_activity rows as the conversations write them (docs/team.md §3).
  const now = Date.now();
  const row = (o: {
    kind: InboxActivityDoc['kind'];
    memberId: string | null;
    instanceId?: string;
    ms?: number;
    ago?: number;
    org?: string;
  }): InboxActivityDoc => ({
    _id: `act_${randomBytes(12).toString('hex')}`,
    orgId: o.org ?? orgId,
    instanceId: o.instanceId ?? a,
    conversationId: `cnv_${randomBytes(12).toString('hex')}`,
    kind: o.kind,
    memberId: o.memberId,
    at: new Date(now - (o.ago ?? 60_000)),
    ...(o.ms === undefined ? {} : { ms: o.ms }),
  });
  await db.db!.collection<InboxActivityDoc>('inbox_activity').insertMany([
    // the agent: 3 sent on A + 1 on B, 2 resolved, first responses 8 s, 1 s, 3 s (median 3 s)
    ...[1, 2, 3].map(() => row({ kind: 'outbound', memberId: agent.id })),
    row({ kind: 'outbound', memberId: agent.id, instanceId: b }),
    ...[1, 2].map(() => row({ kind: 'resolved', memberId: agent.id })),
    ...[8000, 1000, 3000].map((ms) => row({ kind: 'first_response', memberId: agent.id, ms })),
    // the owner: first responses 100 and 301 ms (median 201), 1 resolved 40 days ago (outside 30 days, inside 90)
    ...[100, 301].map((ms) => row({ kind: 'first_response', memberId: ownerMemberId, ms })),
    row({ kind: 'resolved', memberId: ownerMemberId, ago: 40 * DAY }),
    // not any member's: inbound messages, a phone's own reply; and another organisation's row
    row({ kind: 'inbound', memberId: null }),
    row({ kind: 'outbound', memberId: null }),
    row({ kind: 'outbound', memberId: agent.id, org: 'org_someone_else' }),
  ]);
}, 180_000);

afterAll(async () => {
  for (const [token, id] of [
    [owner, a],
    [owner, b],
    [other, otherInstance],
  ] as const)
    if (id) await api?.call('DELETE', `/v1/instances/${id}`, { token }).catch(() => {});
  await db?.close();
  await api?.stop();
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

test("an owner's statistics: messages per UTC day and chats from the instances, a stopped one flagged, members' figures", async () => {
  // The instance stores messages in the background: wait until all five are counted.
  let r = await api.call('GET', '/v1/stats', { token: owner });
  await eventually(async () => {
    r = await api.call('GET', '/v1/stats', { token: owner });
    return r.status === 200 && r.body.days.at(-1).in === 3 && r.body.days.at(-1).out === 2 && r.body.chats === 2;
  }, 30_000);
  const today = new Date().toISOString().slice(0, 10);
  const from = new Date(Date.parse(`${today}T00:00:00Z`) - 29 * DAY);
  expect(r.body.from).toBe(from.toISOString());
  expect(r.body.to).toBe(new Date(Date.parse(`${today}T00:00:00Z`) + DAY).toISOString());
  expect(r.body.days).toHaveLength(30);
  expect(r.body.days[0].date).toBe(from.toISOString().slice(0, 10));
  expect(r.body.days.at(-1)).toEqual({ date: today, in: 3, out: 2 });
  expect(r.body.days.slice(0, 29).every((d: { in: number; out: number }) => d.in === 0 && d.out === 0)).toBe(true);
  expect(r.body.sessions).toEqual({ total: 2, working: 1 });
  expect(r.body.chats).toBe(2);
  expect(r.body.instances).toEqual([
    { id: a, name: 'sales', state: 'WORKING', available: true, chats: 2, in: 3, out: 2 },
    { id: b, name: 'support', state: null, available: false, chats: 0, in: 0, out: 0 },
  ]);
  expect(r.body.agents).toEqual([
    { memberId: ownerMemberId, name: 'stats-owner@example.com', sent: 0, resolved: 0, medianFirstResponseMs: 201 },
    { memberId: agent.id, name: 'stats-agent@example.com', sent: 4, resolved: 2, medianFirstResponseMs: 3000 },
  ]);
}, 60_000);

test('a window of 90 days and one instance: rows filtered by time and instance', async () => {
  const r = await api.call('GET', `/v1/stats?days=90&instanceId=${a}`, { token: owner });
  expect(r.status).toBe(200);
  expect(r.body.days).toHaveLength(90);
  expect(r.body.instances.map((i: { id: string }) => i.id)).toEqual([a]);
  expect(r.body.sessions).toEqual({ total: 1, working: 1 });
  expect(r.body.agents).toEqual([
    { memberId: ownerMemberId, name: 'stats-owner@example.com', sent: 0, resolved: 1, medianFirstResponseMs: 201 },
    { memberId: agent.id, name: 'stats-agent@example.com', sent: 3, resolved: 2, medianFirstResponseMs: 3000 },
  ]);
  const one = await api.call('GET', `/v1/stats?days=1&instanceId=${b}`, { token: owner });
  expect(one.status).toBe(200);
  expect(one.body).toMatchObject({ sessions: { total: 1, working: 0 }, chats: 0, days: [{ in: 0, out: 0 }] });
  expect(one.body.agents.find((x: { memberId: string }) => x.memberId === agent.id)).toMatchObject({ sent: 1, resolved: 0 });
});

test('rights and bad input: agents 403 role_required; days outside 1–90, bad ids and unknown parameters 400; unknown instance 404', async () => {
  const byAgent = await api.call('GET', '/v1/stats', { token: agent.token });
  expect([byAgent.status, code(byAgent)]).toEqual([403, 'role_required']);
  expect((await api.call('GET', '/v1/stats')).status).toBe(401);
  for (const q of ['days=0', 'days=91', 'days=abc', 'days=1.5', 'instanceId=nope', 'foo=1']) {
    const r = await api.call('GET', `/v1/stats?${q}`, { token: owner });
    expect([q, r.status, code(r)]).toEqual([q, 400, 'invalid_request']);
  }
  for (const id of ['i-aaaaaaaaaaaa', otherInstance]) {
    const r = await api.call('GET', `/v1/stats?instanceId=${id}`, { token: owner });
    expect([r.status, code(r)]).toEqual([404, 'instance_not_found']);
  }
});

test("end to end with the conversations: an agent's answer and an owner's resolution, as the inbox records them, count", async () => {
  const figures = async () => {
    const r = await api.call('GET', '/v1/stats', { token: owner });
    expect(r.status).toBe(200);
    const of = (id: string) => r.body.agents.find((x: { memberId: string }) => x.memberId === id);
    return { agent: of(agent.id), owner: of(ownerMemberId) };
  };
  const before = await figures();
  // The inbox's event handler, fed as the ingest feeds it (`message.any` events shaped like the instance's message view).
  const events = new InboxEvents(await openInboxStore(db.db!), undefined);
  const chatId = '15557720009@c.us';
  const t0 = new Date(Date.now() - 120_000);
  const message = (fromMe: boolean, at: Date, member?: { id: string; name: string }) =>
    events.handler({
      id: `evt_${randomBytes(16).toString('hex')}`,
      instanceId: a,
      orgId,
      type: 'message.any',
      timestamp: Date.now(),
      data: {
        id: `${fromMe}_${chatId}_${randomBytes(8).toString('hex').toUpperCase()}`,
        chatId,
        author: fromMe ? `${ME}@c.us` : chatId,
        fromMe,
        isGroup: false,
        type: 'chat',
        body: fromMe ? 'on it' : 'help',
        timestamp: at.toISOString(),
        ack: 1,
        ...(member ? { sentBy: { tokenId: 'abcdef0123456789', tokenName: 'wacloud-gateway', member } } : {}),
      },
    });
  await message(false, t0);
  await message(true, new Date(t0.getTime() + 7_000), { id: agent.id, name: 'stats-agent@example.com' });
  const list = await api.call('GET', `/v1/conversations?instanceId=${a}`, { token: owner });
  const conversation = list.body.items.find((c: { chatId: string }) => c.chatId === chatId);
  expect(conversation).toBeDefined();
  const resolved = await api.call('POST', `/v1/conversations/${conversation.id}/status`, { token: owner, body: { status: 'resolved' } });
  expect(resolved.status).toBe(200);

  const after = await figures();
  expect(after.agent).toEqual({ ...before.agent, sent: before.agent.sent + 1, medianFirstResponseMs: 5000 }); // of 1, 3, 7 and 8 s
  expect(after.owner).toEqual({ ...before.owner, resolved: before.owner.resolved + 1 });
  const firstResponses = await db.db!.collection<InboxActivityDoc>('inbox_activity').find({ conversationId: conversation.id }).toArray();
  expect(firstResponses.find((r) => r.kind === 'first_response')).toMatchObject({ memberId: agent.id, ms: 7_000 });
});
