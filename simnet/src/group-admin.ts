/**
 * Group administration on the simulated network, by a linked device (request frames) or a phone (test hooks):
 * create, subject, description, add / remove / promote / demote participants, the invite code, leave. The owner is
 * always an admin; everything but create, info and leave needs the actor to be an admin. A change is checked in full
 * before anything changes (one participant that cannot take it refuses the whole request), then pushed to every
 * participant (those removed or leaving included) as a `group_update`, with the group's new contact card.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { NetworkCore } from './core.js';
import { SimnetError, groupContact, phoneOf, userId, type Group } from './model.js';
import type { WireGroupInfo, WireGroupUpdate } from './protocol.js';

type ParticipantAction = 'add' | 'remove' | 'promote' | 'demote';

export class GroupAdmin {
  constructor(private readonly core: NetworkCore) {}

  /**
   * Account `owner` creates a group with `participants` (phones or user ids); `extra` sets its description and admins.
   * @throws SimnetError `account_not_found` (404) for an unknown owner, `number_not_on_whatsapp` (422) for a
   *   participant not on the network (nothing is created).
   */
  create(owner: string, subject: string, participants: string[], extra: { description?: string; admins?: string[] } = {}): WireGroupInfo {
    this.core.views.requireAccount(owner);
    const phones = [...new Set([owner, ...participants.map((p) => this.#onNetwork(p))])];
    let id: string;
    do id = `120363${randomInt(100_000_000, 999_999_999)}${randomInt(100_000, 999_999)}@g.us`;
    while (this.core.groups.has(id));
    const group: Group = { id, name: subject, owner, participants: phones, admins: [], createdAt: Date.now() };
    if (extra.description !== undefined) group.description = extra.description;
    if (extra.admins) group.admins = extra.admins.filter((a) => a !== owner && phones.includes(a));
    this.core.groups.set(id, group);
    for (const phone of phones) {
      this.core.ensureChat(phone, id);
      for (const other of phones) if (other !== phone) this.core.ensurePeer(phone, other);
    }
    this.#announce(group, { action: 'create', actor: userId(owner), participants: phones.map(userId), subject }, []);
    return info(group);
  }

  /** The group as member `phone` sees it. @throws SimnetError `group_not_found` (404). */
  info(phone: string, groupId: string): WireGroupInfo {
    return info(this.#member(phone, groupId));
  }

  /** @throws SimnetError `group_not_found` (404), `not_group_admin` (403). */
  setSubject(phone: string, groupId: string, subject: string): WireGroupInfo {
    const group = this.#admin(phone, groupId);
    group.name = subject;
    this.#announce(group, { action: 'subject', actor: userId(phone), subject }, []);
    return info(group);
  }

  /** @throws SimnetError `group_not_found` (404), `not_group_admin` (403). */
  setDescription(phone: string, groupId: string, description: string): WireGroupInfo {
    const group = this.#admin(phone, groupId);
    group.description = description;
    this.#announce(group, { action: 'description', actor: userId(phone), description }, []);
    return info(group);
  }

  /**
   * Admin `phone` adds, removes, promotes or demotes `participants` (phones or user ids).
   * @throws SimnetError `group_not_found` (404), `not_group_admin` (403), `number_not_on_whatsapp` (422, add),
   *   `not_a_participant` (422), `cannot_change_owner` (403: remove or demote the owner).
   */
  changeParticipants(phone: string, groupId: string, action: ParticipantAction, participants: string[]): WireGroupInfo {
    const group = this.#admin(phone, groupId);
    const phones = [...new Set(participants.map((p) => (action === 'add' ? this.#onNetwork(p) : toPhone(p))))];
    if (action !== 'add') {
      const outside = phones.filter((p) => !group.participants.includes(p));
      if (outside.length) throw new SimnetError('not_a_participant', `not in the group: ${outside.map(userId).join(', ')}`, 422);
      if ((action === 'remove' || action === 'demote') && phones.includes(group.owner)) {
        throw new SimnetError('cannot_change_owner', "the group's creator cannot be removed or demoted", 403);
      }
    }
    const admins = new Set(group.admins ?? []);
    const gone: string[] = [];
    if (action === 'add') {
      const added = phones.filter((p) => !group.participants.includes(p));
      group.participants.push(...added);
      for (const p of added) {
        this.core.ensureChat(p, group.id);
        for (const other of group.participants.filter((o) => o !== p)) {
          this.core.ensurePeer(p, other);
          this.core.ensurePeer(other, p);
        }
      }
    } else if (action === 'remove') {
      group.participants = group.participants.filter((p) => !phones.includes(p));
      for (const p of phones) admins.delete(p);
      gone.push(...phones);
    } else if (action === 'promote') for (const p of phones) admins.add(p);
    else for (const p of phones) admins.delete(p);
    group.admins = [...admins];
    this.#announce(group, { action, actor: userId(phone), participants: phones.map(userId) }, gone);
    return info(group);
  }

  /** The invite code (made on first use); `revoke` replaces it. @throws SimnetError `group_not_found`, `not_group_admin`. */
  inviteCode(phone: string, groupId: string, revoke: boolean): string {
    const group = this.#admin(phone, groupId);
    if (revoke || group.inviteCode === undefined) group.inviteCode = randomBytes(16).toString('base64url').slice(0, 22);
    if (revoke) this.#announce(group, { action: 'invite_revoked', actor: userId(phone) }, []);
    return group.inviteCode;
  }

  /** Member `phone` leaves; when no admin is left, the first participant becomes one. @throws SimnetError `group_not_found`. */
  leave(phone: string, groupId: string): void {
    const group = this.#member(phone, groupId);
    group.participants = group.participants.filter((p) => p !== phone);
    group.admins = (group.admins ?? []).filter((p) => p !== phone);
    const first = group.participants[0];
    if (first !== undefined && !group.participants.includes(group.owner) && group.admins.length === 0) group.admins.push(first);
    this.#announce(group, { action: 'leave', actor: userId(phone), participants: [userId(phone)] }, [phone]);
  }

  /** Pushes `update` and the group's new contact card to the participants and to `gone` (who just left). */
  #announce(group: Group, update: Omit<WireGroupUpdate, 'groupId' | 'timestamp'>, gone: string[]): void {
    const event: WireGroupUpdate = { groupId: group.id, timestamp: Date.now(), ...update };
    for (const p of new Set([...group.participants, ...gone])) {
      this.core.push(p, { kind: 'group_update', update: event });
      this.core.push(p, { kind: 'contact', contact: groupContact(group) });
    }
  }

  /** @throws SimnetError `group_not_found` (404) unless `phone` is a member of group `groupId`. */
  #member(phone: string, groupId: string): Group {
    this.core.views.requireAccount(phone);
    const group = this.core.groups.get(groupId);
    if (!group || !group.participants.includes(phone))
      throw new SimnetError('group_not_found', `no group ${groupId} with ${phone} as a member`);
    return group;
  }

  /** @throws SimnetError `group_not_found` (404), `not_group_admin` (403). */
  #admin(phone: string, groupId: string): Group {
    const group = this.#member(phone, groupId);
    if (!isAdmin(group, phone)) throw new SimnetError('not_group_admin', `${userId(phone)} is not an admin of ${groupId}`, 403);
    return group;
  }

  /** The phone of user `p` (phone or user id). @throws SimnetError `number_not_on_whatsapp` (422) off the network. */
  #onNetwork(p: string): string {
    const phone = toPhone(p);
    if (!this.core.accounts.has(phone)) throw new SimnetError('number_not_on_whatsapp', `${userId(phone)} is not on WhatsApp`, 422);
    return phone;
  }
}

/** Whether `phone` is an admin of `group` (the owner always is, while a participant). */
export function isAdmin(group: Group, phone: string): boolean {
  return group.participants.includes(phone) && (phone === group.owner || (group.admins ?? []).includes(phone));
}

/** `15551234567@c.us`, `+15551234567` or digits → digits. */
function toPhone(p: string): string {
  return phoneOf(p) ?? p.replace(/\D/g, '');
}

function info(group: Group): WireGroupInfo {
  return {
    id: group.id,
    subject: group.name,
    ...(group.description ? { description: group.description } : {}),
    owner: userId(group.owner),
    participants: group.participants.map((p) => ({ id: userId(p), isAdmin: isAdmin(group, p), isSuperAdmin: p === group.owner })),
  };
}
