/**
 * Group administration through the instance's public API, on a real instance process, MongoDB-wire server and
 * simulated network: create, subject / description, participants, the invite link, leave; changes sent as
 * `group.update` webhooks and the stored group contact kept current; refusals (not an admin, unknown group, not on
 * WhatsApp, not a participant, scopes) with stable codes and nothing changed.
 */
import { eventually } from '@wacloud/testenv';
import { loginWithQr, startReceiver, withInstanceOnSimnet, type WebhookReceiver } from './harness.js';

const ME = '15557320001';
const [ANN, BEN, CID, DEE] = ['15557320002', '15557320003', '15557320004', '15557320005'];
const id = (p: string) => `${p}@c.us`;

const env = withInstanceOnSimnet();
let receiver: WebhookReceiver;
let w: string;
let r: string;

beforeAll(async () => {
  w = await env.inst.token('w');
  r = await env.inst.token('r');
  receiver = await startReceiver();
  const hook = { url: receiver.url, secret: 'groups-webhook-secret-0123', events: ['group.update'] };
  expect((await env.inst.internal('PUT', '/internal/v1/webhook', hook)).status).toBe(200);
  for (const phone of [ANN, BEN, CID, DEE]) await env.simnet.hook('/hooks/accounts', { phone, pushname: `User ${phone}` });
  await loginWithQr(env.inst, env.simnet, ME, w);
}, 60_000);

afterAll(async () => {
  await receiver?.close();
});

const api = (method: string, p: string, body?: unknown, token = w) => env.inst.api(method, p, { token, body });
const g = (groupId: string) => `/v1/groups/${encodeURIComponent(groupId)}`;
const seenBy = async (phone: string, groupId: string) =>
  (await env.simnet.hook<{ group: any }>(`/hooks/accounts/${phone}/groups/${encodeURIComponent(groupId)}`)).body.group;
const memberIds = (group: { participants: Array<{ id: string }> }) => group.participants.map((p) => p.id).sort();

test('create, rename, describe, add / promote / demote / remove, invite link, leave', async () => {
  const created = await api('POST', '/v1/groups', { subject: 'Launch', participants: [ANN, id(BEN)] });
  expect(created.status).toBe(201);
  const groupId: string = created.body.id;
  expect(created.body).toMatchObject({ subject: 'Launch', owner: id(ME) });
  expect(memberIds(created.body)).toEqual([id(ANN), id(BEN), id(ME)].sort());
  await eventually(async () => (await api('GET', `/v1/contacts/${groupId}`, undefined, r)).body.participants?.length === 3);

  const updated = await api('PATCH', g(groupId), { subject: 'Launch day', description: 'Friday 10:00' });
  expect(updated.body).toMatchObject({ subject: 'Launch day', description: 'Friday 10:00' });
  expect(await seenBy(ANN, groupId)).toMatchObject({ subject: 'Launch day', description: 'Friday 10:00' });

  expect(memberIds((await api('POST', `${g(groupId)}/participants/add`, { participants: [CID] })).body)).toContain(id(CID));
  const promoted = await api('POST', `${g(groupId)}/participants/promote`, { participants: [id(ANN)] });
  expect(promoted.body.participants.find((p: any) => p.id === id(ANN))).toMatchObject({ isAdmin: true, isSuperAdmin: false });
  const demoted = await api('POST', `${g(groupId)}/participants/demote`, { participants: [ANN] });
  expect(demoted.body.participants.find((p: any) => p.id === id(ANN)).isAdmin).toBe(false);
  const removed = await api('POST', `${g(groupId)}/participants/remove`, { participants: [BEN] });
  expect(memberIds(removed.body)).toEqual([id(ANN), id(CID), id(ME)].sort());
  expect(memberIds(await seenBy(CID, groupId))).toEqual(memberIds(removed.body));
  await eventually(async () => (await api('GET', `/v1/contacts/${groupId}`, undefined, r)).body.name === 'Launch day');
  await eventually(async () => !(await api('GET', `/v1/contacts/${groupId}`, undefined, r)).body.participants.includes(id(BEN)));

  const invite = await api('GET', `${g(groupId)}/invite`, undefined, r);
  expect(invite.status).toBe(200);
  expect(invite.body.link).toBe(`https://chat.whatsapp.com/${invite.body.code}`);
  expect((await api('GET', `${g(groupId)}/invite`, undefined, w)).status).toBe(403);
  const fresh = await api('POST', `${g(groupId)}/invite/revoke`);
  expect(fresh.body.code).not.toBe(invite.body.code);
  expect((await api('GET', `${g(groupId)}/invite`, undefined, r)).body.code).toBe(fresh.body.code);

  await eventually(() => {
    const actions = receiver.received.filter((d) => d.body.payload.groupId === groupId).map((d) => d.body.payload.action);
    return ['create', 'subject', 'description', 'add', 'promote', 'demote', 'remove', 'invite_revoked'].every((a) => actions.includes(a));
  });
  const subject = receiver.received.find((d) => d.body.payload.groupId === groupId && d.body.payload.action === 'subject');
  expect(subject!.body).toMatchObject({ event: 'group.update', payload: { actor: id(ME), subject: 'Launch day' } });

  expect((await api('POST', `${g(groupId)}/leave`)).body).toEqual({ id: groupId, left: true });
  expect(memberIds(await seenBy(ANN, groupId))).toEqual([id(ANN), id(CID)].sort());
  expect((await api('PATCH', g(groupId), { subject: 'still mine?' })).body.error.code).toBe('group_not_found');
});

