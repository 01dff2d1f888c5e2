/**
 * The gateway: all client traffic to instances goes through the main backend. `/v1/instances/:id/api/<path>` is
 * proxied to the instance's public API `/<path>`, streaming bodies both ways:
 * - with the owner's access token (JWT) — the dashboard's tester — the request is sent with the gateway's own
 *   instance token (the tenant never sees it); another tenant's JWT gets 404 like an unknown instance;
 * - with an instance token (`wai_…`) — external systems — the instance first confirms the token through its internal
 *   API (verdicts cached, see {@link TokenCheck}); an unknown token gets 401 here, a known one is passed through and
 *   the instance judges its permissions per route.
 * Only the instance's token-guarded routes (`/v1/…`) and its `/health` (state only) are reachable; never `/metrics`,
 * `/openapi.json` or anything else of the instance.
 * WebSocket `/v1/instances/:id/api/v1/events` is relayed the same way (token in the header, or `?access_token=` /
 * `?token=` for browsers); client frames above 64 KiB close the connection.
 *
 * Revocation reaches open relays: one opened with an access token (JWT) is closed with 4401 when that token's session
 * is logged out (found by a periodic re-check of open relays, every 5 s, see {@link RelayWatch}) or the token expires
 * (a timer at `exp`); one opened with an instance token closes when the instance closes its stream (the token was
 * deleted: 4401; re-scoped: 4403) — the instance's close code and reason are passed on to the client.
 *
 * A client that goes away at any point (a TCP reset during the upgrade, a body that breaks mid-stream on either side)
 * costs its own connection only: every socket and body stream has an error path, bodies are relayed with
 * `stream.pipeline`.
 */
import type { IncomingMessage, Server } from 'node:http';
import { pipeline, type Duplex } from 'node:stream';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { request } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import { HttpError, bearer } from '@wacloud/kit';
import type { Accounts } from './accounts.js';
import { AppError } from './errors.js';
import type { InstanceClient } from './instance-client.js';
import type { InstanceService } from './instances.js';
import { RelayWatch } from './gateway/relay-watch.js';
import { TokenCheck } from './gateway/token-check.js';

const PREFIX = /^\/v1\/instances\/(i-[a-z2-7]{12})\/api(\/.*)?$/;
/** Largest WebSocket frame a client may send through the gateway, bytes (the instance ignores client frames anyway). */
const MAX_CLIENT_FRAME_BYTES = 64 * 1024;
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

interface Target {
  baseUrl: string;
  authorization: string;
  instanceId: string;
  viaGatewayToken: boolean;
}

/**
 * The instance path a client asked for, normalised as the upstream request would resolve it (`..`, `%2e%2e`, `\`),
 * when the gateway forwards it: `/health` or a `/v1/…` route; otherwise undefined.
 */
export function forwardablePath(rest: string): string | undefined {
  let p: string;
  try {
    p = new URL(rest, 'http://instance.invalid').pathname;
  } catch {
    return undefined;
  }
  return p === '/health' || p.startsWith('/v1/') ? p : undefined;
}

/** Where the gateway looks up an instance's addresses (the instance service; a stand-in in unit tests). */
export type EndpointsLookup = Pick<InstanceService, 'endpoints'>;

