/**
 * The public API, on PORT, guarded by instance tokens (`Authorization: Bearer <token>`): r = read, w = write, rw = both.
 * Handlers are thin: the route schemas validate, an application service does the work, the result is the response.
 */
import type { Response } from 'express';
import { defineRoute, type RouteDef } from '@wacloud/kit';
import { AppError } from '../errors.js';
import { z } from 'zod';
import type { ContactsService } from '../services/contacts.js';
import type { MessagingService } from '../services/messaging.js';
import type { SessionController } from '../services/session-controller.js';
import type { TokenInfo } from '../services/tokens.js';
import * as s from './schemas.js';
import { senderOf } from './sender.js';

export interface PublicDeps {
  session: SessionController;
  messaging: MessagingService;
  contacts: ContactsService;
  /** `POST /v1/messages?wait=true`: longest wait for sent or failed, ms (default 30 s). */
  sendWaitMs?: number;
}

const err = (description: string) => ({ description, schema: s.errorResponse });
const authErrors = { 401: err('Missing or invalid token'), 403: err('The token lacks the needed permission') };

const route = defineRoute<TokenInfo | undefined>();

export function publicRoutes({ session, messaging, contacts, sendWaitMs }: PublicDeps): RouteDef[] {
  const waitMs = sendWaitMs ?? 30_000;
  /** Answers a probe: 200 `{status: ok}` when `ok`, else 503 with `failure`; the session state and reason either way. */
  const probe = (res: Response, ok: boolean, failure: 'failed' | 'not_ready') => {
    const { state, reason } = session.status();
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : failure, state, ...(reason === undefined ? {} : { reason }) });
  };
  return [
    route({
      method: 'get',
      path: '/health',
      operationId: 'health',
      tags: ['health'],
      scope: 'none',
      summary: 'Liveness and session state (no token): the state and its reason only, never the linked account',
      responses: { 200: { description: 'The service is alive', schema: s.healthView } },
      handler: () => {
        // Anyone who reaches the port may ask; the account (phone, name) is for token holders (the event stream).
        const { account: _account, ...status } = session.status();
        return { status: 'ok', session: status, uptimeMs: session.uptimeMs() };
      },
    }),
    route({
      method: 'get',
      path: '/health/live',
      operationId: 'healthLive',
      tags: ['health'],
      scope: 'none',
      summary:
        'Liveness probe (no token): 503 once the session is FAILED because the reconnect budget is spent, so the instance gets restarted',
      responses: {
        200: { description: 'Alive', schema: s.probeView },
        503: { description: 'The reconnect budget is spent: restart the instance', schema: s.probeView },
      },
      handler: ({ res }) => probe(res, session.live(), 'failed'),
    }),
    route({
      method: 'get',
      path: '/health/ready',
      operationId: 'healthReady',
      tags: ['health'],
      scope: 'none',
      summary: 'Readiness (no token): 200 while the session is WORKING, else 503',
      responses: {
        200: { description: 'The session is WORKING', schema: s.probeView },
        503: { description: 'The session is not WORKING', schema: s.probeView },
      },
      handler: ({ res }) => probe(res, session.ready(), 'not_ready'),
    }),
    route({
      method: 'get',
      path: '/v1/token',
      operationId: 'getOwnToken',
      tags: ['tokens'],
      scope: 'any',
      summary: "The presented token's name and permissions",
      responses: { 200: { description: 'Token', schema: s.tokenView }, ...authErrors },
      handler: ({ auth }) => auth,
    }),
    route({
      method: 'get',
      path: '/v1/messages',
      operationId: 'listMessages',
      tags: ['messages'],
      scope: 'r',
      summary: 'Messages, newest first, filtered by time, text, chat, author, direction, group',
      query: s.listMessagesQuery,
      responses: {
        200: { description: 'A page of messages', schema: s.page(s.messageView) },
        400: err('Invalid filter'),
        422: err('`invalid_cursor`: the cursor was not issued by this instance for this query; start again without it'),
        ...authErrors,
      },
      handler: ({ query }) => messaging.list(query),
    }),
    route({
      method: 'get',
      path: '/v1/messages/:id',
      operationId: 'getMessage',
      tags: ['messages'],
      scope: 'r',
      summary: 'One message: a stored one by its WhatsApp id, or a queued one by its out_… id (with its status)',
      params: s.messageIdParams,
      responses: {
        200: { description: 'Message', schema: z.union([s.messageView, s.outgoingMessageView]) },
        404: err('No such message'),
        ...authErrors,
      },
      handler: ({ params }) => messaging.get(params.id),
    }),
    route({
      method: 'post',
      path: '/v1/messages',
      operationId: 'sendMessage',
      tags: ['messages'],
      scope: 'w',
      summary:
        'Queue a text message to a chat id or phone number (paced, sent once); the record names the sending token (and, ' +
        'sent through the main backend by a team member, that member)',
      description:
        'Answers 202 with the queued message (`id`, `status`); follow it with GET /v1/messages/{id} or the `message.status` ' +
        "live event: queued → sending → sent (then acks), or failed with an error. Messages go out at the instance's pace " +
        '(SEND_RATE_PER_S, SEND_BURST, SEND_JITTER_MS, SEND_CHAT_GAP_MS). Header `Idempotency-Key` (1–255 visible ASCII ' +
        'characters) makes retries safe: the same key from the same token answers with the first message and sends nothing ' +
        "more. `?wait=true` waits (at most SEND_WAIT_MAX_MS) and answers 201 once sent, or the failure's error.",
      query: s.sendMessageQuery,
      body: s.sendMessageBody,
      responses: {
        202: { description: 'Queued (or, for a repeated Idempotency-Key, the first message as it is now)', schema: s.outgoingMessageView },
        201: { description: '`?wait=true`: sent', schema: s.outgoingMessageView },
        400: err('Invalid body or Idempotency-Key'),
        404: err('`?wait=true`: chat not found'),
        409: err('Session not logged in'),
        422: err('Idempotency-Key used for another message; `?wait=true`: number not on WhatsApp'),
        502: err('`?wait=true`: WhatsApp refused or failed the message'),
        ...authErrors,
      },
      handler: async ({ req, res, body, query, auth: token }) => {
        const idempotencyKey = idempotencyKeyOf(req.header('idempotency-key'));
        const { view } = await messaging.send(body, senderOf(token!, req), { idempotencyKey, waitMs: query.wait ? waitMs : 0 });
        res.status(query.wait && view.status === 'sent' ? 201 : 202).json(view);
      },
    }),
    route({
      method: 'get',
      path: '/v1/contacts',
      operationId: 'listContacts',
      tags: ['contacts'],
      scope: 'r',
      summary: 'Users and groups, filtered',
      query: s.listContactsQuery,
      responses: {
        200: { description: 'A page of contacts', schema: s.page(s.contactView) },
        400: err('Invalid filter'),
        422: err('`invalid_cursor`: the cursor was not issued by this instance for this query; start again without it'),
        ...authErrors,
      },
      handler: ({ query }) => contacts.list(query),
    }),
    route({
      method: 'get',
      path: '/v1/contacts/:id',
      operationId: 'getContact',
      tags: ['contacts'],
      scope: 'r',
      summary: 'One user or group by id',
      params: s.contactIdParams,
      responses: {
        200: { description: 'Contact', schema: s.contactView },
        400: err('Invalid id'),
        404: err('No such contact'),
        ...authErrors,
      },
      handler: ({ params }) => contacts.get(params.id),
    }),
    route({
      method: 'post',
      path: '/v1/session/login',
      operationId: 'login',
      tags: ['session'],
      scope: 'w',
      summary: 'Start the session: returns the QR (raw and PNG data URL), or with {phone} a pairing code',
      body: s.loginBody,
      bodyRequired: false,
      responses: {
        200: { description: 'Session status with the QR or pairing code', schema: s.loginView },
        400: err('Invalid body'),
        409: err('Already logged in'),
        ...authErrors,
      },
      handler: ({ body }) => session.login(body?.phone),
    }),
    route({
      method: 'get',
      path: '/v1/session/qr',
      operationId: 'getQr',
      tags: ['session'],
      scope: 'w',
      summary: 'The pending QR (raw and PNG data URL) or pairing code; needs w, since scanning it logs an account in',
      responses: { 200: { description: 'QR', schema: s.loginView }, 404: err('No QR pending'), ...authErrors },
      handler: () => session.pendingLogin(),
    }),
    route({
      method: 'post',
      path: '/v1/session/logout',
      operationId: 'logout',
      tags: ['session'],
      scope: 'w',
      summary: 'Log the WhatsApp account out and forget the stored session',
      responses: { 200: { description: 'Session status after logout', schema: s.sessionStatusView }, ...authErrors },
      handler: () => session.logout(),
    }),
    route({
      method: 'get',
      path: '/v1/screenshot',
      operationId: 'screenshot',
      tags: ['session'],
      scope: 'r',
      summary: 'PNG screenshot of the session screen',
      responses: {
        200: { description: 'PNG image', contentType: 'image/png' },
        409: err(
          '`session_not_ready`: the session is stopped (or failed): start it first; or it is starting and its screen cannot ' +
            'be captured yet: retry after the Retry-After header (seconds, also `details.retryAfterS`; `details.sessionState`)',
        ),
        ...authErrors,
      },
      handler: async ({ res }) => {
        const png = await session.screenshot(); // not ready yet: Retry-After from details.retryAfterS (kit's sendError)
        res.status(200).type('image/png').set('cache-control', 'no-store').send(png);
      },
    }),
    route({
      method: 'get',
      path: '/v1/stats',
      operationId: 'stats',
      tags: ['stats'],
      scope: 'any',
      summary: 'Messages in/out per day for 30 days, totals, chats, contacts, uptime, state',
      responses: { 200: { description: 'Statistics', schema: s.statsView }, ...authErrors },
      handler: async () => ({ state: session.state(), uptimeMs: session.uptimeMs(), ...(await messaging.stats()) }),
    }),
  ];
}

/** The `Idempotency-Key` header's value, or undefined without one. @throws AppError `invalid_request` (400) when malformed. */
export function idempotencyKeyOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const r = s.idempotencyKey.safeParse(header);
  if (r.success) return r.data;
  throw new AppError('invalid_request', `Invalid header "Idempotency-Key": ${r.error.issues[0]?.message ?? 'malformed'}`, [
    { in: 'header', field: 'Idempotency-Key', problem: r.error.issues[0]?.message },
  ]);
}
