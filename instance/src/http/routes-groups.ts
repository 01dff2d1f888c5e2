/**
 * Group administration of the public API: create, rename / describe, add / remove / promote / demote participants,
 * the invite link (get, revoke), leave. Writes need w, the invite link r. Every admin action needs the account to be
 * an admin of the group (403 not_group_admin); a request that cannot be done in full changes nothing.
 */
import { defineRoute, type RouteDef } from '@wacloud/kit';
import { z } from 'zod';
import type { GroupsService } from '../services/groups.js';
import type { TokenInfo } from '../services/tokens.js';
import * as s from './schemas.js';
import * as a from './schemas-actions.js';

const err = (description: string) => ({ description, schema: s.errorResponse });
const route = defineRoute<TokenInfo | undefined>();
const common = {
  401: err('Missing or invalid token'),
  409: err('Session not logged in (session_not_ready)'),
  502: err('WhatsApp refused or failed it (engine_error)'),
};
const inGroup = {
  ...common,
  400: err('Invalid group id or body'),
  404: err('No such group, or the account is not a member (group_not_found)'),
};
const asAdmin = { ...inGroup, 403: err('The account is not an admin of the group (not_group_admin), or the token lacks the permission') };

export function groupRoutes({ groups }: { groups: GroupsService }): RouteDef[] {
  return [
    route({
      method: 'post',
      path: '/v1/groups',
      operationId: 'createGroup',
      tags: ['groups'],
      scope: 'w',
      summary: 'Create a group with the account as its creator and admin',
      body: a.createGroupBody,
      responses: {
        201: { description: 'Created', schema: a.groupView },
        400: err('Invalid body'),
        403: err('The token lacks the needed permission'),
        422: err('A participant is not on WhatsApp (number_not_on_whatsapp): nothing was created'),
        ...common,
      },
      handler: async ({ res, body }) => void res.status(201).json(await groups.create(body.subject, body.participants)),
    }),
    route({
      method: 'patch',
      path: '/v1/groups/:id',
      operationId: 'updateGroup',
      tags: ['groups'],
      scope: 'w',
      summary: "Set the group's subject (1–100 characters) and / or description (up to 2048)",
      params: a.groupParams,
      body: a.updateGroupBody,
      responses: { 200: { description: 'The group now', schema: a.groupView }, ...asAdmin },
      handler: ({ params, body }) => groups.update(params.id, body),
    }),
    route({
      method: 'post',
      path: '/v1/groups/:id/participants/:action',
      operationId: 'changeGroupParticipants',
      tags: ['groups'],
      scope: 'w',
      summary: 'Add, remove, promote (to admin) or demote participants: all of them or none',
      params: a.participantsParams,
      body: a.participantsBody,
      responses: {
        200: { description: 'The group now', schema: a.groupView },
        ...asAdmin,
        403: err("Not an admin (not_group_admin); removing or demoting the group's creator (cannot_change_owner); or the token lacks w"),
        422: err('add: a user is not on WhatsApp (number_not_on_whatsapp); others: a user is not a participant (not_a_participant)'),
      },
      handler: ({ params, body }) => groups.participants(params.id, params.action, body.participants),
    }),
    route({
      method: 'get',
      path: '/v1/groups/:id/invite',
      operationId: 'getGroupInvite',
      tags: ['groups'],
      scope: 'r',
      summary: "The group's invite link (admins only)",
      params: a.groupParams,
      responses: { 200: { description: 'Invite link', schema: a.inviteView }, ...asAdmin },
      handler: ({ params }) => groups.invite(params.id),
    }),
    route({
      method: 'post',
      path: '/v1/groups/:id/invite/revoke',
      operationId: 'revokeGroupInvite',
      tags: ['groups'],
      scope: 'w',
      summary: 'Revoke the invite link (the old one stops working); answers the new one',
      params: a.groupParams,
      responses: { 200: { description: 'The new invite link', schema: a.inviteView }, ...asAdmin },
      handler: ({ params }) => groups.revokeInvite(params.id),
    }),
    route({
      method: 'post',
      path: '/v1/groups/:id/leave',
      operationId: 'leaveGroup',
      tags: ['groups'],
      scope: 'w',
      summary: 'The account leaves the group',
      params: a.groupParams,
      responses: {
        200: { description: 'Left', schema: z.object({ id: z.string(), left: z.literal(true) }) },
        ...inGroup,
        403: err('The token lacks the needed permission'),
      },
      handler: async ({ params }) => {
        await groups.leave(params.id);
        return { id: params.id, left: true };
      },
    }),
  ];
}
