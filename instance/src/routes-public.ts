/**
 * The public API (spec §1.1), on PORT, guarded by instance tokens (`Authorization: Bearer <token>`):
 * r = read, w = write, rw = both. Handlers are thin: validate (route schemas), call the session/engine/queries, shape.
 */
import { AppError } from './errors.js';
import { EngineError, EngineNotReadyError, toChatId, type Engine } from './engine.js';
import { defineRoute, type RouteDef } from '@wacloud/kit';
import * as s from './http-schemas.js';
import { findContacts, findMessages, messageStats } from './queries.js';
import { toMessageView, type Session } from './session.js';
import type { TokenInfo } from './tokens.js';
import type { ContactDoc, MessageDoc, Store } from './store.js';

export interface PublicDeps {
  session: Session;
  store: Store;
}

function contactView(d: ContactDoc) {
  return {
    id: d._id,
    ...(d.number ? { number: d.number } : {}),
    ...(d.name ? { name: d.name } : {}),
    ...(d.pushname ? { pushname: d.pushname } : {}),
    isGroup: d.isGroup,
    ...(d.isMyContact !== undefined && d.isMyContact !== null ? { isMyContact: d.isMyContact } : {}),
    ...(d.participants ? { participants: d.participants } : {}),
    updatedAt: new Date(d.updatedAt).toISOString(),
  };
}

/** Maps engine failures to coded API errors. */
export async function callEngine<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof EngineNotReadyError) throw new AppError('session_not_ready', `The WhatsApp session is ${err.sessionState}; log in with POST /v1/session/login first.`);
    if (err instanceof EngineError) {
      if (err.code === 'chat_not_found' || err.code === 'number_not_on_whatsapp') throw new AppError(err.code, err.message);
      throw new AppError('engine_error', err.message, { engineCode: err.code });
    }
    throw err;
  }
}

const err = (description: string) => ({ description, schema: s.errorResponse });
const authErrors = { 401: err('Missing or invalid token'), 403: err('The token lacks the needed permission') };

const route = defineRoute<TokenInfo | undefined>();

