/**
 * The organisation's team: members (roles, per-instance rights, removal), invitations (create, list, revoke, accept)
 * and the audit log. Rules in `orgs/access.ts`, `orgs/members.ts`, `orgs/invitations.ts` and `audit.ts`.
 */
import type { Request } from 'express';
import { defineRoute, type RouteDef } from '@wacloud/kit';
import { z } from 'zod';
import type { Accounts, AuthContext } from './accounts.js';
import type { AuditLog } from './audit.js';
import { requireAdmin } from './orgs/access.js';
import type { Invitations } from './orgs/invitations.js';
import type { Members } from './orgs/members.js';
import type { LoginThrottle } from './login-throttle.js';
import * as s from './schemas.js';
import type { Wallet } from './wallet.js';

export interface TeamDeps {
  accounts: Accounts;
  throttle: LoginThrottle;
  wallet: Wallet;
  members: Members;
  invitations: Invitations;
  audit: AuditLog;
  /** The caller's address (throttling of password checks). */
  address(req: Request): string;
}

const route = defineRoute<AuthContext>();
const err = (description: string) => ({ description, schema: s.errorResponse });
const authErr = { 401: err('Missing, invalid, expired or revoked access token, or no longer a member') };
const roleErr = { 403: err('`role_required`: only owners and admins; `owner_required`: only owners make, change or remove owners') };

const role = z.enum(['owner', 'admin', 'agent']).meta({ description: 'owner, admin or agent' });
const rights = z
  .object({
    canRead: z.boolean().meta({ description: 'The instance exists for the agent (its messages, contacts, events)' }),
    canWrite: z.boolean().meta({ description: 'Send through the instance (implies canRead)' }),
    canManageChats: z.boolean().meta({ description: 'Assign, transfer and change the status of its conversations (implies canRead)' }),
  })
  .strict();
