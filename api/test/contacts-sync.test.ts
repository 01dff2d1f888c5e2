/**
 * Issue 16, contacts synced from WhatsApp, against real servers (the api, two instance processes logged in on the
 * simulated network, MongoDB-wire): the same person on two instances and in an imported table is one contact,
 * whatever the order; the import preview counts the rows matched to WhatsApp contacts; a member sees the contacts of
 * the instances it can read plus the unlinked ones, and edits with canWrite only; imports are for owners and admins.
 */
import { eventually, startMongo, type MongoServer } from '@wacloud/testenv';
import { startSimnet, type RunningSimnet } from '../../instance/test/harness.js';
import { startApiProcess, tenant, type RunningApi } from './harness.js';

let mongo: MongoServer;
let simnet: RunningSimnet;
let api: RunningApi;
let owner: string;
let a: string; // instance A, logged in as +1 202 555 0101
let b: string; // instance B, logged in as +1 202 555 0102

/** People on the simulated network: every account sees every other one as a contact. */
const PEOPLE = [
  { phone: '12025550111', pushname: 'Paula' },
  { phone: '12025550112', pushname: 'Quentin' },
  { phone: '12025550113', pushname: 'Rita' },
];

const code = (r: { body: any }) => r.body?.error?.code as string | undefined;

async function running(id: string, state: string): Promise<void> {
  await eventually(async () => {
    const v = (await api.call('GET', `/v1/instances/${id}`, { token: owner })).body;
    return v.phase === 'Running' && v.sessionState === state;
  }, 60_000);
}

async function loginAs(id: string, phone: string): Promise<void> {
  await running(id, 'STOPPED');
  const login = await api.call('POST', `/v1/instances/${id}/api/v1/session/login`, { token: owner });
  expect(login.status).toBe(200);
  expect((await simnet.hook('/hooks/scan', { qr: login.body.qr, phone })).status).toBe(200);
  await running(id, 'WORKING');
}

/** Pulls instance `id` until it reported at least `n` users (the instance's own sync after login takes a moment). */
async function syncUntil(id: string, n: number): Promise<any> {
  let last: any;
  await eventually(async () => {
    last = await api.call('POST', '/v1/contacts/sync', { token: owner, body: { instanceId: id } });
    return last.status === 200 && last.body.seen >= n;
  }, 30_000).catch((err: Error) => {
    throw new Error(`${err.message}; the last pull answered ${last?.status} ${JSON.stringify(last?.body)}`);
  });
  return last.body;
}

async function contacts(token: string, q = ''): Promise<any[]> {
  const r = await api.call('GET', `/v1/contacts${q}`, { token });
  expect(r.status).toBe(200);
  return r.body.items;
}

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  api = await startApiProcess({ mongo, simnetUrl: simnet.url, env: { BILLING_CRON: 'false', CONTACTS_SYNC_INTERVAL_S: '0' } });
  owner = await tenant(api, 'sync-owner@example.com', 10_000);
  for (const p of PEOPLE) expect((await simnet.hook('/hooks/accounts', p)).status).toBe(201);
  const create = async (name: string) => {
    const r = await api.call('POST', '/v1/instances', { token: owner, body: { name } });
    expect(r.status).toBe(201);
    return r.body.id as string;
  };
  const table = 'name,phone,crm\nPaula Pereira,+1 202 555 0111,p1\n';
  const up = await api.call('POST', '/v1/contact-imports', { token: owner, body: { format: 'csv', content: table } });
  const mapping = { name: 'name', phone: 'phone', externalId: 'crm' };
  expect((await api.call('POST', `/v1/contact-imports/${up.body.id}/commit`, { token: owner, body: { mapping } })).body.created).toBe(1);
  a = await create('A');
  b = await create('B');
  await loginAs(a, '12025550101');
  await loginAs(b, '12025550102');
}, 180_000);

