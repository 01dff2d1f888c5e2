/**
 * Issue #15, members and rights, against real servers (the api, its instance processes, simnet, MongoDB-wire):
 * invitations (accept registers or attaches; expired, reused, revoked, unknown), roles with last-owner protection,
 * per-instance rights of agents on every api route, the gateway and its WebSocket, removal cutting access at once
 * (HTTP and an open event stream), and the audit log (an entry for each action; cursor; owners and admins only).
 */
import mongoose from 'mongoose';
import WebSocket from 'ws';
import { eventually, startMongo, type MongoServer } from '@wacloud/testenv';
import { startSimnet, type RunningSimnet } from '../../instance/test/harness.js';
import { startApiProcess, tenant, type RunningApi } from './harness.js';

const PASSWORD = 'correct horse battery';
let mongo: MongoServer;
let simnet: RunningSimnet;
let api: RunningApi;
let db: mongoose.Connection;
let owner: string;
let a: string; // instance A (running)
let b: string; // instance B
let other: string; // another organisation's token
let otherInstance: string;

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  api = await startApiProcess({ mongo, simnetUrl: simnet.url, env: { BILLING_CRON: 'false', WEBHOOK_ALLOW_CIDRS: '127.0.0.1/32' } });
  db = await mongoose.createConnection(api.env.MONGODB_URI!).asPromise();
  owner = await tenant(api, 'owner@example.com', 10_000);
  other = await tenant(api, 'other@example.com', 10_000);
  const create = async (token: string, name: string) => {
    const r = await api.call('POST', '/v1/instances', { token, body: { name } });
    expect(r.status).toBe(201);
    return r.body.id as string;
  };
  [a, b, otherInstance] = await Promise.all([create(owner, 'A'), create(owner, 'B'), create(other, 'theirs')]);
  await eventually(async () => (await api.call('GET', `/v1/instances/${a}`, { token: owner })).body.phase === 'Running', 60_000);
}, 120_000);

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

async function invite(token: string, email: string, role: string): Promise<string> {
  const r = await api.call('POST', '/v1/invitations', { token, body: { email, role } });
  expect(r.status).toBe(201);
  expect(r.body.acceptPath).toContain(encodeURIComponent(r.body.token));
  return r.body.token as string;
}

/** Invites `email` as `role` and accepts: the new member's access token and member id. */
async function member(email: string, role: string): Promise<{ token: string; id: string }> {
  const acc = await api.call('POST', '/v1/invitations/accept', { body: { token: await invite(owner, email, role), password: PASSWORD } });
  expect(acc.status).toBe(200);
  const me = await api.call('GET', '/v1/me', { token: acc.body.accessToken });
  expect(me.body).toMatchObject({ email, role });
  return { token: acc.body.accessToken, id: me.body.memberId };
}

const rights = (
  token: string,
  memberId: string,
  instanceId: string,
  r: Partial<Record<'canRead' | 'canWrite' | 'canManageChats', boolean>>,
) =>
  api.call('PUT', `/v1/members/${memberId}/rights/${instanceId}`, {
    token,
    body: { canRead: false, canWrite: false, canManageChats: false, ...r },
  });

const code = (r: { body: any }) => r.body?.error?.code as string | undefined;

