/**
 * Engine contract: message actions — react, edit, delete for everyone (revoke), forward — by the account and by
 * peers, and what each side sees; refusals with stable codes and nothing changed. Both engines (see `harness.ts`).
 */
import { EngineError } from '../../src/engines/engine.js';
import { describeEngines } from './harness.js';
import { keyOf } from './peer.js';

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err instanceof EngineError ? err.code : String(err);
  }
};

describeEngines('message actions', (ctx) => {
  test("the account reacts to a peer's message: reported back as its own reaction, the peer sees it; empty takes it off", async () => {
    const bob = await ctx.network.newPeer('Bob');
    const { key } = await bob.sendText('react to me');
    const [msg] = await ctx.events.waitFor('message', (m) => m.body === 'react to me');
    await ctx.engine.react(msg.id, '👍');
    const [r] = await ctx.events.waitFor('message_reaction', (x) => x.messageId === msg.id && x.reaction === '👍');
    expect(r).toEqual({
      messageId: msg.id,
      chatId: bob.id,
      sender: ctx.me.id,
      reaction: '👍',
      timestamp: expect.any(Number),
      fromMe: true,
    });
    expect((await bob.seen(key)).reactions).toEqual({ [ctx.me.id]: '👍' });

    await ctx.engine.react(msg.id, '');
    await ctx.events.waitFor('message_reaction', (x) => x.messageId === msg.id && x.reaction === '');
    expect((await bob.seen(key)).reactions).toEqual({});
  });

  test("a peer's reaction, edit and revoke of their own message arrive as events under the account's message id", async () => {
    const carol = await ctx.network.newPeer('Carol');
    const sent = await ctx.engine.sendText(carol.id, 'how do you like it?');
    await carol.react(keyOf(sent.id), '❤️');
    const [r] = await ctx.events.waitFor('message_reaction', (x) => x.messageId === sent.id);
    expect(r).toMatchObject({ chatId: carol.id, sender: carol.id, reaction: '❤️', fromMe: false });

    const { key } = await carol.sendText('typo hree');
    const [theirs] = await ctx.events.waitFor('message', (m) => m.body === 'typo hree');
    await carol.edit(key, 'typo here');
    const [edit] = await ctx.events.waitFor('message_edit', (x) => x.messageId === theirs.id);
    expect(edit).toEqual({ messageId: theirs.id, chatId: carol.id, author: carol.id, body: 'typo here', editedAt: expect.any(Number) });

    await carol.revoke(key);
    const [revoke] = await ctx.events.waitFor('message_revoke', (x) => x.messageId === theirs.id);
    expect(revoke).toEqual({ messageId: theirs.id, chatId: carol.id, author: carol.id, revokedAt: expect.any(Number) });
  });

  test('the account edits, then deletes for everyone, its own message; the peer sees each', async () => {
    const dave = await ctx.network.newPeer('Dave');
    const sent = await ctx.engine.sendText(dave.id, 'meet at 5');
    const edit = await ctx.engine.editMessage(sent.id, 'meet at 6');
    expect(edit).toEqual({ messageId: sent.id, chatId: dave.id, author: ctx.me.id, body: 'meet at 6', editedAt: expect.any(Number) });
    await ctx.events.waitFor('message_edit', (x) => x.messageId === sent.id && x.body === 'meet at 6');
    expect((await dave.seen(keyOf(sent.id))).body).toBe('meet at 6');

    const revoke = await ctx.engine.revokeMessage(sent.id);
    expect(revoke).toEqual({ messageId: sent.id, chatId: dave.id, author: ctx.me.id, revokedAt: expect.any(Number) });
    await ctx.events.waitFor('message_revoke', (x) => x.messageId === sent.id);
    expect(await dave.seen(keyOf(sent.id))).toMatchObject({ body: '', revoked: true });
  });

  test('forwarding makes a new message in the other chat, marked forwarded, emitted once', async () => {
    const erin = await ctx.network.newPeer('Erin');
    const frank = await ctx.network.newPeer('Frank');
    await erin.sendText('pass this on');
    const [original] = await ctx.events.waitFor('message', (m) => m.body === 'pass this on');
    const copy = await ctx.engine.forwardMessage(original.id, frank.id);
    expect(copy).toMatchObject({ chatId: frank.id, fromMe: true, body: 'pass this on', isForwarded: true });
    expect(copy.id).not.toBe(original.id);
    await ctx.events.waitFor('message', (m) => m.id === copy.id);
    expect(ctx.events.payloads('message').filter((m) => m.id === copy.id)).toHaveLength(1);
    expect(await frank.received()).toEqual([{ key: keyOf(copy.id), body: 'pass this on', quotedKey: undefined, isForwarded: true }]);
  });

  test("refused: a missing message, someone else's message, a revoked message — with stable codes, nothing changed", async () => {
    const gina = await ctx.network.newPeer('Gina');
    const missing = `true_${gina.id}_ABCDEF0123456789ABCD`;
    expect(await codeOf(ctx.engine.react(missing, '👍'))).toBe('message_not_found');
    expect(await codeOf(ctx.engine.editMessage(missing, 'x'))).toBe('message_not_found');
    expect(await codeOf(ctx.engine.forwardMessage(missing, gina.id))).toBe('message_not_found');

    const { key } = await gina.sendText('mine, not yours');
    const [theirs] = await ctx.events.waitFor('message', (m) => m.body === 'mine, not yours');
    expect(await codeOf(ctx.engine.editMessage(theirs.id, 'hijacked'))).toBe('not_own_message');
    expect(await codeOf(ctx.engine.revokeMessage(theirs.id))).toBe('not_own_message');
    expect(await gina.seen(key)).toMatchObject({ body: 'mine, not yours', revoked: false });

    const sent = await ctx.engine.sendText(gina.id, 'soon gone');
    await ctx.engine.revokeMessage(sent.id);
    expect(await codeOf(ctx.engine.editMessage(sent.id, 'back again'))).toBe('message_revoked');
    expect(await codeOf(ctx.engine.react(sent.id, '👍'))).toBe('message_revoked');
    expect(await codeOf(ctx.engine.revokeMessage(sent.id))).toBe('message_revoked');
    expect(await gina.seen(keyOf(sent.id))).toMatchObject({ body: '', revoked: true, reactions: {} });
  });
});