afterAll(async () => {
  for (const id of [a, b]) if (id) await api?.call('DELETE', `/v1/instances/${id}`, { token: owner }).catch(() => {});
  await api?.stop();
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

test('merge by phone: a person on two instances and in an imported table is one contact, whatever the order', async () => {
  // The import came first for Paula (before the logins: beforeAll); it comes last for Quentin.
  const fromA = await syncUntil(a, PEOPLE.length);
  expect(fromA).toMatchObject({ instanceId: a, seen: PEOPLE.length });
  // B logged in after A: A's account is one of its users too.
  expect(await syncUntil(b, PEOPLE.length + 1)).toMatchObject({ seen: PEOPLE.length + 1 });
  const again = await api.call('POST', '/v1/contacts/sync', { token: owner, body: { instanceId: a } });
  expect(again.body).toMatchObject({ created: 0, updated: 0, unchanged: PEOPLE.length });

  const quentinRows = 'name,phone\nQuentin Q,+12025550112\n';
  const up2 = await api.call('POST', '/v1/contact-imports', { token: owner, body: { format: 'csv', content: quentinRows } });
  const preview = await api.call('POST', `/v1/contact-imports/${up2.body.id}/preview`, {
    token: owner,
    body: { mapping: { name: 'name', phone: 'phone' } },
  });
  expect(preview.body).toMatchObject({ rows: 1, new: 0, updates: 1, matchedWhatsApp: 1 });
  await api.call('POST', `/v1/contact-imports/${up2.body.id}/commit`, {
    token: owner,
    body: { mapping: { name: 'name', phone: 'phone' } },
  });

  const all = await contacts(owner);
  // Paula, Quentin, Rita, and A's account as B sees it.
  expect(all).toHaveLength(PEOPLE.length + 1);
  const paula = all.filter((c) => c.phones.includes('+12025550111'));
  expect(paula).toHaveLength(1);
  expect(paula[0]).toMatchObject({
    displayName: 'Paula Pereira',
    externalId: 'p1',
    source: 'import',
    sources: ['import', 'whatsapp'],
    instanceIds: [a, b].sort(),
  });
  expect(paula[0].identities.map((i: any) => [i.instanceId, i.waId, i.pushname])).toEqual(
    [a, b].sort().map((id) => [id, '12025550111@c.us', 'Paula']),
  );
  const quentin = all.filter((c) => c.phones.includes('+12025550112'));
  expect(quentin).toHaveLength(1);
  expect(quentin[0]).toMatchObject({ displayName: 'Quentin Q', source: 'whatsapp', sources: ['import', 'whatsapp'] });
  const rita = all.find((c) => c.phones.includes('+12025550113'));
  expect(rita).toMatchObject({ displayName: 'Rita', name: null, source: 'whatsapp' });
  // The inbox's contact card.
  const card = await api.call('GET', `/v1/contacts/by-chat?instanceId=${b}&chatId=12025550111@c.us`, { token: owner });
  expect(card.body).toMatchObject({ id: paula[0].id, conversations: expect.any(Array) });
  const none = await api.call('GET', `/v1/contacts/by-chat?instanceId=${b}&chatId=19999999999@c.us`, { token: owner });
  expect([none.status, code(none)]).toEqual([404, 'contact_not_found']);
});

test('rights: an agent sees contacts of instances it reads and unlinked ones, edits with canWrite only, cannot import', async () => {
  const inv = await api.call('POST', '/v1/invitations', { token: owner, body: { email: 'sync-agent@example.com', role: 'agent' } });
  const acc = await api.call('POST', '/v1/invitations/accept', { body: { token: inv.body.token, password: 'correct horse battery' } });
  const agent = acc.body.accessToken as string;
  const agentId = (await api.call('GET', '/v1/me', { token: agent })).body.memberId as string;
  const setRights = (instanceId: string, r: Record<string, boolean>) =>
    api.call('PUT', `/v1/members/${agentId}/rights/${instanceId}`, {
      token: owner,
      body: { canRead: false, canWrite: false, canManageChats: false, ...r },
    });
  const unlinked = await api.call('POST', '/v1/contacts', { token: owner, body: { name: 'Offline Olga', phones: ['+442079460958'] } });
  // Only on instance B: the account of instance A (+1 202 555 0101) as B sees it.
  const onlyB = (await contacts(owner)).find((c) => c.phones.includes('+12025550101'));
  expect(onlyB.instanceIds).toEqual([b]);

  // No rights: only the unlinked contact.
  expect((await contacts(agent)).map((c) => c.id)).toEqual([unlinked.body.id]);
  expect(code(await api.call('GET', `/v1/contacts/${onlyB.id}`, { token: agent }))).toBe('contact_not_found');
  // Read on A: A's contacts (not the one only on B) and the unlinked one; no edit.
  await setRights(a, { canRead: true });
  const seen = await contacts(agent);
  expect(seen.map((c) => c.id)).not.toContain(onlyB.id);
  expect(seen.length).toBe((await contacts(owner)).length - 1);
  const paula = seen.find((c) => c.phones.includes('+12025550111'));
  expect(paula.canEdit).toBe(false);
  const denied = await api.call('PATCH', `/v1/contacts/${paula.id}`, { token: agent, body: { notes: 'x' } });
  expect([denied.status, code(denied)]).toEqual([403, 'right_required']);
  expect(code(await api.call('PATCH', `/v1/contacts/${onlyB.id}`, { token: agent, body: { notes: 'x' } }))).toBe('contact_not_found');
  // Write on A: edits A's contacts.
  await setRights(a, { canRead: true, canWrite: true });
  const edited = await api.call('PATCH', `/v1/contacts/${paula.id}`, { token: agent, body: { notes: 'prefers mornings' } });
  expect([edited.status, edited.body.notes]).toEqual([200, 'prefers mornings']);
  const merge = await api.call('POST', `/v1/contacts/${paula.id}/merge`, { token: agent, body: { contactId: onlyB.id } });
  expect([merge.status, code(merge)]).toEqual([404, 'contact_not_found']);
  // Export holds only what the agent sees.
  const csv = await (await fetch(`${api.url}/v1/contacts/export`, { headers: { authorization: `Bearer ${agent}` } })).text();
  expect(csv).not.toContain(onlyB.id);
  expect(csv).toContain(paula.id);
  // Imports and the sync are for owners and admins.
  const imp = await api.call('POST', '/v1/contact-imports', { token: agent, body: { format: 'csv', content: 'phone\n+12025550111\n' } });
  expect([imp.status, code(imp)]).toEqual([403, 'role_required']);
  const sync = await api.call('POST', '/v1/contacts/sync', { token: agent, body: { instanceId: a } });
  expect([sync.status, code(sync)]).toEqual([403, 'role_required']);
  const syncB = await api.call('POST', '/v1/contacts/sync', { token: agent, body: { instanceId: b } });
  expect([syncB.status, code(syncB)]).toEqual([404, 'instance_not_found']);
});

test('synced after login: a new instance’s WhatsApp contacts reach the book without a manual pull (the ingest’s session.status event)', async () => {
  const r = await api.call('POST', '/v1/instances', { token: owner, body: { name: 'C' } });
  expect(r.status).toBe(201);
  const c = r.body.id as string;
  try {
    await loginAs(c, '12025550103');
    // CONTACTS_SYNC_INTERVAL_S is 0 here: only the event after the login pulls.
    await eventually(async () => {
      const paula = (await contacts(owner)).find((x) => x.phones.includes('+12025550111'));
      return paula?.instanceIds.includes(c);
    }, 60_000);
    const all = await contacts(owner);
    expect(all.filter((x) => x.phones.includes('+12025550111'))).toHaveLength(1);
  } finally {
    await api.call('DELETE', `/v1/instances/${c}`, { token: owner }).catch(() => {});
  }
}, 120_000);