test('refused with stable codes and nothing changed', async () => {
  // A group Dee made, with the account as a plain member.
  const made = await env.simnet.hook<{ id: string }>('/hooks/groups', { name: "Dee's", owner: DEE, participants: [ME, ANN] });
  const theirs = made.body.id;
  await eventually(async () => (await api('GET', `/v1/contacts/${theirs}`, undefined, r)).status === 200);
  for (const res of [
    await api('PATCH', g(theirs), { subject: 'taken over' }),
    await api('POST', `${g(theirs)}/participants/remove`, { participants: [ANN] }),
    await api('GET', `${g(theirs)}/invite`, undefined, r),
  ]) {
    expect([res.status, res.body.error.code]).toEqual([403, 'not_group_admin']);
  }
  expect(await seenBy(DEE, theirs)).toMatchObject({ subject: "Dee's" });
  expect(memberIds(await seenBy(DEE, theirs))).toEqual([id(ANN), id(DEE), id(ME)].sort());

  const own = (await api('POST', '/v1/groups', { subject: 'Mine', participants: [ANN] })).body.id;
  const notOnWa = await api('POST', `${g(own)}/participants/add`, { participants: [BEN, '19999999999'] });
  expect([notOnWa.status, notOnWa.body.error.code]).toEqual([422, 'number_not_on_whatsapp']);
  const notIn = await api('POST', `${g(own)}/participants/demote`, { participants: [CID] });
  expect([notIn.status, notIn.body.error.code]).toEqual([422, 'not_a_participant']);
  expect(memberIds(await seenBy(ANN, own))).toEqual([id(ANN), id(ME)].sort());
  const noGroup = await api('POST', '/v1/groups', { subject: 'Ghosts', participants: ['19999999998'] });
  expect([noGroup.status, noGroup.body.error.code]).toEqual([422, 'number_not_on_whatsapp']);

  expect((await api('PATCH', g('120363000000000000001@g.us'), { subject: 'x' })).body.error.code).toBe('group_not_found');
  expect((await api('PATCH', g('not-a-group'), { subject: 'x' })).status).toBe(400);
  expect((await api('PATCH', g(own), {})).status).toBe(400);
  expect((await api('POST', `${g(own)}/participants/kick`, { participants: [ANN] })).status).toBe(400);
  expect((await api('POST', '/v1/groups', { subject: 'x', participants: [ANN] }, r)).status).toBe(403);
  expect((await api('POST', '/v1/groups', { subject: '', participants: [ANN] })).status).toBe(400);
});