/** Whether `code` may be sent in a close frame (1005, 1006 and 1015 are reserved for "none", "abnormal", "TLS"). */
function sendableCloseCode(code: number): boolean {
  return (
    code === 1000 ||
    code === 1001 ||
    (code >= 1002 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

export class Gateway {
  /**
   * @param tokenCheck verdicts on instance tokens; one per api process by default.
   * @param relayCheckMs how often relays opened with an access token re-check its session, ms.
   */
  constructor(
    private readonly accounts: Accounts,
    private readonly instances: EndpointsLookup,
    private readonly client: InstanceClient,
    private readonly logger: Logger,
    private readonly tokenCheck = new TokenCheck({ logger }),
    private readonly relayCheckMs = 5_000,
  ) {}

  /** Resolves where a request for instance `id` goes and with which credential. */
  private async target(id: string, presented: string | undefined): Promise<Target> {
    if (!presented) throw new AppError('unauthorized', 'Send your access token, or an instance token, as "Authorization: Bearer …".');
    if (presented.startsWith('wai_')) {
      const ep = await this.instances.endpoints(id);
      if (!(await this.tokenCheck.permissions(id, ep, presented)))
        throw new AppError('unauthorized', 'The instance token is invalid or was deleted.');
      return { baseUrl: ep.publicUrl, authorization: `Bearer ${presented}`, instanceId: id, viaGatewayToken: false };
    }
    const { userId } = await this.accounts.verify(presented);
    const ep = await this.instances.endpoints(id, userId);
    const token = await this.client.gatewayToken(id, ep);
    return { baseUrl: ep.publicUrl, authorization: `Bearer ${token}`, instanceId: id, viaGatewayToken: true };
  }

  /** Express middleware (mounted before the JSON body parser so bodies stream through untouched). */
  middleware(): RequestHandler {
    return (req, res, next) => {
      const m = PREFIX.exec(req.path);
      if (!m) return next();
      void (async () => {
        const [, id, asked = '/'] = m as unknown as [string, string, string | undefined];
        const rest = forwardablePath(asked);
        if (!rest) throw new AppError('not_found', "Through the gateway: the instance's /v1/… routes and /health.");
        const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
        const forward = async (t: Target) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(req.headers))
            if (!HOP_BY_HOP.has(k) && k !== 'authorization' && typeof v === 'string') headers[k] = v;
          headers.authorization = t.authorization;
          headers['x-forwarded-for'] = req.ip ?? '';
          const hasBody = !['GET', 'HEAD'].includes(req.method);
          return request(t.baseUrl + rest + query, {
            method: req.method as 'GET',
            headers,
            body: hasBody ? (req as unknown as NodeJS.ReadableStream as never) : undefined,
            headersTimeout: 30_000,
            bodyTimeout: 60_000,
          });
        };
        let t = await this.target(id!, bearer(req));
        let upstream = await forward(t);
        if (upstream.statusCode === 401 && t.viaGatewayToken && ['GET', 'HEAD'].includes(req.method)) {
          // The instance no longer knows our gateway token (e.g. its database was reset): mint a new one, retry once.
          await upstream.body.dump();
          this.client.forgetGatewayToken(id!);
          t = await this.target(id!, bearer(req));
          upstream = await forward(t);
        }
        res.status(upstream.statusCode);
        for (const [k, v] of Object.entries(upstream.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) res.setHeader(k, v);
        // The status line is out: a body that breaks from here on can only cut the response short (pipeline destroys
        // `res`, so the client sees an incomplete answer, not a complete-looking one).
        pipeline(upstream.body, res, (err) => {
          if (err && !res.destroyed) res.destroy();
          if (err) this.logger.warn({ err, instance: id }, 'gateway response body broke off');
        });
      })().catch((err: unknown) => {
        if (err instanceof HttpError) return next(err);
        // The detail (the instance's address, the socket error) is for the log only.
        this.logger.warn({ err, instance: m[1] }, 'gateway request failed');
        next(new AppError('instance_unavailable', 'The instance did not answer; retry shortly.'));
      });
    };
  }

  /** Relays WebSocket upgrades of `/v1/instances/:id/api/v1/events` to the instance's event stream. */
  attachWebSocket(server: Server): { close(): void } {
    const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME_BYTES });
    const watch = new RelayWatch((token) => this.accounts.verify(token), { intervalMs: this.relayCheckMs, logger: this.logger });
    const reject = (socket: Duplex, e: HttpError) => {
      if (socket.destroyed) return;
      const body = JSON.stringify(e.toJSON());
      socket.end(
        `HTTP/1.1 ${e.status} ${e.code}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    };
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Node's HTTP server drops its own error listener from an upgraded socket: without this one, a client that resets
      // the connection while its token is being checked would end the api with an unhandled ECONNRESET.
      socket.on('error', () => socket.destroy());
      const url = new URL(req.url ?? '/', 'http://localhost');
      const m = PREFIX.exec(url.pathname);
      if (!m || m[2] !== '/v1/events')
        return reject(socket, new AppError('not_found', 'WebSocket endpoint: /v1/instances/<id>/api/v1/events.'));
      const presented = bearer(req) ?? url.searchParams.get('access_token') ?? url.searchParams.get('token') ?? undefined;
      void (async () => {
        const t = await this.target(m[1]!, presented);
        const upstream = new WebSocket(`${t.baseUrl.replace(/^http/, 'ws')}/v1/events`, { headers: { authorization: t.authorization } });
        await new Promise<void>((resolve, reject2) => {
          // Paused until the client is attached: the instance sends the session status at once, and a frame that
          // arrived before the relay's listeners would be lost.
          upstream.once('open', () => {
            upstream.pause();
            resolve();
          });
          upstream.once('unexpected-response', (_r, res) =>
            reject2(
              new AppError(
                res.statusCode === 401 ? 'unauthorized' : res.statusCode === 403 ? 'forbidden' : 'upstream_error',
                `The instance refused the event stream (${res.statusCode}).`,
              ),
            ),
          );
          upstream.once('error', (e) => {
            this.logger.warn({ err: e, instance: m[1] }, 'gateway event stream: the instance did not answer');
            reject2(new AppError('instance_unavailable', 'The instance did not answer; retry shortly.'));
          });
        });
        if (socket.destroyed) {
          // The client left while the instance was being reached.
          upstream.on('error', () => {});
          upstream.terminate();
          return;
        }
        let attached = false;
        // ws refuses an upgrade on a socket that is no longer usable by destroying it, without the callback.
        socket.once('close', () => attached || upstream.terminate());
        wss.handleUpgrade(req, socket, head, (client) => {
          attached = true;
          upstream.on('message', (data, isBinary) => client.readyState === WebSocket.OPEN && client.send(data, { binary: isBinary }));
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
          const unwatch = t.viaGatewayToken
            ? watch.add(presented!, (code, reason) => {
                if (client.readyState === WebSocket.OPEN) client.close(code, reason);
                if (upstream.readyState === WebSocket.OPEN) upstream.close();
              })
            : () => {};
          client.on('close', () => {
            unwatch();
            closeBoth();
          });
          upstream.on('error', closeBoth);
          client.on('error', closeBoth);
          upstream.resume();
        });
      })().catch((err: unknown) => {
        if (!(err instanceof HttpError)) this.logger.warn({ err, instance: m[1] }, 'gateway event stream failed');
        reject(
          socket,
          err instanceof HttpError ? err : new AppError('instance_unavailable', 'The instance did not answer; retry shortly.'),
        );
      });
    });
    return {
      close: () => {
        watch.stop();
        wss.close();
      },
    };
  }
}
