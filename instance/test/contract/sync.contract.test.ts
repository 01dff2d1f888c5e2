/**
 * Engine contract of the sync after login: chats with their flags and last message, groups with their metadata
 * (subject, description, owner, participants with admin flags), the events that keep them current (a group changed
 * by a member, a chat archived on the phone, unread counts) and marking a chat read — on both engines.
 */
import { EngineError, type EngineChat } from '../../src/engines/engine.js';
import type { EngineGroup } from '../../src/engines/engine-sync.js';
import { describeEngines } from './harness.js';

const codeOf = (err: unknown) => (err instanceof EngineError ? err.code : String(err));
const byId = <T extends { id: string }>(list: T[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));

describeEngines('sync after login', (ctx) => {
  test('chats carry archived, pinned, muted and their last message; archiving on the phone is an event, pins and mutes show on the next read', async () => {
    const bob = await ctx.network.newPeer('Bob');
    await bob.sendText('first');
    const { key } = await bob.sendText('latest');
    await ctx.events.waitFor('message', (m) => m.body === 'latest');
    const chat = (await ctx.engine.chats()).find((c) => c.id === bob.id);
    expect(chat).toMatchObject({ id: bob.id, name: 'Bob', isGroup: false, unreadCount: 2, archived: false, pinned: false, muted: false });
    expect(chat?.lastMessage).toEqual({
      id: `false_${bob.id}_${key}`,
      author: bob.id,
      fromMe: false,
      type: 'chat',
      body: 'latest',
      timestamp: expect.any(Number),
    });

    await ctx.network.setChatFlags(bob.id, { archived: true });
    await ctx.events.waitFor('chat', (c) => c.id === bob.id && c.archived === true);
    await ctx.network.setChatFlags(bob.id, { pinned: true, muted: true });
    expect((await ctx.engine.chats()).find((c) => c.id === bob.id)).toMatchObject({ archived: true, pinned: true, muted: true });
  });

  test('groups: subject, description, owner and participants with admin flags', async () => {
    const carol = await ctx.network.newPeer('Carol');
    const dave = await ctx.network.newPeer('Dave');
    const groupId = await ctx.network.createGroup('Book club', [carol, dave], { description: 'Tuesdays', admins: [carol] });
    const group = (await ctx.engine.groups()).find((g) => g.id === groupId);
    expect(group).toMatchObject({ id: groupId, subject: 'Book club', description: 'Tuesdays', owner: ctx.me.id });
    expect(byId(group!.participants)).toEqual(
      byId([
        { id: ctx.me.id, isAdmin: true, isSuperAdmin: true },
        { id: carol.id, isAdmin: true, isSuperAdmin: false },
        { id: dave.id, isAdmin: false, isSuperAdmin: false },
      ]),
    );
    expect((await ctx.engine.groups()).every((g) => g.id.endsWith('@g.us'))).toBe(true);
  });

  test("a member's changes to a group arrive as group events: subject, description, added, removed, promoted", async () => {
    const erin = await ctx.network.newPeer('Erin');
    const frank = await ctx.network.newPeer('Frank');
    const gina = await ctx.network.newPeer('Gina');
    const groupId = await ctx.network.createGroup('Team', [erin, frank], { admins: [erin] });
    const has = (g: EngineGroup, id: string) => g.participants.find((p) => p.id === id);

    await ctx.network.updateGroup(erin, groupId, { subject: 'Team B', description: 'new rules' });
    await ctx.events.waitFor('group', (g) => g.id === groupId && g.subject === 'Team B' && g.description === 'new rules');
    await ctx.network.updateGroup(erin, groupId, { add: [gina] });
    await ctx.events.waitFor('group', (g) => g.id === groupId && has(g, gina.id)?.isAdmin === false);
    await ctx.network.updateGroup(erin, groupId, { promote: [gina] });
    await ctx.events.waitFor('group', (g) => g.id === groupId && has(g, gina.id)?.isAdmin === true);
    await ctx.network.updateGroup(erin, groupId, { remove: [frank] });
    const [last] = await ctx.events.waitFor('group', (g) => g.id === groupId && !has(g, frank.id));
    expect(last.participants.map((p) => p.id).sort()).toEqual([ctx.me.id, erin.id, gina.id].sort());
    expect((await ctx.engine.groups()).find((g) => g.id === groupId)).toEqual(last);
    expect((await ctx.engine.chats()).find((c) => c.id === groupId)?.name).toBe('Team B');
  });

  test('marking a chat read zeroes its unread count (a chat event); an unknown group is refused', async () => {
    const hank = await ctx.network.newPeer('Hank');
    await hank.sendText('one');
    await hank.sendText('two');
    await ctx.events.waitFor('chat', (c: EngineChat) => c.id === hank.id && c.unreadCount === 2);
    const mark = ctx.events.payloads('chat').length;
    await ctx.engine.markChatRead(hank.phone);
    await ctx.events.waitFor('chat', (c) => c.id === hank.id && c.unreadCount === 0);
    expect(
      ctx.events
        .payloads('chat')
        .slice(mark)
        .some((c) => c.id === hank.id && c.unreadCount === 0),
    ).toBe(true);
    expect((await ctx.engine.chats()).find((c) => c.id === hank.id)?.unreadCount).toBe(0);
    expect(codeOf(await ctx.engine.markChatRead('120363000000000000@g.us').catch((e: unknown) => e))).toBe('chat_not_found');
  });

  test('the history of a chat is there to import: its newest N messages, oldest first', async () => {
    const ivy = await ctx.network.newPeer('Ivy');
    for (let i = 0; i < 6; i++) await ivy.sendText(`m${i}`);
    await ctx.events.waitFor('message', (m) => m.body === 'm5');
    expect((await ctx.engine.messagesSince(ivy.id, 0, 4)).map((m) => m.body)).toEqual(['m2', 'm3', 'm4', 'm5']);
  });
});
