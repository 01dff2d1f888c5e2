/**
 * Engine contract: presence. The account's typing / recording indicators reach the chat (both engines); others'
 * indicators arrive as `presence` events on the simulated engine only — whatsapp-web.js has no event for them
 * (wwebjs/whatsapp-web.js#3372), so the webjs engine cannot report them (see the instance README).
 */
import { describeEngines } from './harness.js';

describeEngines('presence', (ctx) => {
  test('typing, recording and paused are shown in a 1:1 chat and in a group', async () => {
    const kim = await ctx.network.newPeer('Kim');
    const { id: groupId } = await ctx.engine.createGroup('Typing club', [kim.id]);
    await ctx.engine.sendChatState(kim.id, 'typing');
    await ctx.engine.sendChatState(kim.id, 'paused');
    await ctx.engine.sendChatState(groupId, 'recording');
    const shown = await ctx.network.chatStatesShown();
    expect(shown.filter((s) => s.chatId === kim.id || s.chatId === groupId)).toEqual([
      { chatId: kim.id, state: 'typing' },
      { chatId: kim.id, state: 'paused' },
      { chatId: groupId, state: 'recording' },
    ]);
  });
});

describeEngines(
  'incoming presence',
  (ctx) => {
    test("a peer's typing in the 1:1 chat and recording in a group arrive as presence events", async () => {
      const lea = await ctx.network.newPeer('Lea');
      await lea.showState('typing');
      const [p] = await ctx.events.waitFor('presence', (x) => x.participant === lea.id);
      expect(p).toEqual({ chatId: lea.id, participant: lea.id, state: 'typing', timestamp: expect.any(Number) });
      const { id: groupId } = await ctx.engine.createGroup('Voice notes', [lea.id]);
      await lea.showState('recording', groupId);
      const [g] = await ctx.events.waitFor('presence', (x) => x.chatId === groupId);
      expect(g).toMatchObject({ participant: lea.id, state: 'recording' });
    });
  },
  ['simulated'],
);
