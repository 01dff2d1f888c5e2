/**
 * The simulated WhatsApp network server: one HTTP server carrying
 * - the device WebSocket at `/ws` (see `protocol.ts`), used by simulated engines in any process;
 * - `GET /health`;
 * - test hooks under `/hooks` that play the phones (scan a QR, confirm a pairing code, send messages one by one or in
 *   a burst, read them, create accounts and groups, inspect what a phone received and sent with its acks).
 *
 * Hook errors are JSON `{ error: { code, message } }`: 400 for invalid input (`invalid_request`, `invalid_json`),
 * 404 for unknown QR/code/account/chat, 409 for a taken message key. State lives in memory only.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '@wacloud/kit';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { z } from 'zod';
import { actionHooks } from './hooks-actions.js';
import { SimnetError, type Link, type NetworkOptions, type SendInput } from './model.js';
import { mediaRoutes } from './media.js';
import { SimNetwork } from './network.js';
import { syncHooks } from './sync-hooks.js';
import {
  MAX_BODY_CHARS,
  CONTENT_TYPES,
  MAX_FRAME_BYTES,
  MAX_MEDIA_BYTES,
  SIMNET_MEDIA_PATH,
  SIMNET_WS_PATH,
  clientFrameSchema,
  phoneDigits,
  requestIdOf,
  type ServerFrame,
} from './protocol.js';

export interface SimnetServerOptions extends NetworkOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Bind address. Default 127.0.0.1. */
  host?: string;
  logger?: Logger;
}

export interface SimnetServer {
  /** Base URL, e.g. `http://127.0.0.1:7300` (engines derive the WebSocket URL from it). */
  readonly url: string;
  readonly port: number;
  /** Drops every device connection (the network state stays): simulates a network outage. */
  disconnectAll(): void;
  /** Closes all connections and the listener. */
  close(): Promise<void>;
}

/** A phone given as digits, `+digits` or `<digits>@c.us`. */
const phone = z
  .string()
  .trim()
  .transform((v) => v.replace(/@c\.us$/, '').replace(/^\+/, ''))
  .pipe(phoneDigits);
const pushname = z.string().trim().min(1).max(100);

const schemas = {
  accounts: z.object({ phone, pushname: pushname.optional() }),
  scan: z.object({ qr: z.string().min(1), phone, pushname: pushname.optional() }),
  pair: z.object({ code: z.string().trim().min(8).max(9), pushname: pushname.optional() }),
  send: z
    .object({
      from: phone,
      to: z.string().trim().min(1).max(100),
      /** The text, or a media message's caption (optional then). */
      text: z.string().max(MAX_BODY_CHARS).optional(),
      quotedMessageId: z.string().min(1).max(300).optional(),
      /** `chat` (default) or a media / location / contact card type. */
      type: z.enum(['chat', ...CONTENT_TYPES]).optional(),
      /** The file of a media message: base64 bytes, MIME type, optional file name. */
      media: z
        .object({ data: z.base64(), mimetype: z.string().min(1).max(255), filename: z.string().min(1).max(255).optional() })
        .optional(),
      location: z
        .object({
          latitude: z.number().min(-90).max(90),
          longitude: z.number().min(-180).max(180),
          name: z.string().max(1000).optional(),
          address: z.string().max(1000).optional(),
          url: z.string().max(2048).optional(),
        })
        .optional(),
      vcard: z.string().min(1).max(MAX_BODY_CHARS).optional(),
    })
    .refine((b) => (b.type !== undefined && b.type !== 'chat') || (b.text !== undefined && b.text.length > 0), {
      message: 'a text message needs a non-empty text',
      path: ['text'],
    }),
  burst: z.object({
    from: phone,
    to: z.string().trim().min(1).max(100),
    text: z.string().min(1).max(1000),
    count: z.number().int().min(1).max(10_000),
  }),
  read: z.object({ phone, chatId: z.string().trim().min(1).max(100) }),
  groups: z.object({
    name: z.string().trim().min(1).max(100),
    owner: phone,
    participants: z.array(phone).max(1024),
    description: z.string().max(2048).optional(),
    admins: z.array(phone).max(1024).optional(),
  }),
  unlink: z.object({ phone }),
  disconnect: z.object({ phone, offline: z.boolean().optional() }),
};

