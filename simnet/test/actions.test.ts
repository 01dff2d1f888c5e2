/**
 * Message actions, presence and group administration on the simulated network through its phone hooks: the rules
 * (author only, tombstones, admins only, all or nothing) with their HTTP statuses and stable codes.
 */
import { createSimnetServer, type SimnetServer } from '../src/index.js';
import { hook } from './device.js';

let server: SimnetServer;
const [ANN, BEN, CAT] = ['15550002001', '15550002002', '15550002003'];

beforeAll(async () => {
  server = await createSimnetServer({ port: 0 });
  for (const phone of [ANN, BEN, CAT]) await hook(server.url, 'POST', '/accounts', { phone });
});
afterAll(() => server.close());

const post = (p: string, body: unknown) => hook(server.url, 'POST', p, body);
const codeOf = (r: { status: number; body: any }) => [r.status, r.body?.error?.code];

test('react, edit, revoke: author only, a tombstone stays, nothing more after it', async () => {
  const sent = (await post('/send', { from: ANN, to: BEN, text: 'hello' })).body.message;
  expect((await post('/react', { phone: BEN, messageId: sent.id, reaction: '👍' })).status).toBe(200);
  expect(codeOf(await post('/edit', { phone: BEN, messageId: sent.id, text: 'mine' }))).toEqual([403, 'not_own_message']);
  expect((await post('/edit', { phone: ANN, messageId: sent.id, text: 'hello!' })).body.edit).toMatchObject({ body: 'hello!' });
  const seen = (await hook(server.url, 'GET', `/accounts/${BEN}/messages/${encodeURIComponent(sent.id)}`)).body.message;
  expect(seen).toMatchObject({ body: 'hello!', reactions: { [`${BEN}@c.us`]: '👍' }, editedAt: expect.any(Number) });

  expect((await post('/revoke', { phone: ANN, messageId: sent.id })).status).toBe(200);
  const gone = (await hook(server.url, 'GET', `/accounts/${BEN}/messages/${encodeURIComponent(sent.id)}`)).body.message;
  expect(gone).toMatchObject({ type: 'revoked', body: '', reactions: {}, revokedAt: expect.any(Number) });
  expect(codeOf(await post('/react', { phone: BEN, messageId: sent.id, reaction: '👍' }))).toEqual([409, 'message_revoked']);
  expect(codeOf(await post('/forward', { phone: BEN, messageId: sent.id, to: CAT }))).toEqual([409, 'message_revoked']);
  expect(codeOf(await post('/react', { phone: CAT, messageId: sent.id, reaction: '👍' }))).toEqual([404, 'message_not_found']);
});

test('groups: admins only, all or nothing, the creator stays', async () => {
  const id = (await post('/groups', { name: 'G', owner: ANN, participants: [BEN] })).body.id;
  const act = (phone: string, body: object) => post(`/groups/${encodeURIComponent(id)}/actions`, { phone, ...body });
  expect(codeOf(await act(BEN, { action: 'subject', subject: 'mine' }))).toEqual([403, 'not_group_admin']);
  expect(codeOf(await act(CAT, { action: 'leave' }))).toEqual([404, 'group_not_found']);
  expect(codeOf(await act(ANN, { action: 'add', participants: [CAT, '19999999999'] }))).toEqual([422, 'number_not_on_whatsapp']);
  expect(codeOf(await act(ANN, { action: 'remove', participants: [CAT] }))).toEqual([422, 'not_a_participant']);
  expect((await act(ANN, { action: 'promote', participants: [BEN] })).status).toBe(200);
  expect(codeOf(await act(BEN, { action: 'demote', participants: [ANN] }))).toEqual([403, 'cannot_change_owner']);
  const group = (await hook(server.url, 'GET', `/accounts/${BEN}/groups/${encodeURIComponent(id)}`)).body.group;
  expect(group).toMatchObject({ subject: 'G', owner: `${ANN}@c.us` });
  expect(group.participants).toEqual([
    { id: `${ANN}@c.us`, isAdmin: true, isSuperAdmin: true },
    { id: `${BEN}@c.us`, isAdmin: true, isSuperAdmin: false },
  ]);
});
