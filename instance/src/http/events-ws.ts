/**
 * WebSocket `/v1/events` on the public port (scope r): live session state, incoming/outgoing messages and acks, and
 * for tokens that also grant w (logging in is a w right) the login QR and pairing code, as
 * `{ event, data, timestamp }` JSON frames. The token comes in `Authorization: Bearer …` or, for browsers (which cannot
 * set headers on a WebSocket), as `?token=`. On connect the current session status (and a pending QR) is sent first.
 * Slow clients whose send buffer passes 4 MiB are disconnected rather than letting memory grow.
 *
 * Revocation reaches open streams: when a token is deleted its streams are closed at once with code 4401 (reason
 * "token revoked"); when its permissions change, with 4403 (reason "token permissions changed; reconnect"), so the
 * client reconnects under the new rights (a stream that lost w stops getting QR events; one that lost r is refused).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { mayReceive, type LiveEvent, type LiveEvents } from '../services/live-events.js';
import type { SessionController } from '../services/session-controller.js';
import { grants, type TokenInfo, type TokenService } from '../services/tokens.js';
import { bearer } from '@wacloud/kit';

const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export interface EventStreamDeps {
  session: SessionController;
  live: LiveEvents;
  tokens: TokenService;
  logger: Logger;
}

/** Serves `/v1/events` on `server`'s upgrade requests; `close()` drops every subscriber. */
export function attachEventStream(server: Server, { session, live, tokens, logger }: EventStreamDeps): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  /** Open streams by the id of the token that opened them. */
  const byToken = new Map<string, Set<WebSocket>>();
  const unwatch = tokens.onChange((change) => {
    const open = byToken.get(change.id);
    if (!open) return;
    byToken.delete(change.id);
    for (const ws of open) {
      if (change.deleted) ws.close(4401, 'token revoked');
      else ws.close(4403, 'token permissions changed; reconnect');
    }
  });
  /**
   * The token's record, verified again when a token change raced the check (so a just-revoked token never gets in);
   * undefined (refused) when changes keep racing it three times.
   */
  const check = async (presented: string): Promise<TokenInfo | undefined> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const before = tokens.generation();
      const token = await tokens.verify(presented);
      if (before === tokens.generation()) return token;
    }
    return undefined;
  };
  const reject = (socket: Duplex, status: number, code: string, message: string) => {
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Not Found'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  };
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node's HTTP server drops its own error listener from an upgraded socket: without this one, a client that resets
    // the connection while the token is being checked would end the process with an unhandled ECONNRESET.
    socket.on('error', () => socket.destroy());
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/v1/events') return reject(socket, 404, 'route_not_found', 'WebSocket endpoint is /v1/events.');
      const presented = bearer(req) ?? url.searchParams.get('token') ?? undefined;
      const token = presented ? await check(presented).catch(() => undefined) : undefined;
      if (!token) return reject(socket, 401, 'unauthorized', 'Send an instance token (Authorization header or ?token=).');
      if (!grants(token.permissions, 'r')) return reject(socket, 403, 'forbidden', 'The event stream needs the "r" permission.');
      if (socket.destroyed) return; // the client left while its token was being checked
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req, token));
    })().catch((err: Error) => {
      logger.error({ err }, 'websocket upgrade failed');
      socket.destroy();
    });
  });
  wss.on('connection', (ws: WebSocket, _req: IncomingMessage, token: TokenInfo) => {
    const send = (e: LiveEvent) => {
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) return ws.terminate();
      ws.send(JSON.stringify(e));
    };
    send({ event: 'session.status', data: session.status(), timestamp: Date.now() });
    if (mayReceive(token.permissions, 'qr')) {
      void session.pendingQr().then((pending) => {
        if (pending) send({ event: 'qr', data: pending, timestamp: Date.now() });
      });
    }
    const unsubscribe = live.subscribe(send, token.permissions);
    let mine = byToken.get(token.id);
    if (!mine) byToken.set(token.id, (mine = new Set()));
    mine.add(ws);
    let alive = true;
    ws.on('pong', () => (alive = true));
    const ping = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, 30_000);
    ping.unref();
    ws.on('message', () => {}); // the stream is server → client; client frames are ignored
    ws.on('close', () => {
      clearInterval(ping);
      unsubscribe();
      const set = byToken.get(token.id);
      set?.delete(ws);
      if (set?.size === 0) byToken.delete(token.id);
    });
    ws.on('error', () => ws.terminate());
  });
  return {
    close() {
      unwatch();
      for (const c of wss.clients) c.terminate();
      wss.close();
    },
  };
}
