/**
 * Engine contract: presence. The account's typing / recording indicators reach the chat; others' indicators arrive
 * as `presence` events (both engines: on webjs through the listener the engine injects into WhatsApp Web's page,
 * here the stand-in page of `webjs-stand-in/wa-web.ts` in a real Chromium).
 */
import { eventually } from '@wacloud/testenv';
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
    test("a peer's typing, paused and recording (1:1 and in a group) arrive as presence events, also after a restart", async () => {
      const lea = await ctx.network.newPeer('Lea');
      await lea.sendText('about the voice note');
      await ctx.events.waitFor('message', (m) => m.author === lea.id);
      await lea.showState('typing');
      const [p] = await ctx.events.waitFor('presence', (x) => x.participant === lea.id);
      expect(p).toEqual({ chatId: lea.id, participant: lea.id, state: 'typing', timestamp: expect.any(Number) });
      await lea.showState('paused');
      await ctx.events.waitFor('presence', (x) => x.participant === lea.id && x.state === 'paused');
      const { id: groupId } = await ctx.engine.createGroup('Voice notes', [lea.id]);
      await lea.showState('recording', groupId);
      const [g] = await ctx.events.waitFor('presence', (x) => x.chatId === groupId);
      expect(g).toMatchObject({ participant: lea.id, state: 'recording' });

      const before = ctx.events.payloads('presence').length;
      const since = () =>
        ctx.events
          .payloads('presence')
          .slice(before)
          .map(({ chatId, state }) => [chatId, state]);
      await ctx.restart();
      await lea.showState('typing');
      await lea.showState('recording', groupId);
      await lea.showState('paused');
      await lea.showState('recording');
      // The last indicator arrives after any duplicate of the earlier ones would have (one ordered channel).
      await eventually(() => since().some(([chatId, state]) => chatId === lea.id && state === 'recording'), 15_000, 20);
      // Each indicator once: no listener or binding of the run before the restart reports, none is missing.
      expect(since()).toEqual([
        [lea.id, 'typing'],
        [groupId, 'recording'],
        [lea.id, 'paused'],
        [lea.id, 'recording'],
      ]);
    });
  },
  undefined,
  { waWeb: true },
);