/** Input validation failure of a hook (400). */
export class BadRequest extends Error {
  constructor(
    public readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** `input` parsed by `schema`. @throws BadRequest `invalid_request`. */
export function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const detail = result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
  throw new BadRequest('invalid_request', detail);
}

function hooks(network: SimNetwork): express.Router {
  const router = express.Router();
  router.post('/accounts', (req, res) => {
    const body = parse(schemas.accounts, req.body);
    res.status(201).json({ account: network.registerAccount(body.phone, body.pushname) });
  });
  router.get('/accounts/:phone/messages', (req, res) => {
    const p = parse(phone, req.params.phone);
    res.json({ messages: network.received(p) });
  });
  router.get('/logins', (_req, res) => {
    res.json({ logins: network.pendingLogins() });
  });
  router.post('/scan', (req, res) => {
    const body = parse(schemas.scan, req.body);
    res.json({ account: network.scan(body.qr, body.phone, body.pushname) });
  });
  router.post('/pair', (req, res) => {
    const body = parse(schemas.pair, req.body);
    res.json({ account: network.pair(body.code, body.pushname) });
  });
  router.post('/send', (req, res) => {
    const body = parse(schemas.send, req.body);
    const input: SendInput = { from: body.from, to: body.to, body: body.text ?? '' };
    if (body.quotedMessageId !== undefined) input.quotedMessageId = body.quotedMessageId;
    if (body.type && body.type !== 'chat') {
      // A phone uploads the file to the media server first, like a device does.
      const media = body.media && network.media.put(Buffer.from(body.media.data, 'base64'), body.media.mimetype);
      input.content = {
        type: body.type,
        ...(media && body.media ? { media: { id: media.id, mimetype: body.media.mimetype, filename: body.media.filename } } : {}),
        ...(body.location ? { location: body.location } : {}),
        ...(body.vcard ? { vcard: body.vcard } : {}),
      };
    }
    res.status(201).json({ message: network.send(input) });
  });
  router.get('/accounts/:phone/sent', (req, res) => {
    const p = parse(phone, req.params.phone);
    res.json({ messages: network.sent(p) });
  });
  /** Typing / recording indicators the account's devices showed, oldest first. */
  router.get('/accounts/:phone/chatstates', (req, res) => {
    const p = parse(phone, req.params.phone);
    network.account(p);
    res.json({ chatStates: network.chatStates.list(p) });
  });
  /** `count` messages `<text> <i>` (i from 0) from one phone in one go: a burst as the receiving devices see it. */
  router.post('/burst', (req, res) => {
    const body = parse(schemas.burst, req.body);
    const ids: string[] = [];
    for (let i = 0; i < body.count; i++) ids.push(network.send({ from: body.from, to: body.to, body: `${body.text} ${i}` }).id);
    res.status(201).json({ count: ids.length, ids });
  });
  router.post('/read', (req, res) => {
    const body = parse(schemas.read, req.body);
    res.json({ read: network.markRead(body.phone, body.chatId) });
  });
  router.post('/groups', (req, res) => {
    const body = parse(schemas.groups, req.body);
    const extra = {
      ...(body.description === undefined ? {} : { description: body.description }),
      ...(body.admins ? { admins: body.admins } : {}),
    };
    const group = network.createGroup(body.name, body.owner, body.participants, extra);
    res.status(201).json({ id: group.id, name: group.name, participants: group.participants });
  });
  /** Drops the account's device connections (they reconnect); `offline: true` keeps them out until `/online`. */
  router.post('/disconnect', (req, res) => {
    const body = parse(schemas.disconnect, req.body);
    res.json({ dropped: network.disconnect(body.phone, body.offline ?? false), offline: body.offline ?? false });
  });
  router.post('/online', (req, res) => {
    const body = parse(schemas.unlink, req.body);
    network.setOnline(body.phone);
    res.json({ offline: false });
  });
  router.post('/unlink', (req, res) => {
    const body = parse(schemas.unlink, req.body);
    res.json({ unlinked: network.unlink(body.phone) });
  });
  router.use(actionHooks(network));
  return router;
}

function errorHandler(log: Logger | undefined) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof BadRequest) return res.status(400).json({ error: { code: err.code, message: err.message } });
    if (err instanceof SimnetError) return res.status(err.status).json({ error: { code: err.code, message: err.message } });
    // express.json() parse failures carry `type: 'entity.parse.failed'` and a 4xx status.
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const code = (err as { type?: unknown }).type === 'entity.parse.failed' ? 'invalid_json' : 'invalid_request';
      return res.status(status).json({ error: { code, message: err instanceof Error ? err.message : 'bad request' } });
    }
    log?.error({ err }, 'simnet hook failed');
    return res.status(500).json({ error: { code: 'internal', message: 'internal error' } });
  };
}

