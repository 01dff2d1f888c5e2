/**
 * The gateway's WebSocket relay: upgrades of `/v1/instances/:id/api/v1/events` are checked like HTTP requests (rate
 * limits, token), then joined to the instance's event stream frame by frame.
 * - Client frames above 64 KiB close the relay (1009).
 * - At most `maxStreamsPerUser` relays per tenant are open on one api process at a time (the tenant: the access
 *   token's user, or the owner of the instance an instance token belongs to); one more is accepted and closed at once
 *   with 4429 and a reason saying so.
 * - Credentials: an `Authorization: Bearer` header (access token or instance token), or `?ticket=` (browsers: a
 *   single-use ticket, `ws-tickets.ts`); `?token=` / `?access_token=` in the URL are refused (401).
 * - Revocation: a relay opened with an access token (or a ticket) closes with 4401 when its session ends (see {@link RelayWatch});
 *   the instance's own close (4401 deleted token, 4403 re-scoped) is passed on unchanged.
 * - {@link WsRelay.close} (the api shutting down) closes every relay with 1001 and drops upgrades still being checked.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { HttpError, errorBrief } from '@wacloud/kit';
import { AppError } from '../errors.js';
import { RelayWatch, type RelayAllowed, type VerifyAccessToken } from './relay-watch.js';

/** Largest WebSocket frame a client may send through the gateway, bytes (the instance ignores client frames anyway). */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;
/** Close code of a relay refused because its tenant has too many open (the HTTP 429 of WebSockets). */
export const CLOSE_TOO_MANY_STREAMS = 4429;
/** Longest wait for the instance to accept the relay's upstream WebSocket, ms (then 503 `instance_unavailable`). */
const UPSTREAM_HANDSHAKE_TIMEOUT_MS = 30_000;
/** How long a shutdown waits for clients to answer the 1001 close before dropping them, ms. */
const SHUTDOWN_GRACE_MS = 2_000;

/** Where and how a relay connects upstream (resolved by the gateway). */
export interface RelayTarget {
  baseUrl: string;
  authorization: string;
  /** Tenant (user id) the stream counts against. */
  tenant: string;
  /**
   * What is watched for revocation (`RelayWatch`): the access token the relay was opened with, or the session key
   * of its ticket, with its expiry (epoch ms; default the token's `exp`); undefined for instance tokens.
   */
  watch?: { key: string; expiresAtMs?: number | undefined } | undefined;
  /** With `watch`: whether the relay may stay open, given what its key verifies to (re-checked with it). */
  allowed?: RelayAllowed | undefined;
}

/** The credential an upgrade presented: a bearer header (integrators) or a single-use ticket (browsers). */
export interface Presented {
  bearer?: string | undefined;
  ticket?: string | undefined;
}

export interface WsRelayOptions {
  /** Matches the request path; returns the instance id for `/v1/instances/:id/api/v1/events`, else undefined. */
  match(pathname: string): string | undefined;
  /** Checks the upgrade (rate limits, token or ticket) and resolves the target. @throws HttpError to refuse it. */
  resolve(id: string, presented: Presented, req: IncomingMessage): Promise<RelayTarget>;
  verify: VerifyAccessToken;
  logger: Logger;
  maxStreamsPerUser: number;
  relayCheckMs: number;
  /** Paths another upgrade listener of the server serves (left alone here). */
  elsewhere?: ((pathname: string) => boolean) | undefined;
  /** Bearer of the request (header), if any. */
  bearer(req: IncomingMessage): string | undefined;
}

