/**
 * The members' live socket, `GET /v1/live` (WebSocket; docs/team.md §2), on every api replica:
 * - Credential: `?ticket=` (a single-use ticket from `POST /v1/live/ticket`, the gateway's `WsTickets` with the scope
 *   {@link LIVE_TICKET_SCOPE}) or an `Authorization: Bearer` access token; tokens in the URL are refused (401).
 * - `?lastEventId=N` resumes: the events after N still in the log are sent first, then live ones, without a gap or a
 *   repeat; a resume point no longer in the log closes the socket with 4410 (reload the lists).
 * - After the replay a `{id, type: "ready", data: {replayed}, at}` frame gives the resume point reached (`id`).
 *   Then every event of the log the member is entitled to (`audience.ts`), as `{id, type, data, at}` frames.
 * - Revocation ({@link RelayWatch}, like the gateway's relays): the member's session is re-checked every `checkMs` and
 *   whenever members change on this replica ({@link LiveSockets.recheck}); a session that ended (logout, the member
 *   removed) closes with 4401, changed rights or role with 4403 (reconnect: the new rights apply).
 * - Client frames are ignored (at most 4 KiB); a client that falls more than 8 MiB behind is closed with 1013.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { HttpError, bearer } from '@wacloud/kit';
import type { AuthContext } from '../accounts.js';
import { AppError } from '../errors.js';
import { RelayWatch } from '../gateway/relay-watch.js';
import type { WsTickets } from '../gateway/ws-tickets.js';
import { entitled, sameAccess } from './audience.js';
import type { LiveLogStore, TailedEvent } from './log-store.js';

export const LIVE_PATH = '/v1/live';
/** The `instanceId` of live tickets in `ws_tickets` (never an instance id: those are `i-…`). */
export const LIVE_TICKET_SCOPE = 'live';
/** Close code: the resume point is no longer in the log; reload. */
export const CLOSE_RESUME_EXPIRED = 4410;
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const PING_MS = 30_000;
const SESSION_KEY = 'session:';

export interface LiveSocketsOptions {
  log: LiveLogStore;
  tickets: WsTickets;
  accounts: {
    verify(token: string): Promise<AuthContext>;
    session(sessionId: string): Promise<AuthContext & { expiresAt: Date }>;
  };
  logger: Logger;
  /** How often open sockets' sessions and rights are re-checked, ms. */
  checkMs: number;
}

interface Client {
  ws: WebSocket;
  auth: AuthContext;
  /** Id of the last event sent (or skipped as not entitled). */
  last: number;
  /** Live events arriving during the replay. */
  held?: TailedEvent[] | undefined;
}