/** Wraps a WebSocket as a network {@link Link}. */
function socketLink(ws: WebSocket): Link {
  return {
    send(frame: ServerFrame) {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
    },
    close() {
      ws.close(1000, 'replaced');
    },
    drop(code, reason) {
      if (code === undefined) ws.terminate();
      else ws.close(code, reason);
    },
  };
}

function attachSocket(ws: WebSocket, network: SimNetwork, log: Logger | undefined): void {
  const link = socketLink(ws);
  const reject = (code: string, message: string) => link.send({ type: 'error', error: { code, message } });
  ws.on('message', (data: RawData, isBinary: boolean) => {
    let json: unknown;
    try {
      if (isBinary) return reject('bad_frame', 'binary frames are not supported');
      json = JSON.parse(String(data));
    } catch {
      return reject('bad_frame', 'frame is not JSON');
    }
    const frame = clientFrameSchema.safeParse(json);
    if (!frame.success) {
      const message = frame.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      const reqId = requestIdOf(json);
      if (reqId === undefined) return reject('bad_frame', message);
      return link.send({ type: 'response', reqId, ok: false, error: { code: 'invalid_request', message } });
    }
    try {
      network.handleFrame(link, frame.data);
    } catch (err) {
      log?.error({ err, type: frame.data.type }, 'simnet frame failed');
      reject('internal', 'the server failed to handle this frame');
    }
  });
  ws.on('error', (err) => log?.debug({ err }, 'simnet socket error'));
  ws.on('close', () => network.detach(link));
}

/**
 * Starts the simulated network server and resolves once it listens.
 * @throws the listen error (e.g. EADDRINUSE).
 */
export async function createSimnetServer(options: SimnetServerOptions): Promise<SimnetServer> {
  const host = options.host ?? '127.0.0.1';
  const log = options.logger;
  const network = new SimNetwork(options);

  const app = express();
  app.disable('x-powered-by');
  // The media server takes raw bytes: mounted before the JSON parser.
  app.use(SIMNET_MEDIA_PATH, mediaRoutes(network.media));
  // Hooks may carry a media file in base64 (a third larger than the file).
  app.use(express.json({ limit: Math.ceil((MAX_MEDIA_BYTES * 4) / 3) + 64 * 1024 }));
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', ...network.stats() });
  });
  app.use('/hooks', hooks(network));
  app.use('/hooks', syncHooks(network, parse));
  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'not_found', message: 'no such endpoint' } });
  });
  app.use(errorHandler(log));

  const server = http.createServer(app);
  const wss = new WebSocketServer({ server, path: SIMNET_WS_PATH, maxPayload: MAX_FRAME_BYTES });
  wss.on('connection', (ws) => attachSocket(ws, network, log));
  wss.on('error', (err) => log?.error({ err }, 'simnet websocket server error'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log?.info({ url }, 'simnet listening');

  return {
    url,
    port,
    disconnectAll() {
      for (const ws of wss.clients) ws.terminate();
    },
    async close() {
      network.close();
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
