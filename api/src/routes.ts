/**
 * The api's endpoints. Scopes: `none` (public) and `user` (a valid access token of a member; handlers only ever touch
 * the caller's organisation's data — another organisation's instance is a 404, and so is one an agent cannot read).
 * Managing instances, tokens, webhooks and the wallet needs owner or admin (`orgs/access.ts`).
 */
import type { Request } from 'express';
import { defineRoute, type RouteDef } from '@wacloud/kit';
import { z } from 'zod';
import type { Accounts, AuthContext } from './accounts.js';
import type { AuditLog } from './audit.js';
import type { Billing } from './billing.js';
import type { ApiConfig } from './config.js';
import { AppError } from './errors.js';
import { GATEWAY_TOKEN_NAME, type InstanceClient } from './instance-client.js';
import type { InstanceService } from './instances.js';
import type { LoginThrottle } from './login-throttle.js';
import { isAdmin, requireAdmin, requireRight, rightsOn } from './orgs/access.js';
import type { Invitations } from './orgs/invitations.js';
import type { Members } from './orgs/members.js';
import * as s from './schemas.js';
import type { ApiStore, LedgerDoc } from './store.js';
import type { Wallet } from './wallet.js';
import { teamRoutes } from './team-routes.js';
import { webhookRoutes } from './webhook-routes.js';
import type { WsTickets } from './gateway/ws-tickets.js';
import { wsTicketRoutes } from './ws-ticket-routes.js';
import { statsRoutes, type StatsDeps } from './stats/stats-routes.js';
import { inboxRoutes, type InboxRouteDeps } from './inbox/routes.js';
import { contactApiRoutes, type ContactServices } from './contacts/index.js';
import type { Logger } from 'pino';

export interface RouteDeps extends StatsDeps {
  config: ApiConfig;
  store: ApiStore;
  accounts: Accounts;
  throttle: LoginThrottle;
  wallet: Wallet;
  instances: InstanceService;
  client: InstanceClient;
  billing: Billing;
  members: Members;
  invitations: Invitations;
  audit: AuditLog;
  logger?: Logger; // where failures of instance calls are logged (webhook routes)
  tickets?: WsTickets; // browsers' WebSocket tickets; none: no ticket route
  inbox?: InboxRouteDeps; // the conversations (`inbox/`); none: no inbox routes
  contacts: ContactServices; // the contact book (contacts/)
}

const route = defineRoute<AuthContext>();
const err = (description: string) => ({ description, schema: s.errorResponse });
const authErr = { 401: err('Missing, invalid, expired or revoked access token') };
const roleErr = { 403: err('`role_required`: only owners and admins of the organisation') };
/** Errors of routes that ask the provider to change an instance (create, delete). */
const providerErr = {
  500: err('`provider_rejected`: the instance runtime refused the request; retrying will not help'),
  503: err('`provider_unavailable`: the instance runtime is unavailable; nothing changed, retry shortly'),
};
/** Errors of routes that call the instance's internal API (tokens). */
const instanceErr = {
  409: err('`instance_suspended`: the instance is suspended for an unpaid period; `instance_stopped`: its tenant stopped it'),
  500: err('`provider_rejected`: the instance runtime refused the request; retrying will not help'),
  502: err('`upstream_error`: the instance answered with an error'),
  503: err('`instance_unavailable`: the instance is not reachable yet; retry shortly'),
};
/** What the session control routes do. */
const CONTROL_SUMMARIES = {
  stop:
    'Stop the instance: its runtime is scaled to zero and its WhatsApp session kept; phase `Stopped` until started. ' +
    'Not a billing suspension: a stopped instance is still billed (it keeps its slot and session). Idempotent.',
  start: 'Start a stopped instance: its runtime runs again and the stored session logs in without a QR. Idempotent.',
  restart:
    "Restart the instance's runtime (process, container or pod); the stored session logs in again without a QR. " +
    'Open event streams end with the old runtime.',
} as const;

