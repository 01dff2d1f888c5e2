/**
 * The simulated network's side of the sync after login: groups with their metadata (subject, description, owner,
 * admins), the chat flags a phone sets (archived, pinned, muted), and the changes other members make to a group —
 * each pushed to the linked devices concerned as `chat` / `group` events, like WhatsApp Web's `chat_archived`,
 * `group_update`, `group_join`, `group_leave` and `group_admin_changed`.
 */
import type { NetworkCore } from './core.js';
import { SimnetError, chatIdFor, groupContact, userId, type Account, type Group } from './model.js';
import type { WireChat, WireGroup } from './protocol.js';
import type { NetworkViews } from './views.js';

/** A change a member makes to a group (test hook `POST /hooks/groups/update`). */
export interface GroupChange {
  subject?: string | undefined;
  description?: string | undefined;
  add?: string[] | undefined;
  remove?: string[] | undefined;
  promote?: string[] | undefined;
  demote?: string[] | undefined;
}

export class NetworkSync {
  private readonly accounts: ReadonlyMap<string, Account>;
  private readonly groups: Map<string, Group>;
  private readonly views: NetworkViews;

  /** @param core what the network lends the sync: its state, pushes, making sure an account has a chat / a peer. */
  constructor(private readonly core: NetworkCore) {
    this.accounts = core.accounts;
    this.groups = core.groups;
    this.views = core.views;
  }

  /**
   * Account `phone` reads chat `chatId` on its phone: its received messages there become read (ack 3 to their
   * senders) and the chat's unread count drops to 0 on its devices.
   * @throws SimnetError `account_not_found` / `chat_not_found` (404).
   */
  markRead(phone: string, chatId: string): number {
    const account = this.views.requireAccount(phone);
    const id = chatId.includes('@') ? chatId : `${chatId.replace(/\D/g, '')}@c.us`;
    const chat = account.chats.get(id);
    if (!chat) throw new SimnetError('chat_not_found', `account ${phone} has no chat ${id}`);
    let read = 0;
    for (const message of this.core.messages.values()) {
      const state = message.status.get(phone);
      if (state === undefined || state === 3 || chatIdFor(message, phone) !== id) continue;
      read++;
      this.core.advance(message.key, phone, 3);
    }
    if (chat.unread !== 0) {
      chat.unread = 0;
      this.core.push(phone, { kind: 'chat', chat: this.views.chat(phone, chat) });
    }
    return read;
  }

  /** The groups account `phone` is in. @throws SimnetError `account_not_found` (404). */
  groupsOf(phone: string): WireGroup[] {
    this.views.requireAccount(phone);
    return [...this.groups.values()].filter((g) => g.participants.includes(phone)).map((g) => this.views.group(g));
  }

  /**
   * Member `actor` changes group `groupId` from their phone. Everyone in the group before or after gets the new
   * metadata (`group` push; the chat and contact too when the name changed); added members get the chat.
   * @throws SimnetError `chat_not_found` (404) unless `actor` is a member; `not_admin` (403) unless an admin, for
   *   anything but the subject and description; `account_not_found` (404) for an unknown phone to add.
   */
  updateGroup(actor: string, groupId: string, change: GroupChange): WireGroup {
    const group = this.groups.get(groupId);
    if (!group || !group.participants.includes(actor))
      throw new SimnetError('chat_not_found', `no group ${groupId} with ${actor} as a member`);
    const admins = new Set([group.owner, ...(group.admins ?? [])]);
    const membership = [change.add, change.remove, change.promote, change.demote].some((l) => l && l.length > 0);
    if (membership && !admins.has(actor)) throw new SimnetError('not_admin', `${actor} is not an admin of ${groupId}`, 403);
    for (const phone of change.add ?? []) this.views.requireAccount(phone);
    const before = [...group.participants];
    if (change.subject !== undefined) group.name = change.subject;
    if (change.description !== undefined) group.description = change.description;
    for (const phone of change.add ?? []) if (!group.participants.includes(phone)) group.participants.push(phone);
    group.participants = group.participants.filter((p) => !(change.remove ?? []).includes(p) || p === group.owner);
    for (const phone of change.promote ?? []) if (group.participants.includes(phone)) admins.add(phone);
    for (const phone of change.demote ?? []) if (phone !== group.owner) admins.delete(phone);
    group.admins = [...admins].filter((a) => a !== group.owner && group.participants.includes(a));
    const view = this.views.group(group);
    for (const phone of new Set([...before, ...group.participants])) {
      if (group.participants.includes(phone)) {
        const chat = this.core.ensureChat(phone, groupId);
        for (const other of group.participants) if (other !== phone) this.core.ensurePeer(phone, other);
        if (change.subject !== undefined) {
          this.core.push(phone, { kind: 'contact', contact: groupContact(group) });
          this.core.push(phone, { kind: 'chat', chat: this.views.chat(phone, chat) });
        }
      }
      this.core.push(phone, { kind: 'group', group: view });
    }
    return view;
  }

  /**
   * Account `phone` archives / pins / mutes chat `chatId` on its phone. Its devices get the chat when it was archived
   * or unarchived only (WhatsApp Web tells `chat_archived`, but nothing for pins and mutes: those show at the next
   * `chats` request).
   * @throws SimnetError `account_not_found` / `chat_not_found` (404).
   */
  setChatFlags(phone: string, chatId: string, flags: { archived?: boolean; pinned?: boolean; muted?: boolean }): WireChat {
    const account = this.views.requireAccount(phone);
    const chat = account.chats.get(chatId.includes('@') ? chatId : userId(chatId.replace(/\D/g, '')));
    if (!chat) throw new SimnetError('chat_not_found', `account ${phone} has no chat ${chatId}`);
    const archiving = flags.archived !== undefined && flags.archived !== (chat.archived ?? false);
    if (flags.archived !== undefined) chat.archived = flags.archived;
    if (flags.pinned !== undefined) chat.pinned = flags.pinned;
    if (flags.muted !== undefined) chat.muted = flags.muted;
    const view = this.views.chat(phone, chat);
    if (archiving) this.core.push(phone, { kind: 'chat', chat: view });
    return view;
  }
}
