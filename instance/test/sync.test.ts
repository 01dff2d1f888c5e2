/**
 * Sync after login through the instance (a real instance process, MongoDB-wire server and simnet): contacts, chats
 * and groups stored when the session becomes WORKING; the bounded history import (HISTORY_IMPORT_MESSAGES) with its
 * progress events, idempotent across a reconnect; `GET /v1/chats` filters and cursor, `GET /v1/chats/{id}` with the
 * group's metadata, `POST /v1/chats/{id}/read` (w) — and the records kept current from events.
 */
import WebSocket from 'ws';
import { eventually, startMongo, type MongoServer } from '@wacloud/testenv';
import { startInstance, startSimnet, type RunningInstance, type RunningSimnet } from './harness.js';

const ME = '15550071001';
const BOB = '15550071002';
const CAROL = '15550071003';
const DAVE = '15550071004';
const id = (phone: string) => `${phone}@c.us`;

let mongo: MongoServer;
let simnet: RunningSimnet;
let inst: RunningInstance;
let r: string;
let w: string;
let groupId: string;
const live: Array<{ event: string; data: any }> = [];
let ws: WebSocket;

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  // History the phone has before the device links: Bob wrote 5 times, Carol once; a group with admins.
  for (const [phone, pushname] of [
    [ME, 'Me'],
    [BOB, 'Bob'],
    [CAROL, 'Carol'],
    [DAVE, 'Dave'],
  ]) {
    await simnet.hook('/hooks/accounts', { phone, pushname });
  }
  for (let i = 0; i < 5; i++) await simnet.hook('/hooks/send', { from: BOB, to: ME, text: `bob ${i}` });
  await simnet.hook('/hooks/send', { from: CAROL, to: ME, text: 'carol 0' });
  const group = await simnet.hook<{ id: string }>('/hooks/groups', {
    name: 'Team',
    owner: CAROL,
    participants: [ME, BOB],
    description: 'the team',
    admins: [ME],
  });
  groupId = group.body.id;
  await simnet.hook('/hooks/send', { from: BOB, to: groupId, text: 'hi team' });
  await simnet.hook('/hooks/chats/flags', { phone: ME, chatId: id(CAROL), archived: true, pinned: true });

  inst = await startInstance({ mongo, simnetUrl: simnet.url, env: { HISTORY_IMPORT_MESSAGES: '3' } });
  r = await inst.token('r');
  w = await inst.token('w');
  ws = await new Promise<WebSocket>((resolve, reject) => {
    const s = new WebSocket(`${inst.publicUrl.replace('http', 'ws')}/v1/events?token=${r}`);
    s.on('message', (d) => live.push(JSON.parse(d.toString())));
    s.once('open', () => resolve(s));
    s.once('error', reject);
  });
  const login = await inst.api('POST', '/v1/session/login', { token: w });
  expect((await simnet.hook('/hooks/scan', { qr: login.body.qr, phone: ME })).status).toBe(200);
}, 90_000);

