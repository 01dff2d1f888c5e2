/**
 * Group administration of the {@link Engine}: create, rename, describe, add / remove / promote / demote participants,
 * the invite link, leave; and `group_update`, the event each change makes (own changes too). Group ids are
 * `<id>@g.us`, participants `<digits>@c.us`.
 */

import type { EngineGroup, EngineGroupParticipant } from './engine-groups-model.js';

export type { EngineGroupParticipant };

/** A group as the account sees it now: the one group shape of `engine-groups-model.ts`. */
export type EngineGroupInfo = EngineGroup;

/** What a group change did. */
export type GroupAction = 'create' | 'subject' | 'description' | 'add' | 'remove' | 'promote' | 'demote' | 'leave' | 'invite_revoked';

/** One change of a group, by anyone (the account included). */
export interface EngineGroupUpdate {
  groupId: string;
  action: GroupAction;
  /** Who did it (`<digits>@c.us`), when known. */
  actor?: string | undefined;
  /** The participants the change is about (add, remove, promote, demote, leave, create). */
  participants?: string[] | undefined;
  /** The new subject (create, subject). */
  subject?: string | undefined;
  /** The new description (description). */
  description?: string | undefined;
  /** Epoch ms. */
  timestamp: number;
}

/** Participant changes an admin makes. */
export type ParticipantAction = 'add' | 'remove' | 'promote' | 'demote';

/**
 * Group administration every engine offers. All need WORKING (else `EngineNotReadyError`); all but `createGroup`,
 * `groupInfo` and `leaveGroup` need the account to be an admin of the group.
 * Common EngineError codes: `group_not_found` (no such group, or the account is not a member), `not_group_admin`.
 */
export interface EngineGroups {
  /**
   * Creates a group with `subject` and `participants` (user ids); the account is its creator and admin. Nothing is
   * created when one participant is not on WhatsApp.
   * @throws EngineError `number_not_on_whatsapp` (details in the message), `invalid_request` (empty subject).
   */
  createGroup(subject: string, participants: string[]): Promise<EngineGroupInfo>;
  /** The group now. @throws EngineError `group_not_found`. */
  groupInfo(groupId: string): Promise<EngineGroupInfo>;
  /** @throws EngineError `group_not_found`, `not_group_admin`. */
  setGroupSubject(groupId: string, subject: string): Promise<EngineGroupInfo>;
  /** @throws EngineError `group_not_found`, `not_group_admin`. */
  setGroupDescription(groupId: string, description: string): Promise<EngineGroupInfo>;
  /**
   * Adds, removes, promotes or demotes `participants`. Nothing changes when one of them cannot take the change.
   * @throws EngineError `group_not_found`, `not_group_admin`, `number_not_on_whatsapp` (add), `not_a_participant`
   *   (remove, promote, demote), `cannot_change_owner` (remove or demote the creator).
   */
  changeParticipants(groupId: string, action: ParticipantAction, participants: string[]): Promise<EngineGroupInfo>;
  /** The current invite code (the link is `https://chat.whatsapp.com/<code>`). @throws `group_not_found`, `not_group_admin`. */
  groupInviteCode(groupId: string): Promise<string>;
  /** Invalidates the invite code; resolves with the new one. @throws `group_not_found`, `not_group_admin`. */
  revokeGroupInvite(groupId: string): Promise<string>;
  /** The account leaves the group. @throws EngineError `group_not_found`. */
  leaveGroup(groupId: string): Promise<void>;
}
