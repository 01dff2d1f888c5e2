/**
 * Issue #15 item 5 (docs/team.md §1–2), against real servers (MongoDB-wire, simnet, the api with its instance processes,
 * a second api process on the same database):
 * - the ingest: signed, unsigned, stale (replayed) and duplicate deliveries; an instance's events (a received message,
 *   a member's sent message with `sentBy`, the login QR) reaching the api's bus within seconds;
 * - the live socket: what each member receives (rights, organisation), resume with `lastEventId` (exactly the missed
 *   events; 4410 once pruned), removal (4401) and rights change (4403), and an event appended on one api replica
 *   reaching a member connected to another.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import WebSocket from 'ws';
import { eventually, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { startSimnet, type RunningSimnet } from '../../instance/test/harness.js';
import { loadConfig } from '../src/config.js';
import type { InstanceEvent } from '../src/events/instance-events.js';
import { instanceEventsSecret, signEvent } from '../src/events/ingest.js';
import type { LiveEvent } from '../src/live/live-log.js';
import { startApi, type Api } from '../src/service.js';
import { JWT_SECRET, startApiProcess } from './harness.js';

const PASSWORD = 'correct horse battery';
let mongo: MongoServer;
let simnet: RunningSimnet;
let api: Api;
let dataRoot: string;
let dbUri: string;
let owner: string;
let orgId: string;
let ins: string; // the owner's instance (running)
let otherOwner: string;
const seen: InstanceEvent[] = [];

async function call<T = any>(method: string, p: string, o: { token?: string; body?: unknown; base?: string } = {}) {
  const res = await fetch((o.base ?? api.url) + p, {
    method,
    headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...(o.body ? { 'content-type': 'application/json' } : {}) },
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function register(email: string, deposit = 0): Promise<string> {
  expect((await call('POST', '/v1/auth/register', { body: { email, password: PASSWORD } })).status).toBe(201);
  const token = (await call('POST', '/v1/auth/login', { body: { email, password: PASSWORD } })).body.accessToken as string;
  if (deposit) expect((await call('POST', '/v1/wallet/deposits', { token, body: { amount: deposit } })).status).toBe(201);
  return token;
}

/** Invites `email` as `role` into the owner's organisation and accepts: its token and member id. */
async function member(email: string, role: string): Promise<{ token: string; id: string }> {
  const inv = await call('POST', '/v1/invitations', { token: owner, body: { email, role } });
  const acc = await call('POST', '/v1/invitations/accept', { body: { token: inv.body.token, password: PASSWORD } });
  expect(acc.status).toBe(200);
  const me = await call('GET', '/v1/me', { token: acc.body.accessToken });
  return { token: acc.body.accessToken, id: me.body.memberId };
}

const setRights = (memberId: string, r: Partial<Record<'canRead' | 'canWrite' | 'canManageChats', boolean>>) =>
  call('PUT', `/v1/members/${memberId}/rights/${ins}`, {
    token: owner,
    body: { canRead: false, canWrite: false, canManageChats: false, ...r },
  });

interface Socket {
  frames: LiveEvent[];
  closed: Promise<number>;
  ws: WebSocket;
  /** Resolves with the first frame `pred` accepts. */
  next(pred: (f: LiveEvent) => boolean, timeoutMs?: number): Promise<LiveEvent>;
}