/** Whether `code` may be sent in a close frame (1005, 1006 and 1015 are reserved for "none", "abnormal", "TLS"). */
function sendableCloseCode(code: number): boolean {
  return (
    code === 1000 ||
    code === 1001 ||
    (code >= 1002 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

/** Writes an HTTP error answer on a socket whose upgrade is refused. */
function reject(socket: Duplex, e: HttpError): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(e.toJSON());
  const retry = (e.details as { retryAfterS?: number } | undefined)?.retryAfterS;
  socket.end(
    `HTTP/1.1 ${e.status} ${e.code}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `${retry ? `retry-after: ${retry}\r\n` : ''}connection: close\r\n\r\n${body}`,
  );
}

export class WsRelay {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME_BYTES });
  private readonly watch: RelayWatch;
  private readonly perTenant = new Map<string, number>();
  /** Open relays: client and upstream. */
  private readonly open = new Set<{ client: WebSocket; upstream: WebSocket }>();
  /** Upgrades still being checked or connected. */
  private readonly pending = new Set<Duplex>();
  private closing = false;

  constructor(
    server: Server,
    private readonly o: WsRelayOptions,
  ) {
    this.watch = new RelayWatch(o.verify, { intervalMs: o.relayCheckMs, logger: o.logger });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
  }

  /** Open relays per tenant (for tests and metrics). */
  streams(tenant: string): number {
    return this.perTenant.get(tenant) ?? 0;
  }

  /** Closes every relay with 1001 ("going away") and refuses new ones; resolves when the clients are gone. */
  /** Re-checks the access token of every open relay now (e.g. a member was removed: its relays close with 4401). */
  recheck(): Promise<void> {
    return this.watch.check();
  }

  async close(): Promise<void> {
    this.closing = true;
    this.watch.stop();
    for (const s of this.pending) s.destroy();
    const gone = [...this.open].map(({ client, upstream }) => {
      upstream.terminate();
      if (client.readyState === WebSocket.CLOSED) return Promise.resolve();
      const closed = new Promise<void>((r) => client.once('close', () => r()));
      client.close(1001, 'the api is shutting down; reconnect shortly');
      const t = setTimeout(() => client.terminate(), SHUTDOWN_GRACE_MS);
      return closed.finally(() => clearTimeout(t));
    });
    await Promise.all(gone);
    this.wss.close();
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node's HTTP server drops its own error listener from an upgraded socket: without this one, a client that resets
    // the connection while its token is being checked would end the api with an unhandled ECONNRESET.
    socket.on('error', () => socket.destroy());
    if (this.closing) return reject(socket, new AppError('instance_unavailable', 'The api is shutting down; reconnect shortly.'));
    const url = new URL(req.url ?? '/', 'http://localhost');
    const id = this.o.match(url.pathname);
    if (!id && this.o.elsewhere?.(url.pathname)) return; // another upgrade listener serves it (the live socket)
    if (!id) return reject(socket, new AppError('not_found', 'WebSocket endpoint: /v1/instances/<id>/api/v1/events.'));
    const presented: Presented = { bearer: this.o.bearer(req), ticket: url.searchParams.get('ticket') ?? undefined };
    // A credential in the URL ends up in proxy logs and browser history: browsers use a ticket instead.
    if (!presented.bearer && !presented.ticket && (url.searchParams.has('access_token') || url.searchParams.has('token')))
      return reject(
        socket,
        new AppError(
          'unauthorized',
          'Tokens in the URL are refused: send "Authorization: Bearer …", or from a browser ask for a ticket (POST /v1/instances/{id}/ws-ticket) and connect with ?ticket=.',
        ),
      );
    this.pending.add(socket);
    socket.once('close', () => this.pending.delete(socket));
    void this.relay(id, presented, req, socket, head)
      .catch((err: unknown) => {
        if (!(err instanceof HttpError)) this.o.logger.warn({ err, instance: id }, 'gateway event stream failed');
        reject(
          socket,
          err instanceof HttpError ? err : new AppError('instance_unavailable', 'The instance did not answer; retry shortly.'),
        );
      })
      .finally(() => this.pending.delete(socket));
  }

  private async relay(id: string, presented: Presented, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const t = await this.o.resolve(id, presented, req);
    if (socket.destroyed) return;
    const n = this.streams(t.tenant);
    if (n >= this.o.maxStreamsPerUser) {
      this.wss.handleUpgrade(req, socket, head, (client) =>
        client.close(
          CLOSE_TOO_MANY_STREAMS,
          `too many open event streams for this account (at most ${this.o.maxStreamsPerUser}); close one first`,
        ),
      );
      return;
    }
    this.perTenant.set(t.tenant, n + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (this.perTenant.get(t.tenant) ?? 1) - 1;
      if (left > 0) this.perTenant.set(t.tenant, left);
      else this.perTenant.delete(t.tenant);
    };
    try {
      await this.connect(id, t, req, socket, head, release);
    } catch (err) {
      release();
      throw err;
    }
  }

  private async connect(
    id: string,
    t: RelayTarget,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    release: () => void,
  ): Promise<void> {
    const upstream = new WebSocket(`${t.baseUrl.replace(/^http/, 'ws')}/v1/events`, {
      headers: { authorization: t.authorization },
      // An instance answers an upgrade at once; a hung one must not hold the client's upgrade forever.
      handshakeTimeout: UPSTREAM_HANDSHAKE_TIMEOUT_MS,
    });
    await new Promise<void>((resolve, fail) => {
      // Paused until the client is attached: the instance sends the session status at once, and a frame that
      // arrived before the relay's listeners would be lost.
      upstream.once('open', () => {
        upstream.pause();
        resolve();
      });
      upstream.once('unexpected-response', (_r, res) =>
        fail(
          new AppError(
            res.statusCode === 401 ? 'unauthorized' : res.statusCode === 403 ? 'forbidden' : 'upstream_error',
            `The instance refused the event stream (${res.statusCode}).`,
          ),
        ),
      );
      upstream.once('error', (e) => {
        this.o.logger.warn({ error: errorBrief(e), instance: id }, 'gateway event stream: the instance did not answer');
        fail(new AppError('instance_unavailable', 'The instance did not answer; retry shortly.'));
      });
    });
    if (socket.destroyed || this.closing) {
      // The client left (or the api began to stop) while the instance was being reached.
      upstream.on('error', () => {});
      upstream.terminate();
      release();
      if (!socket.destroyed) socket.destroy();
      return;
    }
    let attached = false;
    // ws refuses an upgrade on a socket that is no longer usable by destroying it, without the callback.
    socket.once('close', () => {
      if (attached) return;
      upstream.terminate();
      release();
    });
    this.wss.handleUpgrade(req, socket, head, (client) => {
      attached = true;
      const pair = { client, upstream };
      this.open.add(pair);
      // Frames that arrive together leave together: the client's socket is corked at the first frame and uncorked once
      // this turn of the event loop is done, so a burst of events costs one write to the client, not one per frame.
      let corked = false;
      const uncork = () => {
        corked = false;
        socket.uncork();
      };
      upstream.on('message', (data, isBinary) => {
        if (client.readyState !== WebSocket.OPEN) return;
        if (!corked) {
          corked = true;
          socket.cork();
          setImmediate(uncork);
        }
        client.send(data, { binary: isBinary });
      });
      client.on('message', (data, isBinary) => upstream.readyState === WebSocket.OPEN && upstream.send(data, { binary: isBinary }));
      const closeBoth = () => {
        if (client.readyState === WebSocket.OPEN) client.close();
        if (upstream.readyState === WebSocket.OPEN) upstream.close();
      };
      // The instance's reason for closing (4401 token deleted, 4403 re-scoped) reaches the client unchanged.
      upstream.on('close', (code: number, reason: Buffer) => {
        if (client.readyState === WebSocket.OPEN && sendableCloseCode(code)) client.close(code, reason.toString());
        closeBoth();
      });
      const unwatch = t.watch
        ? this.watch.add(
            t.watch.key,
            (code, reason) => {
              if (client.readyState === WebSocket.OPEN) client.close(code, reason);
              if (upstream.readyState === WebSocket.OPEN) upstream.close();
            },
            t.watch.expiresAtMs,
            t.allowed,
          )
        : () => {};
      client.on('close', () => {
        this.open.delete(pair);
        release();
        unwatch();
        closeBoth();
      });
      upstream.on('error', closeBoth);
      client.on('error', closeBoth);
      upstream.resume();
    });
  }
}
