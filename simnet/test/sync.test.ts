/**
 * The simulated network's sync after login over its wire protocol and hooks: the `groups` and `read` requests, group
 * changes by members (admins only for membership and admin changes) pushed as `group` events, chat flags (only
 * archiving is pushed, as WhatsApp Web only tells that), and the hooks' errors.
 */
import { eventually } from '@wacloud/testenv';
import { createSimnetServer, type SimnetServer } from '../src/index.js';
import { hook, linkedDevice, type TestDevice } from './device.js';

let server: SimnetServer;
const devices: TestDevice[] = [];
beforeEach(async () => {
  server = await createSimnetServer({ port: 0 });
});
afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.close()));
  await server.close();
});

const pushes = (d: TestDevice, kind: string) => d.frames.flatMap((f) => (f.type === 'push' && f.event.kind === kind ? [f.event] : []));

test('groups request and group changes by members: admin flags, pushes to every member, admins only for membership', async () => {
  const { device } = await linkedDevice(server.url, '15550081001', 'Me');
  devices.push(device);
  for (const phone of ['15550081002', '15550081003', '15550081004']) await hook(server.url, 'POST', '/accounts', { phone });
  const created = await hook(server.url, 'POST', '/groups', {
    name: 'G',
    owner: '15550081001',
    participants: ['15550081002', '15550081003'],
    description: 'd',
    admins: ['15550081002'],
  });
  const groupId = created.body.id as string;
  const res = await device.request({ type: 'groups' });
  expect(res).toMatchObject({ ok: true });
  expect((res as { result: { groups: unknown[] } }).result.groups).toEqual([
    {
      id: groupId,
      subject: 'G',
      description: 'd',
      owner: '15550081001@c.us',
      createdAt: expect.any(Number),
      participants: [
        { id: '15550081001@c.us', isAdmin: true, isSuperAdmin: true },
        { id: '15550081002@c.us', isAdmin: true, isSuperAdmin: false },
        { id: '15550081003@c.us', isAdmin: false, isSuperAdmin: false },
      ],
    },
  ]);

  const denied = await hook(server.url, 'POST', '/groups/update', { phone: '15550081003', groupId, add: ['15550081004'] });
  expect([denied.status, denied.body.error?.code]).toEqual([403, 'not_admin']);
  // Anyone may rename (the group's default setting).
  expect((await hook(server.url, 'POST', '/groups/update', { phone: '15550081003', groupId, subject: 'G2' })).status).toBe(200);
  const added = await hook(server.url, 'POST', '/groups/update', {
    phone: '15550081002',
    groupId,
    add: ['15550081004'],
    promote: ['15550081004'],
  });
  expect(added.status).toBe(200);
  await eventually(() =>
    pushes(device, 'group').some(
      (e) => e.kind === 'group' && e.group.subject === 'G2' && e.group.participants.some((p) => p.id === '15550081004@c.us' && p.isAdmin),
    ),
  );
  expect((await hook(server.url, 'GET', '/accounts/15550081004/groups')).body.groups).toHaveLength(1);
  const notMember = await hook(server.url, 'POST', '/groups/update', {
    phone: '15550081001',
    groupId: '120363000000000000@g.us',
    subject: 'x',
  });
  expect([notMember.status, notMember.body.error?.code]).toEqual([404, 'chat_not_found']);
  expect((await hook(server.url, 'POST', '/groups/update', { phone: '15550081001', groupId: 'nonsense' })).status).toBe(400);
});

test('read request zeroes the unread count (chat push, acks 3 to the sender); chat flags: only archiving is pushed', async () => {
  const { device } = await linkedDevice(server.url, '15550082001');
  devices.push(device);
  await hook(server.url, 'POST', '/accounts', { phone: '15550082002' });
  await hook(server.url, 'POST', '/send', { from: '15550082002', to: '15550082001', text: 'a' });
  await hook(server.url, 'POST', '/send', { from: '15550082002', to: '15550082001', text: 'b' });
  await eventually(() => pushes(device, 'chat').some((e) => e.kind === 'chat' && e.chat.unreadCount === 2));
  expect(await device.request({ type: 'read', chatId: '15550082002@c.us' })).toMatchObject({ ok: true });
  await eventually(() => pushes(device, 'chat').some((e) => e.kind === 'chat' && e.chat.unreadCount === 0));
  const sent = await hook(server.url, 'GET', '/accounts/15550082002/sent');
  expect(sent.body.messages.map((m: { ack: number }) => m.ack)).toEqual([3, 3]);
  expect(await device.request({ type: 'read', chatId: '15550089999@c.us' })).toMatchObject({
    ok: false,
    error: { code: 'chat_not_found' },
  });

  const before = pushes(device, 'chat').length;
  await hook(server.url, 'POST', '/chats/flags', { phone: '15550082001', chatId: '15550082002', pinned: true, muted: true });
  await hook(server.url, 'POST', '/chats/flags', { phone: '15550082001', chatId: '15550082002@c.us', archived: true });
  await eventually(() => pushes(device, 'chat').some((e) => e.kind === 'chat' && e.chat.archived === true));
  expect(pushes(device, 'chat').slice(before)).toHaveLength(1);
  const chats = await device.request({ type: 'chats' });
  expect((chats as { result: { chats: unknown[] } }).result.chats).toEqual([
    expect.objectContaining({ archived: true, pinned: true, muted: true, lastMessage: expect.objectContaining({ body: 'b' }) }),
  ]);
  const missing = await hook(server.url, 'POST', '/chats/flags', { phone: '15550082001', chatId: '15550089999', archived: true });
  expect([missing.status, missing.body.error?.code]).toEqual([404, 'chat_not_found']);
});
