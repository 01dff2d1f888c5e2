/**
 * Engine contract: group administration — create, subject, description, add / remove / promote / demote, the invite
 * code, leave — and `group_update` events for the account's and others' changes; refusals (not a member, not an admin,
 * not on WhatsApp, not a participant, the creator) with stable codes and nothing changed. Both engines.
 */
import { EngineError } from '../../src/engines/engine.js';
import { describeEngines } from './harness.js';

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err instanceof EngineError ? err.code : String(err);
  }
};
const ids = (g: { participants: Array<{ id: string }> }) => g.participants.map((p) => p.id).sort();

describeEngines('groups', (ctx) => {
  test('the account creates a group: its creator and only admin; every member sees it; reported as create', async () => {
    const [ann, ben] = [await ctx.network.newPeer('Ann'), await ctx.network.newPeer('Ben')];
    const group = await ctx.engine.createGroup('Team', [ann.id, ben.phone]);
    expect(group.id).toMatch(/@g\.us$/);
    expect(group).toMatchObject({ subject: 'Team', owner: ctx.me.id });
    expect(ids(group)).toEqual([ann.id, ben.id, ctx.me.id].sort());
    expect(group.participants.find((p) => p.id === ctx.me.id)).toEqual({ id: ctx.me.id, isAdmin: true, isSuperAdmin: true });
    expect(group.participants.find((p) => p.id === ann.id)).toEqual({ id: ann.id, isAdmin: false, isSuperAdmin: false });
    expect(await ctx.network.groupAsSeenBy(group.id, ben)).toMatchObject({ subject: 'Team' });
    await ctx.events.waitFor('group_update', (u) => u.groupId === group.id && u.action === 'create');
    expect(await ctx.engine.groupInfo(group.id)).toEqual(group);
  });

  test('subject, description, add, promote, demote, remove: each applied, seen by members, reported', async () => {
    const [cat, dan, eve] = [await ctx.network.newPeer('Cat'), await ctx.network.newPeer('Dan'), await ctx.network.newPeer('Eve')];
    const { id } = await ctx.engine.createGroup('Old name', [cat.id, dan.id]);
    expect((await ctx.engine.setGroupSubject(id, 'New name')).subject).toBe('New name');
    expect((await ctx.engine.setGroupDescription(id, 'What we do')).description).toBe('What we do');
    expect(await ctx.network.groupAsSeenBy(id, cat)).toMatchObject({ subject: 'New name', description: 'What we do' });
    await ctx.events.waitFor('group_update', (u) => u.groupId === id && u.action === 'subject' && u.subject === 'New name');
    await ctx.events.waitFor('group_update', (u) => u.groupId === id && u.action === 'description' && u.description === 'What we do');

    expect(ids(await ctx.engine.changeParticipants(id, 'add', [eve.id]))).toContain(eve.id);
    await ctx.events.waitFor('group_update', (u) => u.groupId === id && u.action === 'add' && (u.participants ?? []).includes(eve.id));
    const promoted = await ctx.engine.changeParticipants(id, 'promote', [cat.id]);
    expect(promoted.participants.find((p) => p.id === cat.id)).toMatchObject({ isAdmin: true, isSuperAdmin: false });
    await ctx.events.waitFor('group_update', (u) => u.groupId === id && u.action === 'promote');
    const demoted = await ctx.engine.changeParticipants(id, 'demote', [cat.id]);
    expect(demoted.participants.find((p) => p.id === cat.id)).toMatchObject({ isAdmin: false });
    const removed = await ctx.engine.changeParticipants(id, 'remove', [dan.id]);
    expect(ids(removed)).toEqual([cat.id, eve.id, ctx.me.id].sort());
    await ctx.events.waitFor('group_update', (u) => u.groupId === id && u.action === 'remove' && (u.participants ?? []).includes(dan.id));
    expect(ids(await ctx.network.groupAsSeenBy(id, eve))).toEqual(ids(removed));
  });

  test('the invite code is stable until revoked; leaving ends membership', async () => {
    const fay = await ctx.network.newPeer('Fay');
    const { id } = await ctx.engine.createGroup('Invite me', [fay.id]);
    const code = await ctx.engine.groupInviteCode(id);
    expect(code).toMatch(/^[A-Za-z0-9_-]{10,}$/);
    expect(await ctx.engine.groupInviteCode(id)).toBe(code);
    const next = await ctx.engine.revokeGroupInvite(id);
    expect(next).not.toBe(code);
    await ctx.events.waitFor('group_update', (u) => u.groupId === id && u.action === 'invite_revoked');
    expect(await ctx.engine.groupInviteCode(id)).toBe(next);

    await ctx.engine.leaveGroup(id);
    expect(ids(await ctx.network.groupAsSeenBy(id, fay))).toEqual([fay.id]);
    await ctx.events.waitFor('group_update', (u) => u.groupId === id && u.action === 'leave');
    expect(await codeOf(ctx.engine.groupInfo(id))).toBe('group_not_found');
  });

  test("a peer's changes to a group the account is in arrive as group_update", async () => {
    const gus = await ctx.network.newPeer('Gus');
    const hal = await ctx.network.newPeer('Hal');
    const id = await ctx.network.peerCreatesGroup(gus, "Gus's group", [ctx.me.id]);
    await gus.groupAction(id, { action: 'subject', subject: 'Renamed by Gus' });
    const [u] = await ctx.events.waitFor('group_update', (x) => x.groupId === id && x.action === 'subject');
    expect(u).toMatchObject({ actor: gus.id, subject: 'Renamed by Gus' });
    await gus.groupAction(id, { action: 'add', participants: [hal.id] });
    await ctx.events.waitFor('group_update', (x) => x.groupId === id && x.action === 'add' && (x.participants ?? []).includes(hal.id));
    expect(ids(await ctx.engine.groupInfo(id))).toEqual([gus.id, hal.id, ctx.me.id].sort());
  });

  test('refused with stable codes and nothing changed: not admin, not a member, not on WhatsApp, not a participant, the creator', async () => {
    const ike = await ctx.network.newPeer('Ike');
    const jo = await ctx.network.newPeer('Jo');
    const theirs = await ctx.network.peerCreatesGroup(ike, "Ike's group", [ctx.me.id]);
    expect(await codeOf(ctx.engine.setGroupSubject(theirs, 'mine now'))).toBe('not_group_admin');
    expect(await codeOf(ctx.engine.changeParticipants(theirs, 'add', [jo.id]))).toBe('not_group_admin');
    expect(await codeOf(ctx.engine.groupInviteCode(theirs))).toBe('not_group_admin');
    expect(await ctx.network.groupAsSeenBy(theirs, ike)).toMatchObject({ subject: "Ike's group" });
    expect(ids(await ctx.network.groupAsSeenBy(theirs, ike))).toEqual([ike.id, ctx.me.id].sort());

    await ike.groupAction(theirs, { action: 'promote', participants: [ctx.me.id] });
    await ctx.events.waitFor('group_update', (x) => x.groupId === theirs && x.action === 'promote');
    expect(await codeOf(ctx.engine.changeParticipants(theirs, 'demote', [ike.id]))).toBe('cannot_change_owner');
    expect(await codeOf(ctx.engine.changeParticipants(theirs, 'remove', [ike.id]))).toBe('cannot_change_owner');
    expect(await codeOf(ctx.engine.changeParticipants(theirs, 'remove', [jo.id]))).toBe('not_a_participant');
    expect(await codeOf(ctx.engine.changeParticipants(theirs, 'add', [jo.id, '19999999999@c.us']))).toBe('number_not_on_whatsapp');
    expect(ids(await ctx.network.groupAsSeenBy(theirs, ike))).toEqual([ike.id, ctx.me.id].sort());

    expect(await codeOf(ctx.engine.groupInfo('120363000000000000000@g.us'))).toBe('group_not_found');
    expect(await codeOf(ctx.engine.setGroupSubject('120363000000000000000@g.us', 'x'))).toBe('group_not_found');
    expect(await codeOf(ctx.engine.createGroup('Nobody', ['19999999998@c.us']))).toBe('number_not_on_whatsapp');
  });
});
