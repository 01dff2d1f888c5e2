/** {@link ActionPeer} and {@link GroupNetwork} over the webjs stand-in's world (see `../peer-actions.ts`). */
import type { ActionPeer, GroupNetwork } from '../peer-actions.js';
import type { StandInWorld } from './world.js';

/** {@link ActionPeer} of the stand-in user `id`. */
export function standInActionPeer(world: StandInWorld, id: string): ActionPeer {
  return {
    react: async (key, reaction) => world.actions.peerReacts(id, key, reaction),
    edit: async (key, text) => world.actions.peerEdits(id, key, text),
    revoke: async (key) => world.actions.peerRevokes(id, key),
    seen: async (key) => {
      const found = world.actions.find(key);
      if (!found) throw new Error(`no message ${key}`);
      const { msg } = found;
      const reactions = Object.fromEntries(world.actions.reactions.get(msg.id._serialized) ?? new Map<string, string>());
      return { body: msg.body, reactions, revoked: msg.type === 'revoked', isForwarded: Boolean(msg.isForwarded) };
    },
    // In WhatsApp Web's page (wa-web.ts): the engine's injected listener reports it.
    showState: (state, to) => world.peerShows(id, state, to),
    groupAction: async (groupId, change) => {
      const group = world.group(groupId);
      const ok =
        change.action === 'subject'
          ? group.act(id, 'subject', { subject: change.subject })
          : change.action === 'description'
            ? group.act(id, 'description', { description: change.description })
            : change.action === 'leave'
              ? group.act(id, 'leave', {})
              : group.act(id, change.action, { participants: change.participants });
      if (!ok) throw new Error(`${id} may not ${change.action} in ${groupId}`);
    },
  };
}

/** {@link GroupNetwork} over the stand-in's world. */
export function standInGroupNetwork(world: StandInWorld): GroupNetwork {
  return {
    groupAsSeenBy: async (groupId) => {
      const g = world.group(groupId);
      return {
        subject: g.name,
        description: g.description || undefined,
        participants: g.participants.map((p) => ({ id: p.id._serialized, isAdmin: p.isAdmin || p.isSuperAdmin })),
      };
    },
    peerCreatesGroup: async (owner, subject, members) => world.createGroup(subject, members, { owner: owner.id }),
  };
}
