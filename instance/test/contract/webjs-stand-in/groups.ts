/**
 * A stand-in for whatsapp-web.js' `GroupChat` (`WebjsGroupChat`): participants with admin flags, subject,
 * description, invite code, and the administration the engine does (`setSubject`, `setDescription`,
 * `addParticipants`, `removeParticipants`, `promoteParticipants`, `demoteParticipants`, `getInviteCode`,
 * `revokeInvite`, `leave`), answered as the library answers (false / an error for a non-admin). Every change — by the
 * account or by a peer ({@link StandInGroupChat.act}) — reaches the client as the library's group events
 * (`group_join`, `group_leave`, `group_admin_changed`, `group_update`) with `GroupNotification`-shaped objects.
 */
import { randomBytes } from 'node:crypto';
import wwebjs from 'whatsapp-web.js';
import type { AddParticipantsOptions, ContactId, GroupNotificationTypes, GroupParticipant } from 'whatsapp-web.js';
import type { WebjsGroupChat } from '../../../src/engines/webjs/client-actions.js';
import type { GroupNotificationFields } from '../../../src/engines/webjs/action-events.js';
import { StandInChat } from './chat.js';
import { wid } from './fixtures.js';

const { GroupNotificationTypes: T } = wwebjs;

/** The event whatsapp-web.js emits for a notification type (see its `Client.attachEventListeners`). */
function eventOf(type: string): string {
  if (type === 'add' || type === 'invite') return 'group_join';
  if (type === 'remove' || type === 'leave') return 'group_leave';
  if (type === 'promote' || type === 'demote') return 'group_admin_changed';
  return 'group_update';
}

export class StandInGroupChat extends StandInChat implements WebjsGroupChat {
  override description = '';
  override owner: ContactId;
  declare participants: GroupParticipant[];
  #inviteCode = newCode();

  constructor(
    id: string,
    subject: string,
    owner: string,
    members: string[],
    private readonly world: { me: { id: string }; notify(event: string, ...args: unknown[]): void; hasUser(id: string): boolean },
    onState: ConstructorParameters<typeof StandInChat>[2],
    onSeen?: ConstructorParameters<typeof StandInChat>[3],
  ) {
    super(id, subject, onState, onSeen);
    this.owner = wid(owner);
    this.participants = [...new Set([owner, ...members])].map((p) => ({ id: wid(p), isAdmin: p === owner, isSuperAdmin: p === owner }));
    this.timestamp = Math.floor(Date.now() / 1000);
  }

  async setSubject(subject: string): Promise<boolean> {
    return this.act(this.world.me.id, 'subject', { subject });
  }

  async setDescription(description: string): Promise<boolean> {
    return this.act(this.world.me.id, 'description', { description });
  }

  async addParticipants(
    ids: string[],
    _options?: AddParticipantsOptions,
  ): Promise<Record<string, { code: number; message: string; isInviteV4Sent: boolean }> | string> {
    if (!this.#isAdmin(this.world.me.id)) return 'AddParticipantsError: the account is not an admin';
    this.act(this.world.me.id, 'add', { participants: ids });
    return Object.fromEntries(
      ids.map((id) => [id, { code: 200, message: 'The participant was added successfully', isInviteV4Sent: false }]),
    );
  }

  async removeParticipants(ids: string[]): Promise<{ status: number }> {
    return { status: this.act(this.world.me.id, 'remove', { participants: ids }) ? 200 : 403 };
  }

  async promoteParticipants(ids: string[]): Promise<{ status: number }> {
    return { status: this.act(this.world.me.id, 'promote', { participants: ids }) ? 200 : 403 };
  }

  async demoteParticipants(ids: string[]): Promise<{ status: number }> {
    return { status: this.act(this.world.me.id, 'demote', { participants: ids }) ? 200 : 403 };
  }

  async getInviteCode(): Promise<string> {
    if (!this.#isAdmin(this.world.me.id)) throw new Error('not-authorized');
    return this.#inviteCode;
  }

  async revokeInvite(): Promise<void> {
    if (!this.#isAdmin(this.world.me.id)) throw new Error('not-authorized');
    this.#inviteCode = newCode();
  }

  async leave(): Promise<void> {
    this.act(this.world.me.id, 'leave', {});
  }

  /**
   * `actor` (the account or a peer) changes the group; false (nothing changes) when WhatsApp would refuse: not a
   * member, or not an admin for an admin action. Notifies the client like WhatsApp Web.
   */
  act(
    actor: string,
    type: 'subject' | 'description' | 'add' | 'remove' | 'promote' | 'demote' | 'leave',
    change: { subject?: string; description?: string; participants?: string[] },
  ): boolean {
    if (!this.#has(actor) || (type !== 'leave' && !this.#isAdmin(actor))) return false;
    const ids = type === 'leave' ? [actor] : (change.participants ?? []);
    if (type === 'subject') this.name = change.subject ?? this.name;
    else if (type === 'description') this.description = change.description ?? '';
    else if (type === 'add') {
      for (const id of ids) if (!this.#has(id)) this.participants.push({ id: wid(id), isAdmin: false, isSuperAdmin: false });
    } else if (type === 'remove' || type === 'leave') this.participants = this.participants.filter((p) => !ids.includes(p.id._serialized));
    else for (const p of this.participants) if (ids.includes(p.id._serialized) && !p.isSuperAdmin) p.isAdmin = type === 'promote';
    const notification: GroupNotificationFields & { id: object } = {
      id: { fromMe: actor === this.world.me.id, remote: this.id._serialized, id: randomBytes(8).toString('hex').toUpperCase() },
      author: actor,
      body: type === 'subject' ? this.name : type === 'description' ? this.description : '',
      chatId: this.id._serialized,
      recipientIds: type === 'subject' || type === 'description' ? [] : ids,
      timestamp: Math.floor(Date.now() / 1000),
      type: (type === 'subject' ? T.SUBJECT : type === 'description' ? T.DESCRIPTION : type) as GroupNotificationTypes,
    };
    this.world.notify(eventOf(type), notification);
    return true;
  }

  /** Announces the group's creation (a `create` notification, reported by whatsapp-web.js as `group_update`). */
  announceCreate(actor: string): void {
    this.world.notify('group_update', {
      id: { fromMe: actor === this.world.me.id, remote: this.id._serialized, id: randomBytes(8).toString('hex').toUpperCase() },
      author: actor,
      body: this.name,
      chatId: this.id._serialized,
      recipientIds: this.participants.map((p) => p.id._serialized),
      timestamp: Math.floor(Date.now() / 1000),
      type: 'create' as GroupNotificationTypes,
    });
  }

  #has(id: string): boolean {
    return this.participants.some((p) => p.id._serialized === id);
  }

  #isAdmin(id: string): boolean {
    return this.participants.some((p) => p.id._serialized === id && (p.isAdmin || p.isSuperAdmin));
  }
}

function newCode(): string {
  return randomBytes(16).toString('base64url').slice(0, 22);
}