test('invitations: accept registers the invitee once; reused, expired, revoked, unknown and bad ones are refused with their codes', async () => {
  const token = await invite(owner, 'new-agent@example.com', 'agent');
  const acc = await api.call('POST', '/v1/invitations/accept', { body: { token, password: PASSWORD } });
  expect(acc.status).toBe(200);
  expect(acc.body.user.email).toBe('new-agent@example.com');
  const me = await api.call('GET', '/v1/me', { token: acc.body.accessToken });
  const ownerMe = await api.call('GET', '/v1/me', { token: owner });
  expect(me.body).toMatchObject({ role: 'agent', organisationId: ownerMe.body.organisationId });

  const again = await api.call('POST', '/v1/invitations/accept', { body: { token, password: PASSWORD } });
  expect([again.status, code(again)]).toEqual([409, 'invitation_used']);

  const late = await invite(owner, 'late@example.com', 'agent');
  await db.db!.collection('invitations').updateOne({ email: 'late@example.com' }, { $set: { expiresAt: new Date(Date.now() - 1000) } });
  const expired = await api.call('POST', '/v1/invitations/accept', { body: { token: late, password: PASSWORD } });
  expect([expired.status, code(expired)]).toEqual([410, 'invitation_expired']);

  const revokedToken = await invite(owner, 'revoked@example.com', 'agent');
  const pending = await api.call('GET', '/v1/invitations', { token: owner });
  const inv = pending.body.items.find((i: { email: string }) => i.email === 'revoked@example.com');
  expect(inv).toBeDefined();
  expect(JSON.stringify(pending.body)).not.toContain(revokedToken); // tokens are shown once only
  expect((await api.call('DELETE', `/v1/invitations/${inv.id}`, { token: owner })).status).toBe(204);
  const revoked = await api.call('POST', '/v1/invitations/accept', { body: { token: revokedToken, password: PASSWORD } });
  expect([revoked.status, code(revoked)]).toEqual([404, 'invitation_not_found']);
  const unknown = await api.call('POST', '/v1/invitations/accept', { body: { token: 'wainv_nope', password: PASSWORD } });
  expect([unknown.status, code(unknown)]).toEqual([404, 'invitation_not_found']);

  const badRole = await api.call('POST', '/v1/invitations', { token: owner, body: { email: 'x@example.com', role: 'boss' } });
  expect([badRole.status, code(badRole)]).toEqual([400, 'invalid_request']);
  const dup = await api.call('POST', '/v1/invitations', { token: owner, body: { email: 'new-agent@example.com', role: 'agent' } });
  expect([dup.status, code(dup)]).toEqual([409, 'already_member']);
  const byAgent = await api.call('POST', '/v1/invitations', {
    token: acc.body.accessToken,
    body: { email: 'y@example.com', role: 'agent' },
  });
  expect([byAgent.status, code(byAgent)]).toEqual([403, 'role_required']);
  // Only the hash of a token is stored.
  expect(JSON.stringify(await db.db!.collection('invitations').find({}).toArray())).not.toContain(token);
});

test('accepting with an existing account attaches it (its password), unless its organisation is not empty', async () => {
  const solo = await tenant(api, 'solo@example.com');
  const token = await invite(owner, 'solo@example.com', 'admin');
  const wrong = await api.call('POST', '/v1/invitations/accept', { body: { token, password: 'not the password' } });
  expect([wrong.status, code(wrong)]).toEqual([401, 'invalid_credentials']);
  const ok = await api.call('POST', '/v1/invitations/accept', { body: { token, password: PASSWORD } });
  expect(ok.status).toBe(200);
  const me = await api.call('GET', '/v1/me', { token: ok.body.accessToken });
  expect(me.body).toMatchObject({ role: 'admin', organisationId: (await api.call('GET', '/v1/me', { token: owner })).body.organisationId });
  expect((await api.call('GET', '/v1/me', { token: solo })).status).toBe(200); // same account, same session

  const busy = await invite(owner, 'other@example.com', 'agent'); // owns an organisation with money and an instance
  const refused = await api.call('POST', '/v1/invitations/accept', { body: { token: busy, password: PASSWORD } });
  expect([refused.status, code(refused)]).toEqual([409, 'organisation_not_empty']);
});