/** Opens the live socket with a ticket (on `base`, default replica A), resuming after `lastEventId` when given. */
async function live(token: string, o: { lastEventId?: number; base?: string } = {}): Promise<Socket> {
  const t = await call('POST', '/v1/live/ticket', { token, base: o.base });
  expect(t.status).toBe(201);
  const base = (o.base ?? api.url).replace(/^http/, 'ws');
  const q = `ticket=${encodeURIComponent(t.body.ticket)}${o.lastEventId === undefined ? '' : `&lastEventId=${o.lastEventId}`}`;
  const ws = new WebSocket(`${base}/v1/live?${q}`);
  const frames: LiveEvent[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (d) => {
    frames.push(JSON.parse(d.toString()) as LiveEvent);
    for (const w of waiters) w();
  });
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  const s: Socket = {
    frames,
    closed,
    ws,
    next: (pred, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const f = frames.find(pred);
          if (!f) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(f);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no such frame within ${timeoutMs} ms; got ${JSON.stringify(frames.map((x) => x.type))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
  await s.next((f) => (f.type as string) === 'ready');
  return s;
}

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  dataRoot = mkdtempSync(path.join(os.tmpdir(), 'wacloud-live-'));
  dbUri = mongo.dbUri(uniqueDbName('live'));
  const config = loadConfig({
    MONGODB_URI: dbUri,
    JWT_SECRET,
    PORT: '0',
    HOST: '127.0.0.1',
    PROVIDER: 'process',
    ENGINE: 'simulated',
    SIMNET_URL: simnet.url,
    PROCESS_DATA_ROOT: dataRoot,
    BILLING_CRON: 'false',
    LIVE_CHECK_MS: '1000',
  });
  api = await startApi(config, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
  api.events.subscribe(async (e) => void seen.push(e));
  owner = await register('owner@example.com', 10_000);
  otherOwner = await register('other@example.com');
  orgId = (await call('GET', '/v1/me', { token: owner })).body.organisationId;
  const r = await call('POST', '/v1/instances', { token: owner, body: { name: 'live' } });
  expect(r.status).toBe(201);
  ins = r.body.id;
  await eventually(async () => (await call('GET', `/v1/instances/${ins}`, { token: owner })).body.phase === 'Running', 60_000);
}, 120_000);

afterAll(async () => {
  if (ins) await call('DELETE', `/v1/instances/${ins}`, { token: owner }).catch(() => {});
  await api?.close();
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

/** POSTs a delivery to the ingest as instance `instanceId` would (signed unless `signature` is given). */
async function deliver(body: object, o: { instanceId?: string; ts?: number; signature?: string | null } = {}) {
  const raw = JSON.stringify(body);
  const ts = o.ts ?? Math.floor(Date.now() / 1000);
  const sig = o.signature === undefined ? signEvent(instanceEventsSecret(JWT_SECRET, o.instanceId ?? ins), ts, raw) : o.signature;
  const res = await fetch(`${api.url}/internal/v1/instance-events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-wacloud-timestamp': String(ts),
      ...(sig === null ? {} : { 'x-wacloud-signature': sig }),
    },
    body: raw,
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** The event frames received (not the `ready` frame). */
const events = (s: Socket) => s.frames.filter((f) => (f.type as string) !== 'ready');

const evt = (n: number) => `evt_${n.toString(16).padStart(32, '0')}`;

test('ingest: a signed delivery reaches the bus once; unsigned, wrongly signed, stale, foreign and duplicate ones do not', async () => {
  const body = { id: evt(1), event: 'presence', instanceId: ins, createdAt: new Date().toISOString(), payload: { chatId: 'x@c.us' } };
  const count = () => seen.filter((e) => e.id === evt(1)).length;
  expect(await deliver(body, { signature: null })).toMatchObject({ status: 401, body: { error: { code: 'invalid_signature' } } });
  expect((await deliver(body, { signature: 'v1=' + '0'.repeat(64) })).status).toBe(401);
  // Signed with another instance's secret (or by someone knowing only their own): refused.
  expect((await deliver(body, { instanceId: 'i-aaaaaaaaaaaa' })).status).toBe(401);
  // A captured delivery replayed later than 5 minutes: refused.
  expect((await deliver(body, { ts: Math.floor(Date.now() / 1000) - 400 })).status).toBe(401);
  expect(count()).toBe(0);
  expect(await deliver(body)).toEqual({ status: 200, body: { duplicate: false } });
  expect(await deliver(body)).toEqual({ status: 200, body: { duplicate: true } });
  expect(count()).toBe(1);
  expect(seen.find((e) => e.id === evt(1))).toEqual({
    id: evt(1),
    instanceId: ins,
    orgId,
    type: 'presence',
    data: { chatId: 'x@c.us' },
    timestamp: Date.parse(body.createdAt),
  });
  // An instance the api does not know: 404 (signed correctly for its id).
  const ghost = { ...body, id: evt(2), instanceId: 'i-bbbbbbbbbbbb' };
  expect((await deliver(ghost, { instanceId: 'i-bbbbbbbbbbbb' })).body.error.code).toBe('instance_not_found');
  expect((await deliver({ nope: true })).status).toBe(400);
});

test("an instance's events reach the bus within seconds: the login QR (instance.qr for owners), a received message, a member's sent message with sentBy", async () => {
  const ownerSocket = await live(owner);
  const login = await call('POST', `/v1/instances/${ins}/api/v1/session/login`, { token: owner });
  expect(login.status).toBe(200);
  // The QR: api-only event, and on the live socket for the owner.
  await eventually(
    () => seen.some((e) => e.instanceId === ins && e.type === 'session.qr' && (e.data as { qr: string }).qr === login.body.qr),
    15_000,
  );
  const qr = await ownerSocket.next((f) => f.type === 'instance.qr');
  expect(qr.data).toMatchObject({ instanceId: ins, qr: login.body.qr, image: expect.stringMatching(/^data:image\/png;base64,/) });
  expect((await simnet.hook('/hooks/scan', { qr: login.body.qr, phone: '15550016001' })).status).toBe(200);
  await simnet.hook('/hooks/accounts', { phone: '15550016002', pushname: 'Customer' });
  const working = await ownerSocket.next((f) => f.type === 'instance.state' && (f.data as { state: string }).state === 'WORKING', 30_000);
  expect(working.data).toMatchObject({ instanceId: ins, state: 'WORKING' });

  await simnet.hook('/hooks/send', { from: '15550016002', to: '15550016001', text: 'hello from a customer' });
  const inbound = await eventually(
    () => seen.find((e) => e.type === 'message.any' && (e.data as { body?: string }).body === 'hello from a customer'),
    10_000,
  );
  expect(inbound).toMatchObject({ instanceId: ins, orgId, data: { fromMe: false, chatId: '15550016002@c.us' } });
  // Only the events the api consumes are subscribed (events/subscriptions.ts INGESTED_EVENTS): no `message` twin.
  expect(seen.some((e) => e.instanceId === ins && e.type === 'message')).toBe(false);

  const agent = await member('sender@example.com', 'agent');
  expect((await setRights(agent.id, { canRead: true, canWrite: true })).status).toBe(200);
  const sent = await call('POST', `/v1/instances/${ins}/api/v1/messages`, {
    token: agent.token,
    body: { to: '15550016002', text: 'an answer' },
  });
  expect(sent.status).toBe(202);
  const out = await eventually(
    () => seen.find((e) => e.type === 'message.any' && (e.data as { body?: string }).body === 'an answer'),
    10_000,
  );
  expect(out.data).toMatchObject({ fromMe: true, sentBy: { member: { id: agent.id, name: 'sender@example.com' } } });
  ownerSocket.ws.close();
}, 90_000);

test('live socket: each member receives what their rights allow, nothing of another organisation', async () => {
  const reader = await member('reader@example.com', 'agent');
  await setRights(reader.id, { canRead: true });
  const blind = await member('blind@example.com', 'agent');
  const admin = await member('admin@example.com', 'admin');
  const sockets = {
    owner: await live(owner),
    admin: await live(admin.token),
    reader: await live(reader.token),
    blind: await live(blind.token),
    other: await live(otherOwner),
  };
  const otherOrg = (await call('GET', '/v1/me', { token: otherOwner })).body.organisationId;
  const a1 = await api.live.append({ type: 'conversation.created', data: { n: 1 }, audience: { orgId, instanceId: ins } });
  const a2 = await api.live.append({ type: 'conversation.updated', data: { n: 2 }, audience: { orgId, adminsOnly: true } });
  const a3 = await api.live.append({
    type: 'conversation.assigned',
    data: { n: 3 },
    audience: { orgId, instanceId: ins, privateTo: reader.id },
  });
  const a4 = await api.live.append({ type: 'conversation.note', data: { n: 4 }, audience: { orgId, instanceId: ins, privateTo: null } });
  const a5 = await api.live.append({ type: 'contact.updated', data: { n: 5 }, audience: { orgId: otherOrg } });
  const a6 = await api.live.append({ type: 'message.new', data: { n: 6 }, audience: { orgId } }); // the end marker
  expect([a2, a3, a4, a5, a6]).toEqual([a1 + 1, a1 + 2, a1 + 3, a1 + 4, a1 + 5]); // gap-free ids
  const got = async (s: Socket, last: number) => {
    await s.next((f) => f.id === last);
    return s.frames.filter((f) => f.id >= a1).map((f) => f.id);
  };
  expect(await got(sockets.owner, a6)).toEqual([a1, a2, a3, a4, a6]);
  expect(await got(sockets.admin, a6)).toEqual([a1, a2, a3, a4, a6]);
  expect(await got(sockets.reader, a6)).toEqual([a1, a3, a6]);
  expect(await got(sockets.blind, a6)).toEqual([a6]);
  await sockets.other.next((f) => f.id === a5);
  expect(sockets.other.frames.filter((f) => f.id >= a1).map((f) => f.id)).toEqual([a5]);
  expect(sockets.owner.frames.find((f) => f.id === a1)).toEqual({
    id: a1,
    type: 'conversation.created',
    data: { n: 1 },
    at: expect.any(String),
  });
  for (const s of Object.values(sockets)) s.ws.close();
  // Tokens in the URL are refused; a ticket is single-use.
  const status = (q: string) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(`${api.url.replace(/^http/, 'ws')}/v1/live?${q}`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
  expect(await status(`access_token=${owner}`)).toBe(401);
  const t = await call('POST', '/v1/live/ticket', { token: owner });
  expect(await status(`ticket=${t.body.ticket}`)).toBe(101);
  expect(await status(`ticket=${t.body.ticket}`)).toBe(401);
  const t2 = await call('POST', '/v1/live/ticket', { token: owner });
  expect(await status(`ticket=${t2.body.ticket}&lastEventId=-1`)).toBe(400);
}, 60_000);

test('resume: a reconnect with lastEventId gets exactly the missed events; a pruned resume point closes 4410', async () => {
  const reader = await member('resumer@example.com', 'agent');
  await setRights(reader.id, { canRead: true });
  const first = await live(reader.token);
  const before = await api.live.append({ type: 'message.new', data: { k: 'before' }, audience: { orgId, instanceId: ins } });
  await first.next((f) => f.id === before);
  first.ws.close();
  await first.closed;
  const missed = [];
  for (let i = 0; i < 5; i++)
    missed.push(
      await api.live.append({
        type: 'message.ack',
        data: { i },
        audience: i === 2 ? { orgId, adminsOnly: true } : { orgId, instanceId: ins },
      }),
    );
  const again = await live(reader.token, { lastEventId: before });
  const after = await api.live.append({ type: 'message.sent', data: { k: 'after' }, audience: { orgId, instanceId: ins } });
  await again.next((f) => f.id === after);
  expect(events(again).map((f) => f.id)).toEqual([missed[0], missed[1], missed[3], missed[4], after]);
  expect(again.frames.find((f) => (f.type as string) === 'ready')!.id).toBeGreaterThanOrEqual(missed[1]!);
  again.ws.close();

  // Everything older than the retention is pruned (the newest kept): the old resume point is gone.
  await api.live.log.prune(Date.now() + 24 * 3600_000);
  const t = await call('POST', '/v1/live/ticket', { token: reader.token });
  const ws = new WebSocket(`${api.url.replace(/^http/, 'ws')}/v1/live?ticket=${encodeURIComponent(t.body.ticket)}&lastEventId=${before}`);
  expect(await new Promise((r) => ws.on('close', (code) => r(code)))).toBe(4410);
}, 60_000);

test('removal closes the member socket with 4401, a rights change with 4403', async () => {
  const agent = await member('leaver@example.com', 'agent');
  await setRights(agent.id, { canRead: true });
  const s1 = await live(agent.token);
  await setRights(agent.id, { canRead: true, canWrite: true });
  expect(await s1.closed).toBe(4403);
  const s2 = await live(agent.token);
  expect((await call('DELETE', `/v1/members/${agent.id}`, { token: owner })).status).toBe(204);
  expect(await s2.closed).toBe(4401);
}, 30_000);

test('two api replicas on one database: an event appended on one reaches a member connected to the other', async () => {
  const other = await startApiProcess({
    mongo,
    simnetUrl: simnet.url,
    env: { BILLING_CRON: 'false', RECONCILE_ON_START: 'false', PROCESS_DATA_ROOT: dataRoot, MONGODB_URI: dbUri, API_EVENTS_URL: api.url },
  });
  try {
    const reader = await member('replica@example.com', 'agent');
    await setRights(reader.id, { canRead: true });
    const onB = await live(reader.token, { base: other.url });
    const id = await api.live.append({ type: 'message.new', data: { via: 'A' }, audience: { orgId, instanceId: ins } });
    expect(await onB.next((f) => f.id === id)).toMatchObject({ type: 'message.new', data: { via: 'A' } });
    // And the resume point reached on B resumes on A.
    onB.ws.close();
    const next = await api.live.append({ type: 'message.new', data: { via: 'A again' }, audience: { orgId, instanceId: ins } });
    const onA = await live(reader.token, { lastEventId: id });
    await onA.next((f) => f.id === next);
    expect(events(onA).map((f) => f.id)).toEqual([next]);
    onA.ws.close();
  } finally {
    await other.stop();
  }
}, 90_000);
