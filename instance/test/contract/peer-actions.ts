/**
 * What the other side of WhatsApp does and sees in the message action, presence and group contract tests:
 * {@link ActionPeer} (a peer reacts, edits, deletes for everyone, shows typing, administers a group, and what it sees
 * of a message) and {@link GroupNetwork} (a group as WhatsApp has it, groups made by peers). `Peer` and `Network`
 * extend these; this file holds their simnet implementation (its test hooks), `webjs-stand-in/peer-actions.ts` the
 * stand-in's.
 */
import type { ChatState } from '../../src/engines/engine.js';

/** A change a member makes to a group from their phone. */
export type PeerGroupAction =
  | { action: 'subject'; subject: string }
  | { action: 'description'; description: string }
  | { action: 'add' | 'remove' | 'promote' | 'demote'; participants: string[] }
  | { action: 'leave' };

/** What a peer sees of one message. */
export interface SeenMessage {
  body: string;
  /** Reactions by user id. */
  reactions: Record<string, string>;
  revoked: boolean;
  isForwarded: boolean;
}

export interface ActionPeer {
  /** Reacts to the message with key `key` (empty: takes the reaction off). */
  react(key: string, reaction: string): Promise<void>;
  /** Edits their own message `key`. */
  edit(key: string, text: string): Promise<void>;
  /** Deletes their own message `key` for everyone. */
  revoke(key: string): Promise<void>;
  /** What this peer sees of message `key` (theirs or received). */
  seen(key: string): Promise<SeenMessage>;
  /**
   * Shows `state` in the chat with the account, or in group `to` (webjs stand-in: on WhatsApp Web's page, once it
   * subscribed that chat's presence — `webjs-stand-in/wa-web.ts`).
   */
  showState(state: ChatState, to?: string): Promise<void>;
  /** Changes group `groupId` from their phone. @throws when WhatsApp refuses (not a member / not an admin). */
  groupAction(groupId: string, change: PeerGroupAction): Promise<void>;
}

/** A group as WhatsApp has it. */
export interface SeenGroup {
  subject: string;
  description?: string | undefined;
  participants: Array<{ id: string; isAdmin: boolean }>;
}

export interface GroupNetwork {
  /** Group `groupId` as its member `as` sees it. */
  groupAsSeenBy(groupId: string, as: { phone: string; id: string }): Promise<SeenGroup>;
  /** A group created by peer `owner` with `members` (user ids; the account's id to include it); resolves with its id. */
  peerCreatesGroup(owner: { phone: string; id: string }, subject: string, members: string[]): Promise<string>;
}

type Hook = <T>(route: string, body?: unknown) => Promise<T>;

interface InspectedMessage {
  body: string;
  type: string;
  isForwarded?: boolean;
  reactions: Record<string, string>;
}

/** {@link ActionPeer} of the simnet peer with phone `phone`; `meId` is the account's user id. */
export function simnetActionPeer(hook: Hook, phone: string, meId: string): ActionPeer {
  // Hooks take any side's serialized id: the network finds a message by its key.
  const id = (key: string) => `false_${meId}_${key}`;
  return {
    react: async (key, reaction) => void (await hook('/react', { phone, messageId: id(key), reaction })),
    edit: async (key, text) => void (await hook('/edit', { phone, messageId: id(key), text })),
    revoke: async (key) => void (await hook('/revoke', { phone, messageId: id(key) })),
    seen: async (key) => {
      const { message } = await hook<{ message: InspectedMessage }>(`/accounts/${phone}/messages/${encodeURIComponent(id(key))}`);
      return {
        body: message.body,
        reactions: message.reactions,
        revoked: message.type === 'revoked',
        isForwarded: Boolean(message.isForwarded),
      };
    },
    showState: async (state, to) => void (await hook('/presence', { phone, chatId: to ?? meId, state })),
    groupAction: async (groupId, change) => {
      const participants = 'participants' in change ? change.participants.map((p) => p.replace(/@c\.us$/, '')) : undefined;
      await hook(`/groups/${encodeURIComponent(groupId)}/actions`, { ...change, phone, ...(participants ? { participants } : {}) });
    },
  };
}

/** {@link GroupNetwork} over simnet's hooks. */
export function simnetGroupNetwork(hook: Hook): GroupNetwork {
  return {
    groupAsSeenBy: async (groupId, as) => {
      const { group } = await hook<{ group: SeenGroup }>(`/accounts/${as.phone}/groups/${encodeURIComponent(groupId)}`);
      return {
        subject: group.subject,
        description: group.description,
        participants: group.participants.map(({ id, isAdmin }) => ({ id, isAdmin })),
      };
    },
    peerCreatesGroup: async (owner, subject, members) => {
      const { id } = await hook<{ id: string }>('/groups', {
        name: subject,
        owner: owner.phone,
        participants: members.map((m) => m.replace(/@c\.us$/, '')),
      });
      return id;
    },
  };
}