test('rights matrix: an agent sees and uses only what its rights allow, on api routes and the gateway', async () => {
  const agent = await member('matrix@example.com', 'agent');
  const t = agent.token;
  // No rights: no instance exists for it.
  expect((await api.call('GET', '/v1/instances', { token: t })).body.items).toEqual([]);
  for (const id of [a, b, otherInstance]) {
    const r = await api.call('GET', `/v1/instances/${id}`, { token: t });
    expect([r.status, code(r)]).toEqual([404, 'instance_not_found']);
    const g = await api.call('GET', `/v1/instances/${id}/api/v1/messages`, { token: t });
    expect([g.status, code(g)]).toEqual([404, 'instance_not_found']);
  }

  expect((await rights(owner, agent.id, a, { canRead: true })).status).toBe(200);
  const list = await api.call('GET', '/v1/instances', { token: t });
  expect(list.body.items.map((i: { id: string }) => i.id)).toEqual([a]);
  expect(list.body.items[0].rights).toEqual({ canRead: true, canWrite: false, canManageChats: false });
  expect((await api.call('GET', `/v1/instances/${b}`, { token: t })).status).toBe(404);
  expect((await api.call('GET', `/v1/instances/${a}/api/v1/messages`, { token: t })).status).toBe(200);
  const send = await api.call('POST', `/v1/instances/${a}/api/v1/messages`, { token: t, body: { to: '15550002222', text: 'hi' } });
  expect([send.status, code(send)]).toEqual([403, 'right_required']);
  expect(send.body.error.details).toEqual({ right: 'canWrite' });
  const sessionLogin = await api.call('POST', `/v1/instances/${a}/api/v1/session/login`, { token: t });
  expect([sessionLogin.status, code(sessionLogin)]).toEqual([403, 'role_required']);

  // Admin-only routes: 403 on a readable instance, 404 on another.
  const adminOnly: Array<[string, string, unknown?]> = [
    ['DELETE', `/v1/instances/${a}`],
    ['POST', `/v1/instances/${a}/stop`],
    ['GET', `/v1/instances/${a}/tokens`],
    ['POST', `/v1/instances/${a}/tokens`, { name: 'x', permissions: 'rw' }],
    ['GET', `/v1/instances/${a}/webhook`],
    ['POST', '/v1/instances', { name: 'mine' }],
    ['POST', '/v1/wallet/deposits', { amount: 100 }],
    ['GET', '/v1/wallet/transactions'],
    ['GET', '/v1/audit'],
    ['GET', '/v1/invitations'],
  ];
  for (const [method, p, body] of adminOnly) {
    const r = await api.call(method, p, { token: t, body });
    expect([method, p, r.status, code(r)]).toEqual([method, p, 403, 'role_required']);
  }
  const hidden = await api.call('DELETE', `/v1/instances/${b}`, { token: t });
  expect([hidden.status, code(hidden)]).toEqual([404, 'instance_not_found']);

  // canWrite: sending passes the api (the instance answers for itself).
  expect((await rights(owner, agent.id, a, { canRead: true, canWrite: true })).status).toBe(200);
  const sent = await api.call('POST', `/v1/instances/${a}/api/v1/messages`, { token: t, body: { to: '15550002222', text: 'hi' } });
  expect(['right_required', 'instance_not_found', 'role_required']).not.toContain(code(sent));
  expect(sent.status).not.toBe(403);

  // Rights on nothing the organisation owns, for nobody, or by an agent; roles outside the set.
  const foreign = await rights(owner, agent.id, otherInstance, { canRead: true });
  expect([foreign.status, code(foreign)]).toEqual([404, 'instance_not_found']);
  const nobody = await rights(owner, 'm_nobody', a, { canRead: true });
  expect([nobody.status, code(nobody)]).toEqual([404, 'member_not_found']);
  const self = await rights(t, agent.id, b, { canRead: true });
  expect([self.status, code(self)]).toEqual([403, 'role_required']);
  const badRole = await api.call('PATCH', `/v1/members/${agent.id}`, { token: owner, body: { role: 'boss' } });
  expect([badRole.status, code(badRole)]).toEqual([400, 'invalid_request']);
  const foreignMember = await api.call('PATCH', `/v1/members/${agent.id}`, { token: other, body: { role: 'admin' } });
  expect([foreignMember.status, code(foreignMember)]).toEqual([404, 'member_not_found']);

  // Revoking canRead hides the instance again.
  expect((await rights(owner, agent.id, a, {})).status).toBe(200);
  expect((await api.call('GET', `/v1/instances/${a}/api/v1/messages`, { token: t })).status).toBe(404);
});

