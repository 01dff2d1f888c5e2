/**
 * Group administration through the API: each call goes to the engine (which checks membership and admin rights
 * first, so a refused request changes nothing) and the stored group contact is refreshed from the answer. Changes
 * are announced as `group.update` events when WhatsApp reports them (`action-events.ts`).
 */
import type { EngineGroupInfo, ParticipantAction } from '../engines/engine-groups.js';
import type { Engine } from '../engines/engine.js';
import type { ActionEvents } from './action-events.js';
import { callEngine } from './engine-errors.js';

/** A group's invite link: the code and `https://chat.whatsapp.com/<code>`. */
export interface InviteView {
  code: string;
  link: string;
}

export class GroupsService {
  constructor(
    private readonly engine: Engine,
    private readonly events: ActionEvents,
  ) {}

  /**
   * Creates a group with the account as its creator and admin.
   * @throws AppError `number_not_on_whatsapp` (nothing created), `invalid_request`, `session_not_ready`, `engine_error`.
   */
  create(subject: string, participants: string[]): Promise<EngineGroupInfo> {
    return this.#stored(() => this.engine.createGroup(subject, participants));
  }

  /** The group now, as WhatsApp has it. @throws AppError `group_not_found`, `session_not_ready`. */
  get(groupId: string): Promise<EngineGroupInfo> {
    return this.#stored(() => this.engine.groupInfo(groupId));
  }

  /**
   * Sets the subject and / or the description (at least one).
   * @throws AppError `group_not_found`, `not_group_admin`, `session_not_ready`, `engine_error`.
   */
  async update(groupId: string, change: { subject?: string | undefined; description?: string | undefined }): Promise<EngineGroupInfo> {
    let group: EngineGroupInfo | undefined;
    if (change.subject !== undefined) group = await this.#stored(() => this.engine.setGroupSubject(groupId, change.subject!));
    if (change.description !== undefined) group = await this.#stored(() => this.engine.setGroupDescription(groupId, change.description!));
    return group ?? this.get(groupId);
  }

  /**
   * Adds, removes, promotes or demotes participants (all or none).
   * @throws AppError `group_not_found`, `not_group_admin`, `number_not_on_whatsapp`, `not_a_participant`,
   *   `cannot_change_owner`, `session_not_ready`, `engine_error`.
   */
  participants(groupId: string, action: ParticipantAction, ids: string[]): Promise<EngineGroupInfo> {
    return this.#stored(() => this.engine.changeParticipants(groupId, action, ids));
  }

  /** The invite link. @throws AppError `group_not_found`, `not_group_admin`, `session_not_ready`. */
  async invite(groupId: string): Promise<InviteView> {
    return inviteView(await callEngine(() => this.engine.groupInviteCode(groupId)));
  }

  /** Revokes the invite link; resolves with the new one. @throws AppError as {@link invite}. */
  async revokeInvite(groupId: string): Promise<InviteView> {
    return inviteView(await callEngine(() => this.engine.revokeGroupInvite(groupId)));
  }

  /** The account leaves the group. @throws AppError `group_not_found`, `session_not_ready`. */
  async leave(groupId: string): Promise<void> {
    await callEngine(() => this.engine.leaveGroup(groupId));
  }

  async #stored(call: () => Promise<EngineGroupInfo>): Promise<EngineGroupInfo> {
    const group = await callEngine(call);
    this.events.storeGroup(group);
    return group;
  }
}

function inviteView(code: string): InviteView {
  return { code, link: `https://chat.whatsapp.com/${code}` };
}