function ledgerView(e: LedgerDoc) {
  return {
    id: e._id,
    type: e.type,
    amountMinor: e.amountMinor,
    balanceAfterMinor: e.balanceAfterMinor,
    ...(e.instanceId ? { instanceId: e.instanceId } : {}),
    ...(e.period ? { period: { start: e.period.start.toISOString(), end: e.period.end.toISOString() } } : {}),
    memo: e.memo,
    createdAt: e.createdAt.toISOString(),
  };
}

/** The caller's role and rights, for `/v1/me`. */
function membership(auth: AuthContext) {
  return { organisationId: auth.orgId, memberId: auth.memberId, role: auth.role };
}

/** An admin-only action on instance `id`: an agent that cannot read it gets 404 (it does not exist for it), else 403 `role_required`. */
function adminOn(auth: AuthContext, id: string): void {
  if (isAdmin(auth)) return;
  requireRight(auth, id, 'canRead');
  requireAdmin(auth);
}

function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

export function apiRoutes(d: RouteDeps): RouteDef[] {
  return [
    route({
      method: 'get',
      path: '/health',
      operationId: 'health',
      tags: ['health'],
      scope: 'none',
      summary: 'Liveness of the api',
      responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('ok'), provider: z.string() }) } },
      handler: () => ({ status: 'ok', provider: d.config.provider }),
    }),
    route({
      method: 'post',
      path: '/v1/auth/register',
      operationId: 'register',
      tags: ['auth'],
      scope: 'none',
      summary: 'Register a tenant account. Throttled per client address.',
      body: s.credentials,
      responses: {
        201: { description: 'The new account', schema: s.userView },
        400: err('Invalid email or password'),
        409: err('Email taken'),
        429: err('`too_many_attempts`: too many registrations from this address; the Retry-After header gives the wait in seconds'),
      },
      // A refusal's details.retryAfterS goes out as Retry-After (kit's sendError), here and on the login.
      handler: async ({ body, req }) => {
        await d.throttle.register(clientAddress(req));
        return d.accounts.register(body.email, body.password);
      },
    }),
    route({
      method: 'post',
      path: '/v1/auth/login',
      operationId: 'login',
      tags: ['auth'],
      scope: 'none',
      summary:
        'Log in: an access token (JWT) for the api and the gateway. Every attempt counts before the password is checked ' +
        '(a success gives it back): a few per account and address, then a delay that doubles with each attempt; looser ' +
        'bounds per account and per address.',
      body: s.credentials,
      responses: {
        200: { description: 'Access token', schema: s.loginView },
        401: err('Wrong credentials'),
        429: err('`too_many_attempts`: too many login attempts; the Retry-After header gives the wait in seconds'),
      },
      handler: async ({ body, req }) => {
        const user = await d.throttle.attempt(body.email, clientAddress(req), () => d.accounts.checkCredentials(body.email, body.password));
        if (!user) throw new AppError('invalid_credentials');
        const member = await d.accounts.ensureMember(user);
        const view = { ...d.accounts.view(user), balanceMinor: await d.wallet.balance(member.orgId) };
        return { ...(await d.accounts.issueToken(user)), user: view };
      },
    }),
    route({
      method: 'post',
      path: '/v1/auth/logout',
      operationId: 'logout',
      tags: ['auth'],
      scope: 'user',
      summary: 'Log out: this access token is refused from now on',
      responses: { 204: { description: 'Logged out' }, ...authErr },
      handler: async ({ auth }) => {
        await d.accounts.revoke(auth.sessionId);
      },
    }),
    route({
      method: 'get',
      path: '/v1/me',
      operationId: 'me',
      tags: ['auth'],
      scope: 'user',
      summary: 'The profile: email, balance (minor units), member since',
      responses: { 200: { description: 'Profile', schema: s.userView }, ...authErr },
      handler: async ({ auth }) => {
        const u = await d.accounts.get(auth.userId);
        return { ...d.accounts.view(u), balanceMinor: await d.wallet.balance(auth.orgId), ...membership(auth) };
      },
    }),
    route({
      method: 'patch',
      path: '/v1/me',
      operationId: 'updateMe',
      tags: ['auth'],
      scope: 'user',
      summary: "The member's preferences: dashboard language and time zone (a field left out is kept, null forgets it)",
      body: s.preferencesBody,
      responses: {
        200: { description: 'Profile', schema: s.userView },
        400: err('`invalid_request`: unknown locale or time zone'),
        ...authErr,
      },
      handler: async ({ auth, body }) => {
        const u = await d.accounts.setPreferences(auth.userId, body);
        return { ...d.accounts.view(u), balanceMinor: await d.wallet.balance(auth.orgId), ...membership(auth) };
      },
    }),
    route({
      method: 'get',
      path: '/v1/pricing',
      operationId: 'pricing',
      tags: ['wallet'],
      scope: 'none',
      summary: 'Monthly price of one instance',
      responses: { 200: { description: 'Price', schema: s.pricingView } },
      handler: () => ({
        monthlyPriceMinor: d.config.priceMonthlyMinor,
        currency: d.config.currency,
        period: 'P1M',
        billing:
          'Prepaid per instance: the first month is charged at creation; each next month at 00:00 UTC after the paid period ends. Unpaid instances are suspended, then deleted after the next missed charge.',
      }),
    }),
    route({
      method: 'post',
      path: '/v1/wallet/deposits',
      operationId: 'deposit',
      tags: ['wallet'],
      scope: 'user',
      summary:
        "Deposit money (emulated payment) into the organisation's wallet; suspended instances are then resumed, oldest first, while the balance pays. An Idempotency-Key header makes retries safe. Owners and admins.",
      body: s.depositBody(d.config.maxDepositMinor),
      responses: {
        201: {
          description: 'The ledger entry, the balance after resumptions, the resumed instances',
          schema: z.object({ transaction: s.ledgerView, balanceMinor: z.number().int(), resumedInstances: z.array(z.string()) }),
        },
        400: err('Invalid amount or Idempotency-Key'),
        ...roleErr,
        ...authErr,
      },
      handler: async ({ body, auth, req }) => {
        requireAdmin(auth);
        const key = req.header('idempotency-key');
        if (key !== undefined && !s.idempotencyKey.safeParse(key).success)
          throw new AppError('invalid_request', 'Idempotency-Key must be 1–128 characters of letters, digits, . _ : -');
        const r = await d.wallet.deposit(auth.orgId, body.amount, key);
        // Billing rule: a deposit tries to reactivate the organisation's suspended instances at once.
        const resumedInstances = await d.billing.resumeSuspended(auth.orgId, new Date());
        return { transaction: ledgerView(r.entry), balanceMinor: await d.wallet.balance(auth.orgId), resumedInstances };
      },
    }),
    route({
      method: 'get',
      path: '/v1/wallet/transactions',
      operationId: 'transactions',
      tags: ['wallet'],
      scope: 'user',
      summary: "The organisation's deposits, charges (with their periods) and refunds, newest first. Owners and admins",
      query: s.pageQuery,
      responses: {
        200: { description: 'A page', schema: z.object({ items: z.array(s.ledgerView), nextCursor: z.string().nullable() }) },
        ...roleErr,
        ...authErr,
      },
      handler: async ({ auth, query }) => {
        requireAdmin(auth);
        const limit = query.limit ?? 50;
        let before = Number.MAX_SAFE_INTEGER;
        if (query.cursor) {
          if (!/^\d+$/.test(query.cursor)) throw new AppError('invalid_cursor');
          before = Number(query.cursor);
        }
        const items = await d.store.ledger
          .find({ userId: auth.orgId, seq: { $lt: before } })
          .sort({ seq: -1 })
          .limit(limit + 1)
          .toArray();
        const page = items.slice(0, limit);
        return { items: page.map(ledgerView), nextCursor: items.length > limit ? String(page[page.length - 1]!.seq) : null };
      },
    }),
    route({
      method: 'post',
      path: '/v1/instances',
      operationId: 'createInstance',
      tags: ['instances'],
      scope: 'user',
      summary: 'Create an instance: needs a balance ≥ the monthly price, which is charged for the first period',
      body: s.createInstanceBody,
      responses: {
        201: { description: 'The instance', schema: s.instanceView },
        400: err('Invalid name'),
        402: err('Balance too low'),
        ...roleErr,
        409: err('Name taken'),
        ...providerErr,
        ...authErr,
      },
      handler: async ({ auth, body }) => {
        requireAdmin(auth);
        const v = await d.instances.create(auth.orgId, body.name);
        await d.audit.record(auth.orgId, auth, 'instance.created', { type: 'instance', id: v.id }, { name: v.name });
        return v;
      },
    }),
    route({
      method: 'get',
      path: '/v1/instances',
      operationId: 'listInstances',
      tags: ['instances'],
      scope: 'user',
      summary:
        "The organisation's instances (an agent's: those it can read) with phase, session state, suspended, paid until, and the caller's rights",
      responses: { 200: { description: 'Instances', schema: z.object({ items: z.array(s.instanceView) }) }, ...authErr },
      handler: async ({ auth }) => ({
        items: (await d.instances.list(auth.orgId, (id) => rightsOn(auth, id).canRead)).map((v) => ({
          ...v,
          rights: rightsOn(auth, v.id),
        })),
      }),
    }),
    route({
      method: 'get',
      path: '/v1/instances/:id',
      operationId: 'getInstance',
      tags: ['instances'],
      scope: 'user',
      summary: 'One of your instances',
      params: s.instanceIdParams,
      responses: { 200: { description: 'Instance', schema: s.instanceView }, 404: err('No such instance'), ...authErr },
      handler: async ({ auth, params }) => {
        requireRight(auth, params.id, 'canRead');
        return { ...(await d.instances.get(auth.orgId, params.id)), rights: rightsOn(auth, params.id) };
      },
    }),
    route({
      method: 'delete',
      path: '/v1/instances/:id',
      operationId: 'deleteInstance',
      tags: ['instances'],
      scope: 'user',
      summary: 'Delete an instance and its container/resources',
      params: s.instanceIdParams,
      responses: {
        204: { description: 'Deleted' },
        404: err('No such instance'),
        ...roleErr,
        ...providerErr,
        503: err('`provider_unavailable`: the instance runtime is unavailable, nothing changed, retry shortly; `busy`: retry'),
        ...authErr,
      },
      handler: async ({ auth, params }) => {
        adminOn(auth, params.id);
        await d.instances.delete(auth.orgId, params.id);
        await d.audit.record(auth.orgId, auth, 'instance.deleted', { type: 'instance', id: params.id });
      },
    }),
    ...(['stop', 'start', 'restart'] as const).map((action) =>
      route({
        method: 'post',
        path: `/v1/instances/:id/${action}`,
        operationId: `${action}Instance`,
        tags: ['instances'],
        scope: 'user',
        summary: CONTROL_SUMMARIES[action],
        params: s.instanceIdParams,
        responses: {
          200: { description: 'The instance afterwards', schema: s.instanceView },
          404: err('`instance_not_found`: no such instance'),
          409: err(
            action === 'restart'
              ? '`instance_suspended`: billing suspended the instance for an unpaid period (a top-up resumes it); `instance_stopped`: the instance is stopped, start it instead'
              : '`instance_suspended`: billing suspended the instance for an unpaid period; a top-up resumes it',
          ),
          ...roleErr,
          500: err('`provider_rejected`: the instance runtime refused the request; retrying will not help'),
          503: err('`provider_unavailable`: the instance runtime is unavailable, nothing changed, retry shortly; `busy`: retry'),
          ...authErr,
        },
        handler: ({ auth, params }) => {
          adminOn(auth, params.id);
          return d.instances[action](auth.orgId, params.id);
        },
      }),
    ),
    route({
      method: 'post',
      path: '/v1/instances/:id/tokens',
      operationId: 'createInstanceToken',
      tags: ['tokens'],
      scope: 'user',
      summary: 'Create an access token to an instance; the plaintext is shown once',
      params: s.instanceIdParams,
      body: s.createTokenBody,
      responses: {
        201: { description: 'Token with its plaintext', schema: s.tokenView.extend({ token: z.string() }) },
        404: err('No such instance'),
        ...instanceErr,
        422: err('`reserved_name`: the token name is reserved'),
        ...roleErr,
        ...authErr,
      },
      handler: async ({ auth, params, body }) => {
        adminOn(auth, params.id);
        if (body.name === GATEWAY_TOKEN_NAME)
          throw new AppError('reserved_name', `"${GATEWAY_TOKEN_NAME}" is reserved for the gateway; choose another name.`);
        const t = await d.client.createToken(await d.instances.endpoints(params.id, auth.orgId), body.name, body.permissions);
        await d.audit.record(
          auth.orgId,
          auth,
          'token.created',
          { type: 'token', id: t.id },
          { instanceId: params.id, name: t.name, permissions: t.permissions },
        );
        return t;
      },
    }),
    route({
      method: 'get',
      path: '/v1/instances/:id/tokens',
      operationId: 'listInstanceTokens',
      tags: ['tokens'],
      scope: 'user',
      summary: "An instance's access tokens (no secrets)",
      params: s.instanceIdParams,
      responses: {
        200: { description: 'Tokens', schema: z.object({ items: z.array(s.tokenView) }) },
        404: err('No such instance'),
        ...instanceErr,
        ...roleErr,
        ...authErr,
      },
      handler: async ({ auth, params }) => {
        adminOn(auth, params.id);
        return { items: await d.client.listTokens(await d.instances.endpoints(params.id, auth.orgId)) };
      },
    }),
    route({
      method: 'patch',
      path: '/v1/instances/:id/tokens/:tokenId',
      operationId: 'updateInstanceToken',
      tags: ['tokens'],
      scope: 'user',
      summary: "Change an access token's permissions",
      params: s.tokenParams,
      body: s.updateTokenBody,
      responses: {
        200: { description: 'Token', schema: s.tokenView },
        404: err('No such instance or token'),
        ...instanceErr,
        ...roleErr,
        ...authErr,
      },
      handler: async ({ auth, params, body }) => {
        adminOn(auth, params.id);
        const t = await d.client.setPermissions(await d.instances.endpoints(params.id, auth.orgId), params.tokenId, body.permissions);
        await d.audit.record(
          auth.orgId,
          auth,
          'token.updated',
          { type: 'token', id: params.tokenId },
          { instanceId: params.id, permissions: body.permissions },
        );
        return t;
      },
    }),
    route({
      method: 'delete',
      path: '/v1/instances/:id/tokens/:tokenId',
      operationId: 'deleteInstanceToken',
      tags: ['tokens'],
      scope: 'user',
      summary: 'Delete an access token to an instance',
      params: s.tokenParams,
      responses: { 204: { description: 'Deleted' }, 404: err('No such instance or token'), ...instanceErr, ...roleErr, ...authErr },
      handler: async ({ auth, params }) => {
        adminOn(auth, params.id);
        await d.client.deleteToken(await d.instances.endpoints(params.id, auth.orgId), params.tokenId);
        await d.audit.record(auth.orgId, auth, 'token.deleted', { type: 'token', id: params.tokenId }, { instanceId: params.id });
      },
    }),
    ...webhookRoutes(d.instances, d.logger, d.audit),
    ...teamRoutes({ ...d, address: clientAddress }),
    ...(d.tickets ? wsTicketRoutes(d.instances, d.tickets) : []),
    ...(d.stats ? statsRoutes(d.stats) : []),
    ...(d.inbox ? inboxRoutes(d.inbox) : []),
    ...contactApiRoutes(d.contacts),
  ];
}