afterAll(async () => {
  ws?.close();
  await inst?.stop();
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

const doneSyncs = () => live.filter((e) => e.event === 'sync.progress' && e.data.phase === 'done');
const messagesOf = async (chatId: string) =>
  (await inst.api('GET', `/v1/messages?chatId=${encodeURIComponent(chatId)}`, { token: r })).body.items.map((m: any) => m.body);

test('after the login: contacts, chats and groups stored, the newest N messages per chat imported, progress as events', async () => {
  const done = await eventually(() => doneSyncs()[0], 30_000);
  expect(done.data).toMatchObject({ phase: 'done', chats: 3, groups: 1, historyChats: 3, messagesImported: 3 + 1 + 1 });
  const phases = live.filter((e) => e.event === 'sync.progress').map((e) => e.data.phase);
  expect(phases.slice(0, 4)).toEqual(['contacts', 'chats', 'groups', 'history']);

  expect(await messagesOf(id(BOB))).toEqual(['bob 4', 'bob 3', 'bob 2']);
  expect(await messagesOf(groupId)).toEqual(['hi team']);
  const contacts = (await inst.api('GET', '/v1/contacts', { token: r })).body.items;
  expect(contacts).toContainEqual(expect.objectContaining({ id: id(BOB), pushname: 'Bob', isGroup: false }));
  expect(contacts).toContainEqual(expect.objectContaining({ id: groupId, name: 'Team', isGroup: true }));

  const chats = (await inst.api('GET', '/v1/chats', { token: r })).body;
  expect(chats.nextCursor).toBeNull();
  expect(chats.items.map((c: any) => c.id)).toEqual([groupId, id(CAROL), id(BOB)]);
  expect(chats.items[2]).toMatchObject({
    id: id(BOB),
    name: 'Bob',
    isGroup: false,
    unreadCount: 5,
    archived: false,
    pinned: false,
    muted: false,
    lastMessage: { body: 'bob 4', fromMe: false, author: id(BOB), type: 'chat' },
  });
  expect(chats.items[1]).toMatchObject({ id: id(CAROL), archived: true, pinned: true, unreadCount: 1 });
});

test('GET /v1/chats filters (q, isGroup, unread, archived) and walks pages with the cursor', async () => {
  const ids = async (query: string) => (await inst.api('GET', `/v1/chats?${query}`, { token: r })).body.items.map((c: any) => c.id);
  expect(await ids('isGroup=true')).toEqual([groupId]);
  expect(await ids('isGroup=false')).toEqual([id(CAROL), id(BOB)]);
  expect(await ids('archived=true')).toEqual([id(CAROL)]);
  expect(await ids('archived=false')).toEqual([groupId, id(BOB)]);
  expect(await ids('q=bo')).toEqual([id(BOB)]);
  expect(await ids(`q=${CAROL.slice(-4)}`)).toEqual([id(CAROL)]);
  expect(await ids('unread=true')).toEqual([groupId, id(CAROL), id(BOB)]);
  expect(await ids('unread=false')).toEqual([]);

  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: any = (await inst.api('GET', `/v1/chats?limit=1${cursor ? `&cursor=${cursor}` : ''}`, { token: r })).body;
    seen.push(...page.items.map((c: any) => c.id));
    cursor = page.nextCursor;
  } while (cursor);
  expect(seen).toEqual([groupId, id(CAROL), id(BOB)]);

  const bad = await inst.api('GET', '/v1/chats?cursor=nonsense', { token: r });
  expect([bad.status, bad.body.error.code]).toEqual([422, 'invalid_cursor']);
  const badFilter = await inst.api('GET', '/v1/chats?unread=maybe', { token: r });
  expect([badFilter.status, badFilter.body.error.code]).toEqual([400, 'invalid_request']);
});

test("GET /v1/chats/{id}: a group's subject, description, owner and participants with admin flags; unknown → 404", async () => {
  const got = await inst.api('GET', `/v1/chats/${groupId}`, { token: r });
  expect(got.status).toBe(200);
  expect(got.body).toMatchObject({
    id: groupId,
    name: 'Team',
    isGroup: true,
    group: { subject: 'Team', description: 'the team', owner: id(CAROL) },
  });
  expect(got.body.group.participants).toEqual(
    expect.arrayContaining([
      { id: id(CAROL), isAdmin: true, isSuperAdmin: true },
      { id: id(ME), isAdmin: true, isSuperAdmin: false },
      { id: id(BOB), isAdmin: false, isSuperAdmin: false },
    ]),
  );
  const missing = await inst.api('GET', '/v1/chats/15550079999@c.us', { token: r });
  expect([missing.status, missing.body.error.code]).toEqual([404, 'chat_not_found']);
  expect((await inst.api('GET', '/v1/chats/not-an-id', { token: r })).status).toBe(400);
});

test('POST /v1/chats/{id}/read (w) marks the chat read on WhatsApp: unread 0, blue ticks for the sender', async () => {
  expect((await inst.api('POST', `/v1/chats/${id(BOB)}/read`, { token: r })).status).toBe(403);
  const read = await inst.api('POST', `/v1/chats/${id(BOB)}/read`, { token: w });
  expect(read.status).toBe(200);
  expect(read.body).toMatchObject({ id: id(BOB), unreadCount: 0 });
  const sent = await simnet.hook<{ messages: Array<{ body: string; ack: number }> }>(`/hooks/accounts/${BOB}/sent`);
  expect(sent.body.messages.filter((m) => m.body.startsWith('bob ')).every((m) => m.ack === 3)).toBe(true);
  expect((await inst.api('GET', `/v1/chats?unread=false`, { token: r })).body.items.map((c: any) => c.id)).toEqual([id(BOB)]);
  const missing = await inst.api('POST', '/v1/chats/15550079999@c.us/read', { token: w });
  expect([missing.status, missing.body.error.code]).toEqual([404, 'chat_not_found']);
});

test('kept current from events: a member adds and promotes someone, the phone archives a chat, a new message arrives', async () => {
  await simnet.hook('/hooks/groups/update', { phone: CAROL, groupId, add: [DAVE], subject: 'Team 2' });
  await simnet.hook('/hooks/groups/update', { phone: CAROL, groupId, promote: [DAVE] });
  await eventually(async () => {
    const g = (await inst.api('GET', `/v1/chats/${groupId}`, { token: r })).body;
    return g.name === 'Team 2' && g.group.subject === 'Team 2' && g.group.participants.some((p: any) => p.id === id(DAVE) && p.isAdmin);
  });
  await simnet.hook('/hooks/chats/flags', { phone: ME, chatId: id(BOB), archived: true });
  await eventually(async () => (await inst.api('GET', `/v1/chats/${id(BOB)}`, { token: r })).body.archived === true);
  await simnet.hook('/hooks/send', { from: BOB, to: ME, text: 'bob 5' });
  await eventually(async () => {
    const c = (await inst.api('GET', `/v1/chats/${id(BOB)}`, { token: r })).body;
    return c.unreadCount === 1 && c.lastMessage?.body === 'bob 5';
  });
});

test('a reconnect syncs again and imports nothing twice', async () => {
  const before = (await inst.api('GET', '/v1/stats', { token: r })).body.totals;
  const syncs = doneSyncs().length;
  await simnet.hook('/hooks/disconnect', { phone: ME });
  const again = await eventually(() => doneSyncs()[syncs], 30_000);
  expect(again.data).toMatchObject({ phase: 'done', messagesImported: 0 });
  expect((await inst.api('GET', '/v1/stats', { token: r })).body.totals).toEqual(before);
  expect(await messagesOf(id(BOB))).toEqual(['bob 5', 'bob 4', 'bob 3', 'bob 2']);
});

test('marking a chat read without a logged-in session → 409 session_not_ready; the stored chats stay readable', async () => {
  await inst.api('POST', '/v1/session/logout', { token: w });
  const res = await inst.api('POST', `/v1/chats/${id(BOB)}/read`, { token: w });
  expect([res.status, res.body.error.code]).toEqual([409, 'session_not_ready']);
  expect((await inst.api('GET', '/v1/chats', { token: r })).body.items).toHaveLength(3);
});