export function publicRoutes({ session, store }: PublicDeps): RouteDef[] {
  const engine: Engine = session.engine;
  return [
    route({
      method: 'get', path: '/health', operationId: 'health', tags: ['health'], scope: 'none',
      summary: 'Liveness and session state (§1.1.7; no token)',
      responses: { 200: { description: 'The service is alive', schema: s.healthView } },
      handler: () => ({ status: 'ok', session: session.status(), uptimeMs: session.uptimeMs() }),
    }),
    route({
      method: 'get', path: '/v1/token', operationId: 'getOwnToken', tags: ['tokens'], scope: 'any',
      summary: "The presented token's name and permissions (§1.1.11)",
      responses: { 200: { description: 'Token', schema: s.tokenView }, ...authErrors },
      handler: ({ auth }) => auth,
    }),
    route({
      method: 'get', path: '/v1/messages', operationId: 'listMessages', tags: ['messages'], scope: 'r',
      summary: 'Messages, newest first, filtered by time, text, chat, author, direction, group (§1.1.1)',
      query: s.listMessagesQuery,
      responses: { 200: { description: 'A page of messages', schema: s.page(s.messageView) }, 400: err('Invalid filter'), ...authErrors },
      handler: async ({ query }) => {
        const p = await findMessages(store, query);
        return { items: p.items.map(toMessageView), nextCursor: p.nextCursor };
      },
    }),
    route({
      method: 'get', path: '/v1/messages/:id', operationId: 'getMessage', tags: ['messages'], scope: 'r',
      summary: 'One message by id (§1.1.10)',
      params: s.messageIdParams,
      responses: { 200: { description: 'Message', schema: s.messageView }, 404: err('No such message'), ...authErrors },
      handler: async ({ params }) => {
        const d = (await store.col.messages.findOne({ _id: params.id } as never)) as unknown as MessageDoc | null;
        if (!d) throw new AppError('message_not_found');
        return toMessageView(d);
      },
    }),
    route({
      method: 'post', path: '/v1/messages', operationId: 'sendMessage', tags: ['messages'], scope: 'w',
      summary: 'Send a text message to a chat id or phone number (§1.1.2); the stored record names the sending token',
      body: s.sendMessageBody,
      responses: {
        201: { description: 'The stored message (id, ack)', schema: s.messageView },
        400: err('Invalid body'),
        404: err('Chat not found'),
        409: err('Session not logged in'),
        422: err('Number not on WhatsApp'),
        ...authErrors,
      },
      handler: async ({ body, auth: token }) => {
        const m = await callEngine(() => engine.sendText(toChatId(body.to), body.text, { quotedMessageId: body.quotedMessageId }));
        const doc = await session.recordSent(m, { tokenId: token!.id, tokenName: token!.name });
        return toMessageView(doc);
      },
    }),
    route({
      method: 'get', path: '/v1/contacts', operationId: 'listContacts', tags: ['contacts'], scope: 'r',
      summary: 'Users and groups, filtered (§1.1.3)',
      query: s.listContactsQuery,
      responses: { 200: { description: 'A page of contacts', schema: s.page(s.contactView) }, 400: err('Invalid filter'), ...authErrors },
      handler: async ({ query }) => {
        const p = await findContacts(store, query);
        return { items: p.items.map(contactView), nextCursor: p.nextCursor };
      },
    }),
    route({
      method: 'get', path: '/v1/contacts/:id', operationId: 'getContact', tags: ['contacts'], scope: 'r',
      summary: 'One user or group by id (§1.1.9)',
      params: s.contactIdParams,
      responses: { 200: { description: 'Contact', schema: s.contactView }, 400: err('Invalid id'), 404: err('No such contact'), ...authErrors },
      handler: async ({ params }) => {
        const d = (await store.col.contacts.findOne({ _id: params.id } as never)) as unknown as ContactDoc | null;
        if (!d) throw new AppError('contact_not_found');
        return contactView(d);
      },
    }),
    route({
      method: 'post', path: '/v1/session/login', operationId: 'login', tags: ['session'], scope: 'w',
      summary: 'Start the session: returns the QR (raw and PNG data URL), or with {phone} a pairing code (§1.1.4)',
      body: s.loginBody, bodyRequired: false,
      responses: { 200: { description: 'Session status with the QR or pairing code', schema: s.loginView }, 400: err('Invalid body'), 409: err('Already logged in'), ...authErrors },
      handler: async ({ body }) => {
        const st = engine.state();
        if (st === 'WORKING') throw new AppError('session_busy', 'The session is already logged in; log out first to link another account.');
        if (st !== 'SCAN_QR_CODE' && st !== 'STARTING') await engine.start({ phone: body?.phone });
        else if (st === 'STARTING') await waitForState(engine, ['SCAN_QR_CODE', 'WORKING', 'FAILED'], 30_000);
        return loginView(session);
      },
    }),
    route({
      method: 'get', path: '/v1/session/qr', operationId: 'getQr', tags: ['session'], scope: 'r',
      summary: 'The pending QR (raw and PNG data URL) or pairing code',
      responses: { 200: { description: 'QR', schema: s.loginView }, 404: err('No QR pending'), ...authErrors },
      handler: () => {
        if (engine.state() !== 'SCAN_QR_CODE') throw new AppError('qr_not_available', `No QR code is pending (session is ${engine.state()}); start a login with POST /v1/session/login.`);
        return loginView(session);
      },
    }),
    route({
      method: 'post', path: '/v1/session/logout', operationId: 'logout', tags: ['session'], scope: 'w',
      summary: 'Log the WhatsApp account out and forget the stored session (§1.1.5)',
      responses: { 200: { description: 'Session status after logout', schema: s.sessionStatusView }, ...authErrors },
      handler: async () => {
        await engine.logout();
        return session.status();
      },
    }),
    route({
      method: 'get', path: '/v1/screenshot', operationId: 'screenshot', tags: ['session'], scope: 'r',
      summary: 'PNG screenshot of the session screen (§1.1.6)',
      responses: { 200: { description: 'PNG image', contentType: 'image/png' }, 409: err('Session stopped'), ...authErrors },
      handler: async ({ res }) => {
        const png = await callEngine(() => engine.screenshot());
        res.status(200).type('image/png').set('cache-control', 'no-store').send(png);
      },
    }),
    route({
      method: 'get', path: '/v1/stats', operationId: 'stats', tags: ['stats'], scope: 'any',
      summary: 'Messages in/out per day for 30 days, totals, chats, contacts, uptime, state (§1.1.8)',
      responses: { 200: { description: 'Statistics', schema: s.statsView }, ...authErrors },
      handler: async () => ({ state: engine.state(), uptimeMs: session.uptimeMs(), ...(await messageStats(store)) }),
    }),
  ];
}

async function loginView(session: Session) {
  const e = session.engine;
  const qrImage = await session.qrImage();
  return {
    ...session.status(),
    ...(qrImage ? { qr: e.qr(), qrImage } : {}),
    ...(e.pairingCode() ? { pairingCode: e.pairingCode() } : {}),
  };
}

/** Resolves when the engine reaches one of `states` (or after `timeoutMs`). */
function waitForState(engine: Engine, states: string[], timeoutMs: number): Promise<void> {
  if (states.includes(engine.state())) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, timeoutMs);
    function onState(st: string) {
      if (states.includes(st)) done();
    }
    function done() {
      clearTimeout(t);
      engine.off('state', onState);
      resolve();
    }
    engine.on('state', onState);
  });
}