const memberView = z.object({
  id: z.string(),
  userId: z.string(),
  email: z.string(),
  role,
  rights: z.record(z.string(), rights).meta({ description: 'Per instance id; owners and admins have every right on every instance' }),
  createdAt: z.string(),
});
const invitationView = z.object({ id: z.string(), email: z.string(), role, createdAt: z.string(), expiresAt: z.string() });
const memberParams = z.object({ memberId: z.string().regex(/^m_[\w-]{1,64}$/, 'must be a member id (m_…)') });
const rightsParams = memberParams.extend({ instanceId: s.instanceIdParams.shape.id });
const invitationParams = z.object({ invitationId: z.string().regex(/^inv_[0-9a-f]{18}$/, 'must be an invitation id (inv_…)') });
const auditView = z.object({
  id: z.string(),
  at: z.string(),
  actor: z.object({ memberId: z.string().nullable(), userId: z.string().nullable(), email: z.string().nullable() }),
  action: z.string().meta({ description: 'e.g. member.invited, member.role_changed, instance.created, token.deleted, webhook.updated' }),
  target: z.object({ type: z.string(), id: z.string() }),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** A page of the audit log: its cursors are `<epoch ms>-<12 hex>` (`audit.ts`); any other is refused, 400 `invalid_cursor`. */
const auditPageQuery = s.pageQuery.extend({
  cursor: z
    .string()
    .max(200)
    .meta({ pattern: '^\\d{13}-[0-9a-f]{12}$' })
    .optional()
    .meta({ description: "The previous page's nextCursor" }),
});

export function teamRoutes(d: TeamDeps): RouteDef[] {
  return [
    route({
      method: 'get',
      path: '/v1/members',
      operationId: 'listMembers',
      tags: ['team'],
      scope: 'user',
      summary: "The organisation's members with their roles and per-instance rights, oldest first",
      responses: { 200: { description: 'Members', schema: z.object({ items: z.array(memberView) }) }, ...authErr },
      handler: async ({ auth }) => ({ items: await d.members.list(auth) }),
    }),
    route({
      method: 'patch',
      path: '/v1/members/:memberId',
      operationId: 'setMemberRole',
      tags: ['team'],
      scope: 'user',
      summary: "Change a member's role. The organisation always keeps an owner",
      params: memberParams,
      body: z.object({ role }).strict(),
      responses: {
        200: { description: 'The member', schema: memberView },
        400: err('`invalid_request`: a role outside owner, admin, agent'),
        ...roleErr,
        404: err('`member_not_found`'),
        409: err('`last_owner`: demoting the only owner (yourself included)'),
        ...authErr,
      },
      handler: ({ auth, params, body }) => d.members.setRole(auth, params.memberId, body.role),
    }),
    route({
      method: 'put',
      path: '/v1/members/:memberId/rights/:instanceId',
      operationId: 'setMemberRights',
      tags: ['team'],
      scope: 'user',
      summary: "Set an agent's rights on one instance of the organisation (all false: none)",
      params: rightsParams,
      body: rights,
      responses: {
        200: { description: 'The member', schema: memberView },
        400: err('`invalid_request`'),
        ...roleErr,
        404: err('`member_not_found`; `instance_not_found`: no such instance in your organisation'),
        ...authErr,
      },
      handler: ({ auth, params, body }) => d.members.setRights(auth, params.memberId, params.instanceId, body),
    }),
    route({
      method: 'delete',
      path: '/v1/members/:memberId',
      operationId: 'removeMember',
      tags: ['team'],
      scope: 'user',
      summary:
        'Remove a member (or leave, with your own id): its access ends at once — its access tokens are refused and its ' +
        'event streams closed (4401). Its account stays, with an organisation of its own at its next login',
      params: memberParams,
      responses: {
        204: { description: 'Removed' },
        ...roleErr,
        404: err('`member_not_found`'),
        409: err('`last_owner`: removing the only owner (yourself included)'),
        ...authErr,
      },
      handler: async ({ auth, params }) => {
        await d.members.remove(auth, params.memberId);
      },
    }),
    route({
      method: 'post',
      path: '/v1/invitations',
      operationId: 'createInvitation',
      tags: ['team'],
      scope: 'user',
      summary:
        'Invite an email with a role. The answer carries the invitation token once (and `acceptPath`, the dashboard ' +
        'link that accepts it): pass it on to the invitee; it expires and can be used once',
      body: z.object({ email: s.email, role }).strict(),
      responses: {
        201: {
          description: 'The invitation, with its token',
          schema: invitationView.extend({ token: z.string(), acceptPath: z.string() }),
        },
        400: err('`invalid_request`: bad email or a role outside owner, admin, agent'),
        ...roleErr,
        409: err('`already_member`: that email is a member already'),
        ...authErr,
      },
      handler: ({ auth, body }) => d.invitations.invite(auth, body.email, body.role),
    }),
    route({
      method: 'get',
      path: '/v1/invitations',
      operationId: 'listInvitations',
      tags: ['team'],
      scope: 'user',
      summary: 'Pending invitations (not accepted, revoked or expired), newest first; never their tokens',
      responses: {
        200: { description: 'Invitations', schema: z.object({ items: z.array(invitationView) }) },
        ...roleErr,
        ...authErr,
      },
      handler: async ({ auth }) => ({ items: await d.invitations.list(auth) }),
    }),
    route({
      method: 'delete',
      path: '/v1/invitations/:invitationId',
      operationId: 'revokeInvitation',
      tags: ['team'],
      scope: 'user',
      summary: 'Revoke a pending invitation: its link no longer works',
      params: invitationParams,
      responses: { 204: { description: 'Revoked' }, ...roleErr, 404: err('`invitation_not_found`'), ...authErr },
      handler: async ({ auth, params }) => {
        await d.invitations.revoke(auth, params.invitationId);
      },
    }),
    route({
      method: 'post',
      path: '/v1/invitations/accept',
      operationId: 'acceptInvitation',
      tags: ['team'],
      scope: 'none',
      summary:
        'Accept an invitation: registers the invited email with this password, or — when it has an account — attaches it ' +
        '(the password must be its own; its current organisation must be empty). Answers like a login',
      body: z.object({ token: z.string().min(1).max(200), password: s.password }).strict(),
      responses: {
        200: { description: 'Access token of the new member', schema: s.loginView },
        400: err('`invalid_request`'),
        401: err('`invalid_credentials`: the account exists and this is not its password'),
        404: err('`invitation_not_found`: unknown or revoked token'),
        409: err(
          '`invitation_used`: used already; `already_member`; `organisation_not_empty`: the account runs an organisation with others, instances or money',
        ),
        410: err('`invitation_expired`'),
        429: err('`too_many_attempts`: too many password attempts; see Retry-After'),
      },
      // A refusal's details.retryAfterS goes out as Retry-After (kit's sendError).
      handler: async ({ body, req }) => {
        const user = await d.invitations.accept(body.token, body.password, (email) =>
          d.throttle.attempt(email, d.address(req), () => d.accounts.checkCredentials(email, body.password)),
        );
        const view = d.accounts.view(user);
        return { ...(await d.accounts.issueToken(user)), user: { ...view, balanceMinor: await d.wallet.balance(user.orgId!) } };
      },
    }),
    route({
      method: 'get',
      path: '/v1/audit',
      operationId: 'listAudit',
      tags: ['team'],
      scope: 'user',
      summary:
        "The organisation's audit log, newest first: invitations, role and right changes, removals, instance creation and " +
        'deletion, token and webhook changes. Append-only',
      query: auditPageQuery,
      responses: {
        200: { description: 'A page', schema: z.object({ items: z.array(auditView), nextCursor: z.string().nullable() }) },
        400: err('`invalid_cursor`'),
        ...roleErr,
        ...authErr,
      },
      handler: ({ auth, query }) => {
        requireAdmin(auth);
        return d.audit.page(auth.orgId, query.limit ?? 50, query.cursor);
      },
    }),
  ];
}
