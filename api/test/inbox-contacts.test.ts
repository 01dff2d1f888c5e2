/**
 * Issue 16 §4 (tags shown in the inbox), against real servers (the api process, an instance logged in on the
 * simulated network, MongoDB-wire): the conversation list and one conversation carry the chat's contact from the
 * book — the imported name over WhatsApp's push name, its tags with names and colours — and null for a chat with no
 * contact, a group, or a contact not linked to the conversation's instance; the contacts of a page are read in one
 * batch (one `find` on `contacts`, one on `contact_tags`), never one read per conversation.
 *
 * Conversations come from instance events: the test process runs the inbox's event handler on the api's database
 * (as inbox-rules.test.ts does).
 */
import mongoose from 'mongoose';
import { eventually, startMongo, type MongoServer } from '@wacloud/testenv';
import { startSimnet, type RunningSimnet } from '../../instance/test/harness.js';
import { ContactSummaries } from '../src/inbox/contact-summary.js';
import { InboxEvents } from '../src/inbox/events.js';
import { openInboxStore, type InboxStore } from '../src/inbox/store.js';
import type { LiveEventInput, LiveLog } from '../src/live/live-log.js';
import { startApiProcess, tenant, type RunningApi } from './harness.js';
import { messageAnyEvent } from './inbox-events.js';

let mongo: MongoServer;
let simnet: RunningSimnet;
let api: RunningApi;
let db: mongoose.Connection;
let inbox: InboxStore;
let events: InboxEvents;
let owner: string;
let orgId: string;
let a: string; // instance A, logged in as +1 202 555 0201: its contacts are synced
let b: string; // instance B, never logged in: no contact is linked to it

const PAULA = '12025550211@c.us'; // imported as "Paula Pereira" with tags vip and lead
const RITA = '12025550213@c.us'; // on WhatsApp only (push name Rita)
const STRANGER = '12025550999@c.us'; // not in the book
const GROUP = '120363000000000001@g.us';

class NoLiveLog implements LiveLog {
  append(_e: LiveEventInput): Promise<number> {
    return Promise.resolve(1);
  }
}

async function running(id: string, state: string): Promise<void> {
  await eventually(async () => {
    const v = (await api.call('GET', `/v1/instances/${id}`, { token: owner })).body;
    return v.phase === 'Running' && v.sessionState === state;
  }, 60_000);
}

/** Hands the handler an inbound `message.any` event of `instanceId` in `chatId`. */
async function inbound(instanceId: string, chatId: string, body: string): Promise<void> {
  await events.handler(messageAnyEvent(instanceId, orgId, chatId, { fromMe: false, body }).event);
}

async function list(query = ''): Promise<any[]> {
  const r = await api.call('GET', `/v1/conversations?assignee=any${query}`, { token: owner });
  expect(r.status).toBe(200);
  return r.body.items;
}

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  api = await startApiProcess({ mongo, simnetUrl: simnet.url, env: { BILLING_CRON: 'false', CONTACTS_SYNC_INTERVAL_S: '0' } });
  db = await mongoose.createConnection(api.env.MONGODB_URI!).asPromise();
  inbox = await openInboxStore(db.db!);
  events = new InboxEvents(inbox, new NoLiveLog());
  owner = await tenant(api, 'inbox-contacts@example.com', 10_000);
  orgId = (await api.call('GET', '/v1/me', { token: owner })).body.organisationId;
  for (const p of [
    { phone: '12025550211', pushname: 'Paula' },
    { phone: '12025550213', pushname: 'Rita' },
  ])
    expect((await simnet.hook('/hooks/accounts', p)).status).toBe(201);
  const create = async (name: string) => {
    const r = await api.call('POST', '/v1/instances', { token: owner, body: { name } });
    expect(r.status).toBe(201);
    return r.body.id as string;
  };
  [a, b] = await Promise.all([create('A'), create('B')]);
  await running(a, 'STOPPED');
  const login = await api.call('POST', `/v1/instances/${a}/api/v1/session/login`, { token: owner });
  expect(login.status).toBe(200);
  expect((await simnet.hook('/hooks/scan', { qr: login.body.qr, phone: '12025550201' })).status).toBe(200);
  await running(a, 'WORKING');
  await eventually(async () => {
    const r = await api.call('POST', '/v1/contacts/sync', { token: owner, body: { instanceId: a } });
    return r.status === 200 && r.body.seen >= 2;
  }, 30_000);
  const table = 'name,phone,tags\nPaula Pereira,+1 202 555 0211,vip; lead\n';
  const up = await api.call('POST', '/v1/contact-imports', { token: owner, body: { format: 'csv', content: table } });
  expect(up.status).toBe(201);
  const commit = await api.call('POST', `/v1/contact-imports/${up.body.id}/commit`, {
    token: owner,
    body: { mapping: { name: 'name', phone: 'phone', tags: 'tags' } },
  });
  expect(commit.body).toMatchObject({ updated: 1, matchedWhatsApp: 1 });
}, 180_000);