test('the organisation keeps an owner: the last owner cannot demote or remove itself; admins cannot touch owners', async () => {
  const me = (await api.call('GET', '/v1/me', { token: owner })).body;
  const demote = await api.call('PATCH', `/v1/members/${me.memberId}`, { token: owner, body: { role: 'admin' } });
  expect([demote.status, code(demote)]).toEqual([409, 'last_owner']);
  const leave = await api.call('DELETE', `/v1/members/${me.memberId}`, { token: owner });
  expect([leave.status, code(leave)]).toEqual([409, 'last_owner']);

  const admin = await member('admin@example.com', 'admin');
  const byAdmin = await api.call('PATCH', `/v1/members/${me.memberId}`, { token: admin.token, body: { role: 'agent' } });
  expect([byAdmin.status, code(byAdmin)]).toEqual([403, 'owner_required']);
  const removeByAdmin = await api.call('DELETE', `/v1/members/${me.memberId}`, { token: admin.token });
  expect([removeByAdmin.status, code(removeByAdmin)]).toEqual([403, 'owner_required']);

  const second = await member('second-owner@example.com', 'agent');
  expect((await api.call('PATCH', `/v1/members/${second.id}`, { token: owner, body: { role: 'owner' } })).status).toBe(200);
  // Two owners: one may step down; then the other is the last again.
  expect((await api.call('PATCH', `/v1/members/${second.id}`, { token: second.token, body: { role: 'admin' } })).status).toBe(200);
  const last = await api.call('PATCH', `/v1/members/${me.memberId}`, { token: owner, body: { role: 'agent' } });
  expect(code(last)).toBe('last_owner');
});

/**
 * Opens the gateway's event relay of `id` with `token` in the header, or with a single-use ticket asked for with it
 * (`ticket`: how the dashboard connects).
 */
