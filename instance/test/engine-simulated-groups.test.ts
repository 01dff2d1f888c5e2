/**
 * The `simulated` engine against the simulated WhatsApp network: groups (members, acks per member, who may send), and
 * the engine's robustness. Login, connection failures and messaging: engine-simulated.test.ts.
 */
import { eventually } from '@wacloud/testenv';
import type { EngineError } from '../src/engines/engine.js';
import { ackOf, hook, keyOf, linked, makeEngine, startServer } from './simulated-fixtures.js';

describe('groups', () => {
  it('fans out to every participant with isGroup and author; acks aggregate over recipients', async () => {
    const server = await startServer();
    const alice = await linked(server, '15550000071', 'Alice');
    const bob = await linked(server, '15550000072', 'Bob');
    const outsider = await linked(server, '15550000073');
    await hook(server, 'POST', '/accounts', { phone: '15550000074', pushname: 'Carol' });

    const created = await hook(server, 'POST', '/groups', {
      name: 'Team',
      owner: '15550000071',
      participants: ['15550000072', '15550000074'],
    });
    expect(created.status).toBe(201);
    const groupId = created.body.id as string;
    expect(groupId).toMatch(/^\d+@g\.us$/);
    await eventually(() => bob.rec.chats.some((c) => c.id === groupId && c.isGroup && c.name === 'Team'));
    expect(bob.rec.contacts).toContainEqual(expect.objectContaining({ id: groupId, isGroup: true, name: 'Team' }));

    await bob.engine.stop();
    const sent = await alice.engine.sendText(groupId, 'hello team');
    expect(sent).toMatchObject({ chatId: groupId, isGroup: true, fromMe: true, ack: 1 });
    await new Promise((r) => setTimeout(r, 200));
    // Carol's phone has it, Bob's only device is offline: not yet delivered to everyone.
    expect(ackOf(alice.rec, sent.id)).toBe(0);
    const carolInbox = await hook(server, 'GET', '/accounts/15550000074/messages');
    expect(carolInbox.body.messages).toEqual([
      expect.objectContaining({ chatId: groupId, isGroup: true, author: '15550000071@c.us', body: 'hello team' }),
    ]);

    await bob.engine.start();
    const atBob = await eventually(() => bob.rec.messages.find((m) => m.body === 'hello team'));
    expect(atBob).toMatchObject({
      id: `false_${groupId}_${keyOf(sent.id)}`,
      chatId: groupId,
      isGroup: true,
      fromMe: false,
      author: '15550000071@c.us',
    });
    await eventually(() => ackOf(alice.rec, sent.id) === 2);

    await hook(server, 'POST', '/read', { phone: '15550000072', chatId: groupId });
    await new Promise((r) => setTimeout(r, 200));
    expect(ackOf(alice.rec, sent.id)).toBe(2);
    await hook(server, 'POST', '/read', { phone: '15550000074', chatId: groupId });
    await eventually(() => ackOf(alice.rec, sent.id) === 3);

    // Carol (a phone) answers in the group: authors are kept apart from the chat.
    await hook(server, 'POST', '/send', { from: '15550000074', to: groupId, text: 'hi all' });
    const fromCarol = await eventually(() => alice.rec.messages.find((m) => m.body === 'hi all'));
    expect(fromCarol).toMatchObject({ chatId: groupId, author: '15550000074@c.us', isGroup: true, fromMe: false });

    const notMember = await outsider.engine.sendText(groupId, 'let me in').catch((e: unknown) => e);
    expect((notMember as EngineError).code).toBe('chat_not_found');
    expect(await alice.engine.contacts()).toContainEqual({
      id: groupId,
      name: 'Team',
      isGroup: true,
      participants: ['15550000071@c.us', '15550000072@c.us', '15550000074@c.us'],
    });
    expect((await alice.engine.chats()).map((c) => c.id)).toEqual([groupId]);
  });
});

describe('engine robustness', () => {
  it('keeps the engine alive when an event listener throws', async () => {
    const server = await startServer();
    const { engine } = makeEngine(server);
    engine.on('qr', () => {
      throw new Error('listener bug');
    });
    await engine.start();
    expect(engine.state()).toBe('SCAN_QR_CODE');
  });
});
