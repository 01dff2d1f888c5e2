/**
 * Device requests of the network's feature modules (message actions, group administration), answered through
 * `reply`; SimnetErrors thrown here become failed responses in `SimNetwork`.
 */
import type { MessageActions } from './actions.js';
import type { GroupAdmin } from './group-admin.js';
import { SimnetError, type Device } from './model.js';
import type { RequestFrame, ResultMap } from './protocol.js';

type FeatureFrame = Extract<
  RequestFrame,
  {
    type:
      | 'react'
      | 'edit'
      | 'revoke'
      | 'forward'
      | `group_${'create' | 'info' | 'subject' | 'description' | 'participants' | 'invite' | 'leave'}`;
  }
>;

export interface Features {
  actions: MessageActions;
  groups: GroupAdmin;
}

/** Handles `frame` from linked device `device`. @throws SimnetError `invalid_request` for a frame no feature handles. */
export function handleFeatureRequest(
  f: Features,
  device: Device,
  frame: RequestFrame,
  reply: <T extends keyof ResultMap>(result: ResultMap[T]) => void,
): void {
  const me = device.phone;
  const fr = frame as FeatureFrame;
  switch (fr.type) {
    case 'react':
      f.actions.react(me, fr.messageId, fr.reaction);
      reply<'react'>({});
      return;
    case 'edit':
      reply<'edit'>({ edit: f.actions.edit(me, fr.messageId, fr.body) });
      return;
    case 'revoke':
      reply<'revoke'>({ revoke: f.actions.revoke(me, fr.messageId) });
      return;
    case 'forward':
      f.actions.forward(me, fr.messageId, fr.to, fr.key, device, (message) => reply<'forward'>({ message }));
      return;
    case 'group_create':
      reply<'group_create'>({ group: f.groups.create(me, fr.subject, fr.participants) });
      return;
    case 'group_info':
      reply<'group_info'>({ group: f.groups.info(me, fr.groupId) });
      return;
    case 'group_subject':
      reply<'group_subject'>({ group: f.groups.setSubject(me, fr.groupId, fr.subject) });
      return;
    case 'group_description':
      reply<'group_description'>({ group: f.groups.setDescription(me, fr.groupId, fr.description) });
      return;
    case 'group_participants':
      reply<'group_participants'>({ group: f.groups.changeParticipants(me, fr.groupId, fr.action, fr.participants) });
      return;
    case 'group_invite':
      reply<'group_invite'>({ code: f.groups.inviteCode(me, fr.groupId, fr.revoke) });
      return;
    case 'group_leave':
      f.groups.leave(me, fr.groupId);
      reply<'group_leave'>({});
      return;
    default:
      throw new SimnetError('invalid_request', `unknown request ${frame.type}`, 400);
  }
}