afterAll(async () => {
  for (const id of [a, b]) if (id) await api?.call('DELETE', `/v1/instances/${id}`, { token: owner }).catch(() => {});
  await db?.close();
  await api?.stop();
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

test("the list and one conversation carry the chat's contact: the imported name, its tags with colours; null without one", async () => {
  await inbound(a, PAULA, 'where is my order?');
  await inbound(a, RITA, 'hello');
  await inbound(a, STRANGER, 'who is this?');
  await inbound(a, GROUP, 'hi all');
  await inbound(b, PAULA, 'on the other number'); // Paula's contact is not linked to B (B never synced)

  const catalogue = (await api.call('GET', '/v1/contact-tags', { token: owner })).body.items as Array<{
    id: string;
    name: string;
    color: string;
  }>;
  const tag = (name: string) => {
    const t = catalogue.find((x) => x.name === name)!;
    return { id: t.id, name: t.name, color: t.color };
  };
  const paulaId = (await api.call('GET', `/v1/contacts/by-chat?instanceId=${a}&chatId=${PAULA}`, { token: owner })).body.id;
  const items = await list();
  const of = (instanceId: string, chatId: string) => items.find((c) => c.instanceId === instanceId && c.chatId === chatId);
  // The conversation's own name is what WhatsApp gave (here the number); the contact brings the book's.
  expect(of(a, PAULA)).toMatchObject({
    name: '+12025550211',
    contact: { id: paulaId, displayName: 'Paula Pereira', tags: [tag('lead'), tag('vip')] },
  });
  expect(tag('vip').color).toMatch(/^#[0-9a-f]{6}$/i);
  expect(of(a, RITA)).toMatchObject({ contact: { displayName: 'Rita', tags: [] } });
  expect(of(a, STRANGER).contact).toBeNull();
  expect(of(a, GROUP).contact).toBeNull();
  expect(of(b, PAULA).contact).toBeNull();

  const one = await api.call('GET', `/v1/conversations/${of(a, PAULA).id}`, { token: owner });
  expect(one.status).toBe(200);
  expect(one.body.contact).toEqual(of(a, PAULA).contact);

  // A bulk tagging shows in the next list.
  const newsletter = await api.call('POST', '/v1/contact-tags', { token: owner, body: { name: 'newsletter', color: '#123456' } });
  const ritaId = of(a, RITA).contact.id;
  const bulk = await api.call('POST', '/v1/contacts/bulk-tag', {
    token: owner,
    body: { contactIds: [paulaId, ritaId], add: [newsletter.body.id] },
  });
  expect(bulk.body).toEqual({ updated: 2, skipped: 0 });
  const after = await list(`&instanceId=${a}`);
  expect(after.find((c) => c.chatId === RITA).contact.tags).toEqual([{ id: newsletter.body.id, name: 'newsletter', color: '#123456' }]);
  expect(after.find((c) => c.chatId === PAULA).contact.tags.map((t: { name: string }) => t.name)).toEqual(['lead', 'newsletter', 'vip']);
  // And a bulk removal ($pull with $in answered "modified" on FerretDB and removed nothing).
  const removed = await api.call('POST', '/v1/contacts/bulk-tag', {
    token: owner,
    body: { contactIds: [paulaId, ritaId], remove: [newsletter.body.id] },
  });
  expect(removed.body).toEqual({ updated: 2, skipped: 0 });
  const again = await list(`&instanceId=${a}`);
  expect(again.find((c) => c.chatId === RITA).contact.tags).toEqual([]);
  expect(again.find((c) => c.chatId === PAULA).contact.tags.map((t: { name: string }) => t.name)).toEqual(['lead', 'vip']);
});

test('the contacts of a page of conversations are read by _id only (one claim per chat, one read per contact found, one of the tags): never a scan of the book', async () => {
  const chats = Array.from({ length: 30 }, (_, i) => `1202555${String(1000 + i)}@c.us`);
  const items = [...chats, PAULA, RITA].map((chatId) => ({ instanceId: a, chatId, isGroup: false }));
  const monitored = await mongoose.createConnection(api.env.MONGODB_URI!, { monitorCommands: true }).asPromise();
  const finds: Array<{ on: string; filter: Record<string, unknown> }> = [];
  monitored.getClient().on('commandStarted', (e) => {
    if (e.commandName === 'find') finds.push({ on: String(e.command.find), filter: e.command.filter as Record<string, unknown> });
  });
  try {
    const out = await new ContactSummaries(monitored.db!).attach(orgId, items);
    expect(out.filter((c) => c.contact).map((c) => c.contact!.displayName)).toEqual(['Paula Pereira', 'Rita']);
    const on = (name: string) => finds.filter((f) => f.on === name);
    expect(on('contact_keys')).toHaveLength(32);
    expect(on('contacts')).toHaveLength(2);
    expect(on('contact_tags').length).toBeLessThanOrEqual(1);
    expect(finds).toHaveLength(on('contact_keys').length + on('contacts').length + on('contact_tags').length);
    // The keys and the contacts by _id equality alone: index reads on every server (FerretDB pushes $in and nested
    // paths down on none of its backends, so `{orgId, 'identities.waId': {$in}}` decoded the whole book).
    for (const f of [...on('contact_keys'), ...on('contacts')]) {
      expect(Object.keys(f.filter)).toEqual(['_id']);
      expect(typeof f.filter._id).toBe('string');
    }
    // A page without user chats (groups only) reads nothing.
    finds.length = 0;
    await new ContactSummaries(monitored.db!).attach(orgId, [{ instanceId: a, chatId: GROUP, isGroup: true }]);
    expect(finds).toEqual([]);
  } finally {
    await monitored.close();
  }
});

test("a conversation.created live event carries the chat's contact (one by one and in a batch): an inbox open when it appears names it from the book", async () => {
  const recorded: LiveEventInput[] = [];
  const recording: LiveLog = {
    append: (e) => (recorded.push(e), Promise.resolve(recorded.length)),
  };
  const withContacts = new InboxEvents(inbox, recording, undefined, new ContactSummaries(db.db!));
  const created = () =>
    recorded
      .filter((e) => e.type === 'conversation.created')
      .map((e) => e.data as { chatId: string; contact: { displayName: string } | null });
  // One by one: Paula (in the book, linked to A) and a stranger.
  await inbox.conversations.deleteMany({ chatId: { $in: [PAULA, STRANGER] } });
  for (const chat of [PAULA, STRANGER])
    await withContacts.handler(messageAnyEvent(a, orgId, chat, { fromMe: false, body: `hello ${chat}` }).event);
  expect(created().map((d) => [d.chatId, d.contact?.displayName ?? null])).toEqual([
    [PAULA, 'Paula Pereira'],
    [STRANGER, null],
  ]);
  // In a batch (the api subscription's delivery): the same.
  recorded.length = 0;
  await inbox.conversations.deleteMany({ chatId: { $in: [PAULA, STRANGER] } });
  const run = [PAULA, STRANGER, PAULA].map((chat, i) => messageAnyEvent(a, orgId, chat, { fromMe: false, body: `batch ${i}` }).event);
  expect(await withContacts.handler.batch!(run)).toBe(3);
  expect(created().map((d) => [d.chatId, d.contact?.displayName ?? null])).toEqual([
    [PAULA, 'Paula Pereira'],
    [STRANGER, null],
  ]);
  const paula = created().find((d) => d.chatId === PAULA)!.contact as unknown as { tags: Array<{ name: string }> };
  expect(paula.tags.map((t) => t.name)).toEqual(['lead', 'vip']);
});