async function relay(id: string, token: string, on: RunningApi = api, ticket = false): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const url = `${on.url.replace('http', 'ws')}/v1/instances/${id}/api/v1/events`;
  let ws: WebSocket;
  if (ticket) {
    const t = await on.call('POST', `/v1/instances/${id}/ws-ticket`, { token });
    if (t.status !== 201) throw new Error(`HTTP ${t.status}`);
    ws = new WebSocket(`${url}?ticket=${(t.body as { ticket: string }).ticket}`);
  } else ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  return new Promise((resolve, reject) => {
    const closed = new Promise<number>((r) => ws.once('close', (c) => r(c)));
    ws.once('open', () => resolve({ ws, closed }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

test('the socket follows rights; removing a member cuts its HTTP access and its open event stream at once', async () => {
  const agent = await member('leaving@example.com', 'agent');
  await expect(relay(a, agent.token)).rejects.toThrow('HTTP 404'); // no canRead: no instance, no stream
  await expect(relay(a, agent.token, api, true)).rejects.toThrow('HTTP 404'); // nor a ticket for it
  await rights(owner, agent.id, a, { canRead: true });
  const withdrawn = await relay(a, agent.token);
  const byTicket = await relay(a, agent.token, api, true);
  await rights(owner, agent.id, a, {}); // the right goes: both streams close
  expect(await withdrawn.closed).toBe(4403);
  expect(await byTicket.closed).toBe(4403);
  await rights(owner, agent.id, a, { canRead: true });
  const open = await relay(a, agent.token);
  expect((await api.call('GET', '/v1/me', { token: agent.token })).status).toBe(200);

  expect((await api.call('DELETE', `/v1/members/${agent.id}`, { token: owner })).status).toBe(204);
  const me = await api.call('GET', '/v1/me', { token: agent.token });
  expect(me.status).toBe(401);
  expect(await open.closed).toBe(4401);
  expect((await api.call('GET', `/v1/instances/${a}/api/v1/messages`, { token: agent.token })).status).toBe(401);

  // The account stays: its next login gives it an organisation of its own, without the old one's instances.
  const login = await api.call('POST', '/v1/auth/login', { body: { email: 'leaving@example.com', password: PASSWORD } });
  expect(login.status).toBe(200);
  const fresh = await api.call('GET', '/v1/me', { token: login.body.accessToken });
  expect(fresh.body.role).toBe('owner');
  expect(fresh.body.organisationId).not.toBe((await api.call('GET', '/v1/me', { token: owner })).body.organisationId);
  expect((await api.call('GET', `/v1/instances/${a}`, { token: login.body.accessToken })).status).toBe(404);
  const unknown = await api.call('DELETE', `/v1/members/${agent.id}`, { token: owner });
  expect([unknown.status, code(unknown)]).toEqual([404, 'member_not_found']);
}, 60_000);

test('with two api replicas: a right withdrawn or a removal on one closes the stream open on the other (its 5 s re-check)', async () => {
  const other = await startApiProcess({
    mongo,
    simnetUrl: simnet.url,
    env: { BILLING_CRON: 'false', RECONCILE_ON_START: 'false', PROCESS_DATA_ROOT: api.dataRoot, MONGODB_URI: api.env.MONGODB_URI },
  });
  try {
    const agent = await member('replica@example.com', 'agent');
    await rights(owner, agent.id, a, { canRead: true });
    const withdrawn = await relay(a, agent.token, other);
    await rights(owner, agent.id, a, {});
    expect(await withdrawn.closed).toBe(4403);
    await rights(owner, agent.id, a, { canRead: true });
    const open = await relay(a, agent.token, other);
    expect((await api.call('DELETE', `/v1/members/${agent.id}`, { token: owner })).status).toBe(204);
    expect((await other.call('GET', '/v1/me', { token: agent.token })).status).toBe(401); // HTTP: at once, any replica
    expect(await open.closed).toBe(4401);
  } finally {
    await other.stop();
  }
}, 90_000);

test('audit log: an entry for every action, newest first by cursor, for owners and admins; no way to change it', async () => {
  const agent = await member('audited@example.com', 'agent');
  await api.call('PATCH', `/v1/members/${agent.id}`, { token: owner, body: { role: 'admin' } });
  await rights(owner, agent.id, b, { canRead: true });
  const revokeMe = await invite(owner, 'never@example.com', 'agent');
  const inv = (await api.call('GET', '/v1/invitations', { token: owner })).body.items.find(
    (i: { email: string }) => i.email === 'never@example.com',
  );
  await api.call('DELETE', `/v1/invitations/${inv.id}`, { token: owner });
  expect(revokeMe).toBeTruthy();
  const tok = await api.call('POST', `/v1/instances/${a}/tokens`, { token: owner, body: { name: 'crm', permissions: 'r' } });
  expect(tok.status).toBe(201);
  expect((await api.call('PATCH', `/v1/instances/${a}/tokens/${tok.body.id}`, { token: owner, body: { permissions: 'rw' } })).status).toBe(
    200,
  );
  expect((await api.call('DELETE', `/v1/instances/${a}/tokens/${tok.body.id}`, { token: owner })).status).toBe(204);
  const hook = await api.call('PUT', `/v1/instances/${a}/webhook`, {
    token: owner,
    body: { url: 'http://127.0.0.1:9/hook', events: ['message'] },
  });
  expect(hook.status).toBe(200);
  expect((await api.call('POST', `/v1/instances/${a}/webhook/secret`, { token: owner })).status).toBe(200);
  const doomed = await api.call('POST', '/v1/instances', { token: owner, body: { name: 'doomed' } });
  expect(doomed.status).toBe(201);
  expect((await api.call('DELETE', `/v1/instances/${doomed.body.id}`, { token: owner })).status).toBe(204);
  await api.call('DELETE', `/v1/members/${agent.id}`, { token: owner });

  const seen: any[] = [];
  let cursor: string | null = null;
  do {
    const page: { status: number; body: any } = await api.call('GET', `/v1/audit?limit=4${cursor ? `&cursor=${cursor}` : ''}`, {
      token: owner,
    });
    expect(page.status).toBe(200);
    seen.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor);
  expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
  expect([...seen].sort((x, y) => (x.id < y.id ? 1 : -1)).map((e) => e.id)).toEqual(seen.map((e) => e.id)); // newest first
  const actions = new Set(seen.map((e) => e.action));
  for (const action of [
    'member.invited',
    'invitation.accepted',
    'invitation.revoked',
    'member.role_changed',
    'member.rights_changed',
    'member.removed',
    'instance.created',
    'instance.deleted',
    'token.created',
    'token.updated',
    'token.deleted',
    'webhook.updated',
    'webhook.secret_rotated',
  ])
    expect([action, actions.has(action)]).toEqual([action, true]);
  const ownerMe = (await api.call('GET', '/v1/me', { token: owner })).body;
  const roleChange = seen.find((e) => e.action === 'member.role_changed' && e.target.id === agent.id);
  expect(roleChange).toMatchObject({
    actor: { memberId: ownerMe.memberId, email: 'owner@example.com' },
    details: { from: 'agent', to: 'admin' },
  });
  expect(seen.find((e) => e.action === 'token.created')).toMatchObject({
    target: { type: 'token', id: tok.body.id },
    details: { instanceId: a },
  });
  // Another organisation sees none of it; a bad cursor is a 400.
  expect((await api.call('GET', '/v1/audit', { token: other })).body.items.some((e: { target: { id: string } }) => e.target.id === a)).toBe(
    false,
  );
  expect(code(await api.call('GET', '/v1/audit?cursor=zzz', { token: owner }))).toBe('invalid_cursor');
  // Append-only: no route changes or removes entries; the listing is served by an index.
  for (const method of ['PATCH', 'PUT', 'DELETE']) expect((await api.call(method, '/v1/audit', { token: owner })).status).toBe(405);
  const indexes = await db.db!.collection('audit').indexes();
  expect(indexes.some((i) => JSON.stringify(i.key) === JSON.stringify({ orgId: 1, _id: -1 }))).toBe(true);
}, 60_000);

test('who sent what: a member sending through the gateway is named on the message; a forged member header is ignored', async () => {
  const login = await api.call('POST', `/v1/instances/${a}/api/v1/session/login`, { token: owner });
  expect(login.status).toBe(200);
  expect((await simnet.hook('/hooks/scan', { qr: login.body.qr, phone: '15550015001' })).status).toBe(200);
  expect((await simnet.hook('/hooks/accounts', { phone: '15550015002', pushname: 'Customer' })).status).toBeLessThan(300);
  await eventually(async () => (await api.call('GET', `/v1/instances/${a}`, { token: owner })).body.sessionState === 'WORKING', 30_000);

  const agent = await member('sender@example.com', 'agent');
  await rights(owner, agent.id, a, { canRead: true, canWrite: true });
  const forged = Buffer.from(JSON.stringify({ id: 'm_boss', name: 'The Boss' })).toString('base64url');
  const byAgent = await api.call('POST', `/v1/instances/${a}/api/v1/messages`, {
    token: agent.token,
    body: { to: '15550015002', text: 'from the agent' },
    headers: { 'x-wacloud-member': forged },
  });
  expect(byAgent.status).toBe(202);
  expect(byAgent.body.sentBy).toEqual({
    kind: 'member',
    tokenId: expect.any(String),
    tokenName: 'wacloud-gateway',
    member: { id: agent.id, name: 'sender@example.com' },
  });

  const crm = await api.call('POST', `/v1/instances/${a}/tokens`, { token: owner, body: { name: 'crm-sender', permissions: 'rw' } });
  const byToken = await api.call('POST', `/v1/instances/${a}/api/v1/messages`, {
    token: crm.body.token,
    body: { to: '15550015002', text: 'from the crm' },
    headers: { 'x-wacloud-member': forged },
  });
  expect(byToken.status).toBe(202);
  expect(byToken.body.sentBy).toEqual({ kind: 'token', tokenId: crm.body.id, tokenName: 'crm-sender' }); // no member: cannot claim one

  // Idempotency keys are per member on the shared gateway token: another member's same key is another message.
  const other = await member('sender2@example.com', 'agent');
  await rights(owner, other.id, a, { canRead: true, canWrite: true });
  const send = (token: string) =>
    api.call('POST', `/v1/instances/${a}/api/v1/messages`, {
      token,
      body: { to: '15550015002', text: 'same key' },
      headers: { 'idempotency-key': 'k-1' },
    });
  const first = await send(agent.token);
  const second = await send(other.token);
  expect(second.body.id).not.toBe(first.body.id);
  expect(second.body.sentBy.member.id).toBe(other.id);
  expect((await send(agent.token)).body.id).toBe(first.body.id); // the same member's retry: the first message

  // Stored: the sent message (by its WhatsApp id) names the member too.
  const sent = await eventually(async () => {
    const m = await api.call('GET', `/v1/instances/${a}/api/v1/messages/${byAgent.body.id}`, { token: owner });
    return m.body.status === 'sent' ? m.body : undefined;
  }, 30_000);
  const stored = await api.call('GET', `/v1/instances/${a}/api/v1/messages/${encodeURIComponent(sent.messageId)}`, { token: owner });
  expect(stored.body.sentBy).toMatchObject({ member: { id: agent.id, name: 'sender@example.com' } });
}, 90_000);