function refuse(socket: Duplex, e: HttpError): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(e.toJSON());
  socket.end(
    `HTTP/1.1 ${e.status} ${e.code}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export class LiveSockets {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  private readonly watch: RelayWatch;
  private readonly open = new Set<Client>();
  private readonly unlisten: () => void;
  private readonly ping: NodeJS.Timeout;
  private closing = false;

  constructor(
    server: Server,
    private readonly o: LiveSocketsOptions,
  ) {
    this.watch = new RelayWatch(
      (key) => (key.startsWith(SESSION_KEY) ? o.accounts.session(key.slice(SESSION_KEY.length)) : o.accounts.verify(key)),
      { intervalMs: o.checkMs, logger: o.logger },
    );
    this.unlisten = o.log.listen((e) => {
      let text: string | undefined;
      for (const c of this.open) {
        if (c.held) c.held.push(e);
        else text = this.push(c, e, text);
      }
    });
    this.ping = setInterval(() => {
      for (const c of this.open) if (c.ws.readyState === WebSocket.OPEN) c.ws.ping();
    }, PING_MS);
    this.ping.unref();
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (new URL(req.url ?? '/', 'http://localhost').pathname !== LIVE_PATH) return;
      socket.on('error', () => socket.destroy());
      void this.accept(req, socket, head).catch((err: unknown) => {
        if (!(err instanceof HttpError)) this.o.logger.warn({ err }, 'live socket upgrade failed');
        refuse(socket, err instanceof HttpError ? err : new AppError('busy', 'The live socket is unavailable; retry shortly.'));
      });
    });
  }

  /** Open sockets on this replica. */
  get size(): number {
    return this.open.size;
  }

  /** Re-checks every open socket's session and rights now (members changed). */
  recheck(): Promise<void> {
    return this.watch.check();
  }

  /** Closes every socket with 1001 and refuses new ones. */
  async close(): Promise<void> {
    this.closing = true;
    this.unlisten();
    clearInterval(this.ping);
    this.watch.stop();
    await Promise.all(
      [...this.open].map(({ ws }) => {
        if (ws.readyState === WebSocket.CLOSED) return;
        const closed = new Promise<void>((r) => ws.once('close', () => r()));
        ws.close(1001, 'the api is shutting down; reconnect with lastEventId');
        const t = setTimeout(() => ws.terminate(), 2_000);
        return closed.finally(() => clearTimeout(t));
      }),
    );
    this.wss.close();
  }

  /** Sends `e` to `c` when it is new to it and `c` is entitled; `text`: the frame serialised already. */
  private push(c: Client, e: TailedEvent, text?: string): string | undefined {
    if (e.event.id <= c.last) return text;
    c.last = e.event.id;
    if (!entitled(c.auth, e.audience) || c.ws.readyState !== WebSocket.OPEN) return text;
    if (c.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      c.ws.close(1013, 'too far behind; reconnect with lastEventId');
      return text;
    }
    text ??= JSON.stringify(e.event);
    c.ws.send(text);
    return text;
  }

  private async accept(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (this.closing) throw new AppError('busy', 'The api is shutting down; reconnect shortly.');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const ticket = url.searchParams.get('ticket') ?? undefined;
    const token = bearer(req as Parameters<typeof bearer>[0]);
    const resumeRaw = url.searchParams.get('lastEventId');
    const resume = resumeRaw === null ? undefined : Number(resumeRaw);
    if (resume !== undefined && !(Number.isSafeInteger(resume) && resume >= 0))
      throw new AppError('invalid_request', 'lastEventId must be a whole number ≥ 0 (the id of the last event received).');
    let auth: AuthContext;
    let key: string;
    let expiresAtMs: number | undefined;
    if (token) {
      auth = await this.o.accounts.verify(token);
      key = token;
    } else if (ticket) {
      const grant = await this.o.tickets.consume(ticket, LIVE_TICKET_SCOPE);
      const s = await this.o.accounts.session(grant.sessionId);
      auth = s;
      key = SESSION_KEY + grant.sessionId;
      expiresAtMs = s.expiresAt.getTime();
    } else
      throw new AppError(
        'unauthorized',
        'Send "Authorization: Bearer …", or from a browser ask for a ticket (POST /v1/live/ticket) and connect with ?ticket= (tokens in the URL are refused).',
      );
    if (socket.destroyed) return;
    const ws = await new Promise<WebSocket>((resolve) => this.wss.handleUpgrade(req, socket, head, resolve));
    const c: Client = { ws, auth, last: resume ?? this.o.log.head, held: [] };
    this.open.add(c);
    const unwatch = this.watch.add(
      key,
      (code, reason) => ws.readyState === WebSocket.OPEN && ws.close(code, code === 4403 ? 'your access changed; reconnect' : reason),
      expiresAtMs,
      (verified) => sameAccess(auth, verified as AuthContext),
    );
    ws.on('close', () => {
      this.open.delete(c);
      unwatch();
    });
    ws.on('error', () => ws.terminate());
    let replayed = 0;
    if (resume !== undefined) {
      const missed = await this.o.log.since(resume).catch((err: unknown) => {
        this.o.logger.warn({ err }, 'live socket: reading the missed events failed');
        return null;
      });
      if (missed === null) return void ws.close(1011, 'the log could not be read; reconnect with lastEventId');
      if (missed === undefined) return void ws.close(CLOSE_RESUME_EXPIRED, 'resume point expired; reload');
      for (const e of missed) {
        if (e.event.id > c.last && entitled(auth, e.audience)) replayed += 1;
        this.push(c, e);
      }
    }
    const held = c.held ?? [];
    c.held = undefined;
    for (const e of held) this.push(c, e);
    if (ws.readyState === WebSocket.OPEN)
      ws.send(JSON.stringify({ id: c.last, type: 'ready', data: { replayed }, at: new Date().toISOString() }));
  }
}
