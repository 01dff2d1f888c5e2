/**
 * Engine contract: text messages, acks, contacts, chats, the history read of the gap fill (`messagesSince`) and
 * chat-state indicators — the same tests against both engines (see `harness.ts`).
 */
import { EngineError, type EngineMessage } from '../../src/engines/engine.js';
import { describeEngines } from './harness.js';
import { keyOf } from './peer.js';

const codeOf = (err: unknown) => (err instanceof EngineError ? err.code : String(err));
const near = (ms: number) => Math.abs(ms - Date.now()) < 60_000;

describeEngines('messaging', (ctx) => {
  test("a peer's text arrives as a message of their chat; the chat is listed with its unread count", async () => {
    const bob = await ctx.network.newPeer('Bob');
    const { key } = await bob.sendText('hello from the phone');
    const [msg] = await ctx.events.waitFor('message', (m) => m.body === 'hello from the phone');
    expect(msg).toEqual({
      id: `false_${bob.id}_${key}`,
      chatId: bob.id,
      author: bob.id,
      fromMe: false,
      isGroup: false,
      type: 'chat',
      body: 'hello from the phone',
      timestamp: expect.any(Number),
      ack: expect.any(Number),
      quotedMessageId: undefined,
    });
    expect(near(msg.timestamp)).toBe(true);
    await ctx.events.waitFor('chat', (c) => c.id === bob.id && c.unreadCount >= 1);
    const chat = (await ctx.engine.chats()).find((c) => c.id === bob.id);
    expect(chat).toMatchObject({ id: bob.id, name: 'Bob', isGroup: false, unreadCount: 1 });
    expect(near(chat!.lastMessageAt!)).toBe(true);
  });

  test('a sent text resolves as fromMe, is emitted once, reaches the peer, and its ack goes to 2 then 3 once read', async () => {
    const carol = await ctx.network.newPeer('Carol');
    const sent = await ctx.engine.sendText(carol.phone, 'hi carol');
    expect(sent).toMatchObject({ chatId: carol.id, author: ctx.me.id, fromMe: true, isGroup: false, type: 'chat', body: 'hi carol' });
    expect(sent.id).toBe(`true_${carol.id}_${keyOf(sent.id)}`);
    expect(sent.ack === 0 || sent.ack === 1).toBe(true);
    expect(near(sent.timestamp)).toBe(true);
    await ctx.events.waitFor('message', (m) => m.id === sent.id);
    expect(await carol.received()).toEqual([{ key: keyOf(sent.id), body: 'hi carol', quotedKey: undefined }]);

    await ctx.events.waitFor('message_ack', (a) => a.id === sent.id && a.ack === 2);
    expect(ctx.events.payloads('message_ack').find((a) => a.id === sent.id && a.ack === 2)).toEqual({
      id: sent.id,
      chatId: carol.id,
      ack: 2,
    });
    await carol.read();
    await ctx.events.waitFor('message_ack', (a) => a.id === sent.id && a.ack === 3);
    expect(ctx.events.payloads('message').filter((m) => m.id === sent.id)).toHaveLength(1);
  });

  test("replies quote the other side's message under each side's id", async () => {
    const dave = await ctx.network.newPeer('Dave');
    const { key } = await dave.sendText('question?');
    const [question] = await ctx.events.waitFor('message', (m) => m.body === 'question?');
    const answer = await ctx.engine.sendText(dave.id, 'answer', { quotedMessageId: question.id });
    expect(answer.quotedMessageId).toBe(question.id);
    expect((await dave.received()).find((m) => m.body === 'answer')?.quotedKey).toBe(key);

    await dave.sendText('thanks', { quotedKey: keyOf(answer.id) });
    const [thanks] = await ctx.events.waitFor('message', (m) => m.body === 'thanks');
    expect(thanks.quotedMessageId).toBe(answer.id);
  });

  test('refuses a number not on WhatsApp and a group the account is not in, sending nothing', async () => {
    const before = ctx.events.payloads('message').length;
    expect(codeOf(await ctx.engine.sendText('19999999999', 'x').catch((e: unknown) => e))).toBe('number_not_on_whatsapp');
    expect(codeOf(await ctx.engine.sendText('120363000000000000@g.us', 'x').catch((e: unknown) => e))).toBe('chat_not_found');
    expect(ctx.events.payloads('message')).toHaveLength(before);
  });

  test('groups: a member writes with an author; the account writes to the group; contacts list the group with its members', async () => {
    const erin = await ctx.network.newPeer('Erin');
    const frank = await ctx.network.newPeer('Frank');
    const groupId = await ctx.network.createGroup('Team', [erin, frank]);
    expect(groupId).toMatch(/^\d+@g\.us$/);
    await erin.sendText('hi team', { to: groupId });
    const [msg] = await ctx.events.waitFor('message', (m) => m.body === 'hi team');
    expect(msg).toMatchObject({ chatId: groupId, author: erin.id, isGroup: true, fromMe: false });
    const sent = await ctx.engine.sendText(groupId, 'hello team');
    expect(sent).toMatchObject({ chatId: groupId, isGroup: true, fromMe: true, author: ctx.me.id });

    const group = (await ctx.engine.contacts()).find((c) => c.id === groupId);
    expect(group).toMatchObject({ id: groupId, name: 'Team', isGroup: true });
    expect([...(group?.participants ?? [])].sort()).toEqual([ctx.me.id, erin.id, frank.id].sort());
    expect((await ctx.engine.chats()).find((c) => c.id === groupId)).toMatchObject({ name: 'Team', isGroup: true });
  });

  test('contacts: every peer with number and pushname', async () => {
    const gina = await ctx.network.newPeer('Gina');
    const contacts = await ctx.engine.contacts();
    expect(contacts).toContainEqual(
      expect.objectContaining({ id: gina.id, number: gina.phone, pushname: 'Gina', isGroup: false, isMyContact: true }),
    );
    expect(contacts.find((c) => c.id === ctx.me.id)).toBeUndefined();
  });

  test("messagesSince: the chat's newest `limit` messages, oldest first, from a time on; unknown chat and bad limit refused", async () => {
    const hank = await ctx.network.newPeer('Hank');
    for (const body of ['h0', 'h1', 'h2', 'h3']) await hank.sendText(body);
    await ctx.events.waitFor('message', (m) => m.body === 'h3');
    const all = await ctx.engine.messagesSince(hank.id, 0, 100);
    expect(all.map((m) => m.body)).toEqual(['h0', 'h1', 'h2', 'h3']);
    expect(all.every((m: EngineMessage) => m.chatId === hank.id && m.author === hank.id && !m.fromMe)).toBe(true);
    expect((await ctx.engine.messagesSince(hank.phone, 0, 2)).map((m) => m.body)).toEqual(['h2', 'h3']);
    const since = all[3]!.timestamp;
    const newer = await ctx.engine.messagesSince(hank.id, since, 100);
    expect(newer.at(-1)?.body).toBe('h3');
    expect(newer.every((m) => m.timestamp >= since)).toBe(true);
    expect(codeOf(await ctx.engine.messagesSince('120363000000000000@g.us', 0, 10).catch((e: unknown) => e))).toBe('chat_not_found');
    await expect(ctx.engine.messagesSince(hank.id, 0, 0)).rejects.toBeInstanceOf(RangeError);
  });

  test('chat state: typing, recording and paused are shown in the chat; an unknown group is refused', async () => {
    const ivy = await ctx.network.newPeer('Ivy');
    await ctx.engine.sendChatState(ivy.id, 'typing');
    await ctx.engine.sendChatState(ivy.phone, 'recording');
    await ctx.engine.sendChatState(ivy.id, 'paused');
    const shown = (await ctx.network.chatStatesShown()).filter((s) => s.chatId === ivy.id);
    expect(shown.map((s) => s.state)).toEqual(['typing', 'recording', 'paused']);
    const err = await ctx.engine.sendChatState('120363000000000000@g.us', 'typing').catch((e: unknown) => e);
    expect(codeOf(err)).toBe('chat_not_found');
  });

  test('a restart resumes the stored session without a QR and keeps working', async () => {
    const qrs = ctx.events.payloads('qr').length;
    await ctx.restart();
    expect(ctx.events.payloads('qr')).toHaveLength(qrs);
    expect(ctx.engine.account()?.id).toBe(ctx.me.id);
    const sent = await ctx.engine.sendText(ctx.peer.id, 'after restart');
    expect(sent.fromMe).toBe(true);
  });
});
