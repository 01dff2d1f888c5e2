/**
 * The gateway: all client traffic to instances goes through the main backend. `/v1/instances/:id/api/<path>` is
 * proxied to the instance's public API `/<path>`, relaying bodies both ways (those of declared length up to
 * `bodyLimitBytes` held and sent whole, in one write; larger or chunked ones streamed):
 * - with the owner's access token (JWT) — the dashboard's tester — the request is sent with the gateway's own
 *   instance token (the tenant never sees it); another tenant's JWT gets 404 like an unknown instance;
 * - with an instance token (`wai_…`) — external systems — the instance first confirms the token through its internal
 *   API (verdicts cached, see {@link TokenCheck}); an unknown token gets 401 here, a known one is passed through and
 *   the instance judges its permissions per route.
 * Only the instance's token-guarded routes (`/v1/…`) and its `/health` (state only) are reachable; never `/metrics`
 * or anything else of the instance. `GET …/api/openapi.json` is the instance's public document as the gateway serves
 * it (`gateway/instance-openapi.ts`: no internal routes, the gateway's own answers added).
 * WebSocket `/v1/instances/:id/api/v1/events` is relayed the same way (token in the header, or for browsers a
 * single-use `?ticket=` from `POST /v1/instances/:id/ws-ticket`, see {@link WsTickets}; tokens in the URL are refused),
 * see {@link WsRelay}: frame and per-tenant stream limits, revocation, shutdown.
 *
 * Cheap requests do not amplify: each client address, then each tenant (once authenticated), has a request budget per
 * window shared by all api replicas ({@link RateLimiter}; beyond it 429 `rate_limited` with Retry-After), and
 * instance endpoints come from a cache (see `gateway/endpoint-cache.ts`).
 *
 * The gateway's own credential is one instance token per instance shared by every api replica
 * ({@link GatewayCredentials}); when the instance refuses it (401), a fresh one is fetched and the request sent again —
 * also a POST, whose body the gateway holds for this (a 401 means the instance ran nothing, so nothing is sent twice).
 *
 * Upstream time limits fit the slowest instance route (a login that waits for WhatsApp Web to load): the answer's
 * headers and each gap in its body may take `upstreamTimeoutMs` (5 min by default); beyond, 504 `upstream_timeout`.
 * Errors never carry the instance's address or its answer's internals; those go to the log.
 *
 * A client that goes away at any point (a TCP reset during the upgrade, a body that breaks mid-stream on either side)
 * costs its own connection only: every socket and body stream has an error path, bodies are relayed with
 * `stream.pipeline`.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import type { Logger } from 'pino';
import { Agent, errors as undiciErrors, type Dispatcher } from 'undici';
import { HttpError, bearer, errorBrief, type FrontContext, type FrontRoute } from '@wacloud/kit';
import type { Accounts, AuthContext } from './accounts.js';
import { AppError } from './errors.js';
import type { InstanceClient } from './instance-client.js';
import type { InstanceService } from './instances.js';
import type { Credential } from './gateway/credentials.js';
import type { RateLimiter, RateRule } from './gateway/rate-limit.js';
import { MEMBER_HEADER, checkGatewayAccess, mayRead, memberHeader } from './gateway/member-access.js';
import { TokenCheck } from './gateway/token-check.js';
import { WsRelay, type Presented, type RelayTarget } from './gateway/ws-relay.js';
import type { WsTickets } from './gateway/ws-tickets.js';
import { gatewayInstanceDoc } from './gateway/instance-openapi.js';
import { ClientGoneError, QueueTimeoutError, declaredLength, readCapped, sendUpstream, wholeBody } from './gateway/upstream.js';
import type { GatewayMetrics } from './gateway/metrics.js';
import { waitsOnOthers } from './gateway/connection-cap.js';

/** Watch key of a relay opened with a ticket: its session (see {@link Gateway.attachWebSocket}). */
const SESSION_KEY = 'session:';

const PREFIX = /^\/v1\/instances\/(i-[a-z2-7]{12})\/api(\/.*)?$/;
/** The `route` label of the gateway's requests in `http_request_duration_seconds`. */
export const GATEWAY_ROUTE = '/v1/instances/:id/api/*';

/** A request's path without its query; of an absolute-form target (`http://host/path`, which HTTP/1.1 servers accept) too. */
const pathOf = (url: string) => {
  if (url[0] !== '/') {
    try {
      return new URL(url).pathname;
    } catch {
      return url;
    }
  }
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
};
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
  // Node's server has answered a client's `Expect: 100-continue` (curl sends it for bodies over 1 MB) already; undici
  // refuses the header (it used to end such a request in 503 instead of the instance's answer, e.g. its 413).
  'expect',
]);

/** Default of {@link GatewayOptions.upstreamTimeoutMs}: longer than an instance's slowest route (a login, ≤ 3 min). */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 300_000;
/** Default of {@link GatewayOptions.upstreamConnections}: see there, and BENCHMARKS.md ("Gateway: connections per instance"). */
export const DEFAULT_UPSTREAM_CONNECTIONS = 16;
/** Default of {@link GatewayOptions.queueTimeoutMs}: under the 30 s many HTTP clients give up at, so they get the coded answer. */
export const DEFAULT_QUEUE_TIMEOUT_MS = 20_000;
/** Retry-After of an `instance_busy` answer, seconds: the instance had a full queue for the whole queue timeout. */
export const INSTANCE_BUSY_RETRY_AFTER_S = 5;

interface Target {
  baseUrl: string;
  authorization: string;
  /** Tenant the request counts against (organisation id). */
  tenant: string;
  /** The gateway's credential, when the client presented an access token. */
  cred?: Credential | undefined;
  /** With the gateway's credential: the {@link MEMBER_HEADER} value naming the member it sends for. */
  member?: string | undefined;
}

export interface GatewayOptions {
  /** Verdicts on instance tokens; one per api process by default. */
  tokenCheck?: TokenCheck;
  /** How often relays opened with an access token re-check its session, ms (default 5,000). */
  relayCheckMs?: number;
  /** Shared request budgets; none: unlimited. */
  limiter?: RateLimiter;
  /** Requests per client address per window (before authentication). */
  perAddress?: RateRule;
  /** Requests per tenant per window (once authenticated). */
  perTenant?: RateRule;
  /** Open event streams per tenant on one api process (default 20). */
  maxStreamsPerUser?: number;
  /** Longest wait for an instance's answer headers, and for each part of its body, ms (default 5 min). */
  upstreamTimeoutMs?: number;
  /**
   * Connections this api process holds to one instance at a time (default {@link DEFAULT_UPSTREAM_CONNECTIONS}); the
   * requests beyond wait in the gateway, in arrival order, for one to be free (like HAProxy's per-server `maxconn`). An
   * instance's CPU per request grows with the requests it works on at once (straight to it, POST /v1/messages cost the
   * machine 1.73 ms per request at 16 at once, 2.06 at 64); whether metering pays at 64 clients varied from run to run
   * (BENCHMARKS.md, "Gateway: connections per instance"); it also bounds what one api process opens to an instance,
   * and costs nothing at 16 requests at a time or fewer. A connection is held until the instance's answer is in the
   * gateway's hands — the whole answer up to `bodyLimitBytes`, or a larger one until the client has read it — and while
   * a streamed request body uploads. A request whose client went away while it waited is never sent. Requests that wait
   * on WhatsApp or on their client (`?wait=true` sends, the login, media downloads) go around the cap
   * (`gateway/connection-cap.ts`).
   */
  upstreamConnections?: number;
  /**
   * Longest wait of a request for one of those connections, ms (default {@link DEFAULT_QUEUE_TIMEOUT_MS}; HAProxy's
   * `timeout queue`): beyond it the request is answered 503 `instance_busy` with Retry-After
   * ({@link INSTANCE_BUSY_RETRY_AFTER_S}) and is never sent — the instance is working on as many requests of this api
   * process as it may, and those ahead did not finish in time (a stuck instance holds its requests up to
   * `upstreamTimeoutMs` each). Counted in `wacloud_gateway_queue_timeouts_total`.
   */
  queueTimeoutMs?: number;
  /**
   * Largest request body held in memory, bytes (default 256 KiB): with the gateway's credential a larger one is refused
   * (413 `payload_too_large`; held for a retry); with the client's token a larger one streams through.
   */
  bodyLimitBytes?: number;
  /** Owner (organisation id) of an instance, for the per-tenant budget of instance-token requests; undefined when unknown. */
  ownerOf?: (id: string) => Promise<string | undefined>;
  /**
   * The client's address of a WebSocket upgrade (the api's `trust proxy` hops, as its HTTP requests get from kit's
   * `withFront`); default: the socket's peer.
   */
  clientAddress?: (req: IncomingMessage) => string;
  /** WebSocket tickets of browsers (`?ticket=`); none: tickets are refused. */
  tickets?: WsTickets;
  /**
   * The connection pool requests to instances go through; default: the gateway's own undici `Agent` (keep-alive, one
   * request per connection at a time). Its own rather than the process's global dispatcher, which Node's built-in
   * `fetch` may have installed first: undici's `request` over that older bundled copy went through adapter layers
   * (~60 µs of CPU per proxied request, BENCHMARKS.md gateway).
   */
  dispatcher?: Dispatcher;
  /** Where proxied requests' time went (the gateway's own, the instance's); none: not measured. */
  metrics?: GatewayMetrics;
}

/**
 * The instance path a client asked for, normalised as the upstream request would resolve it (`..`, `%2e%2e`, `\`),
 * when the gateway forwards it: `/health` or a `/v1/…` route; otherwise undefined.
 */
export function forwardablePath(rest: string): string | undefined {
  // A path of plain segments (no dot, percent, backslash or other character URL parsing would rewrite) is its own
  // normalisation.
  if (PLAIN_PATH.test(rest)) return rest === '/health' || rest.startsWith('/v1/') ? rest : undefined;
  let p: string;
  try {
    p = new URL(rest, 'http://instance.invalid').pathname;
  } catch {
    return undefined;
  }
  return p === '/health' || p.startsWith('/v1/') ? p : undefined;
}

/** Paths that URL resolution leaves as they are (see {@link forwardablePath}). */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_~:@!$&'()*+,;=-]+)+$/;

/** Where the gateway looks up an instance's addresses (the instance service; a stand-in in unit tests). */
export type EndpointsLookup = Pick<InstanceService, 'endpoints'>;

/** An instance's base URL as undici's dispatch takes it: origin, and the path prefix (none for every provider's). */
function splitBase(base: string): { origin: string; prefix: string } {
  const slash = base.indexOf('/', base.indexOf('//') + 2);
  return slash < 0 ? { origin: base, prefix: '' } : { origin: base.slice(0, slash), prefix: base.slice(slash).replace(/\/$/, '') };
}

/** Sends `body` as a 200 JSON answer. */
function sendJson(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

/** Default of {@link GatewayOptions.bodyLimitBytes}, bytes. */
const DEFAULT_HELD_BODY_BYTES = 256 * 1024;
/** Largest instance API document the gateway reads, bytes (a larger answer is an `upstream_error`, never held whole). */
const INSTANCE_DOC_MAX_BYTES = 8 * 1024 * 1024;

/** Whether `err` is undici's timeout waiting for an answer's headers or body. */
function isTimeout(err: unknown): boolean {
  return err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError;
}

export class Gateway {
  private readonly tokenCheck: TokenCheck;
  private readonly owners = new Map<string, string>();
  private readonly upstreamTimeoutMs: number;
  /** Requests to instances, at most {@link GatewayOptions.upstreamConnections} per instance at a time. */
  private readonly dispatcher: Dispatcher;
  /** Requests that wait on others than the instance (`gateway/connection-cap.ts`): no cap. */
  private readonly uncapped: Dispatcher;

  constructor(
    private readonly accounts: Accounts,
    private readonly instances: EndpointsLookup,
    private readonly client: InstanceClient,
    private readonly logger: Logger,
    private readonly o: GatewayOptions = {},
  ) {
    this.tokenCheck = o.tokenCheck ?? new TokenCheck({ logger });
    this.upstreamTimeoutMs = o.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
    this.dispatcher = o.dispatcher ?? new Agent({ connections: o.upstreamConnections ?? DEFAULT_UPSTREAM_CONNECTIONS });
    this.uncapped = o.dispatcher ?? new Agent();
  }

  /** Counts a request of `key` against `rule`. @throws AppError `rate_limited`. */
  private async limit(key: string, rule: RateRule | undefined): Promise<void> {
    if (this.o.limiter && rule) await this.o.limiter.consume(key, rule);
  }

  /** The tenant an instance-token request counts against (the instance's owner; cached: owners never change). */
  private async tenantOf(id: string): Promise<string> {
    const known = this.owners.get(id);
    if (known) return known;
    const owner = await this.o.ownerOf?.(id);
    if (!owner) return `instance:${id}`;
    this.owners.set(id, owner);
    while (this.owners.size > 10_000) this.owners.delete(this.owners.keys().next().value!);
    return owner;
  }

  /**
   * Resolves where a request for instance `id` goes and with which credential, counting it against the client
   * address's and (once authenticated) the tenant's budget.
   */
  private async target(
    id: string,
    presented: string | undefined,
    address: string,
    asked: { method: string; path: string },
    counted = false,
  ): Promise<Target> {
    if (!counted) await this.limit(`gw:address:${address}`, this.o.perAddress);
    if (!presented) throw new AppError('unauthorized', 'Send your access token, or an instance token, as "Authorization: Bearer …".');
    if (presented.startsWith('wai_')) {
      const ep = await this.instances.endpoints(id);
      if (!(await this.tokenCheck.permissions(id, ep, presented)))
        throw new AppError('unauthorized', 'The instance token is invalid or was deleted.');
      const tenant = await this.tenantOf(id);
      if (!counted) await this.limit(`gw:tenant:${tenant}`, this.o.perTenant);
      return { baseUrl: ep.publicUrl, authorization: `Bearer ${presented}`, tenant };
    }
    const auth = await this.accounts.verify(presented);
    return this.memberTarget(id, auth, asked, counted);
  }

  /**
   * {@link target} for member `auth` (authenticated; its rights on the instance checked): the gateway's own credential,
   * naming the member to the instance.
   * @throws AppError `rate_limited`, the rights errors of {@link checkGatewayAccess}, `instance_not_found`.
   */
  private async memberTarget(id: string, auth: AuthContext, asked: { method: string; path: string }, counted: boolean): Promise<Target> {
    if (!counted) await this.limit(`gw:tenant:${auth.orgId}`, this.o.perTenant);
    checkGatewayAccess(auth, id, asked.method, asked.path); // the member's rights on the instance
    const ep = await this.instances.endpoints(id, auth.orgId);
    const cred = await this.client.gatewayCredential(id, ep);
    return { baseUrl: ep.publicUrl, authorization: `Bearer ${cred.token}`, tenant: auth.orgId, cred, member: memberHeader(auth) };
  }

  /**
   * The gateway's requests (`/v1/instances/:id/api/…`), answered ahead of express by kit's `withFront` (bodies stream
   * through untouched; logged and measured under {@link GATEWAY_ROUTE}).
   */
  front(): FrontRoute {
    return {
      match: (req) => (PREFIX.test(pathOf(req.url ?? '/')) ? GATEWAY_ROUTE : undefined),
      handle: (req, res, ctx) => this.serve(req, res, ctx),
    };
  }

  /** Answers one request of the gateway's paths (see the file's docstring). */
  private serve(req: IncomingMessage, res: ServerResponse, { address, fail }: FrontContext): void {
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    const m = PREFIX.exec(pathOf(url))!;
    const id = m[1]!;
    const started = performance.now();
    let upstreamMs: number | undefined; // time awaiting the instance's answers
    let streamed = false;
    /** `p`, its time counted as the instance's (see `gateway/metrics.ts`). */
    const waitedOn = <T>(p: Promise<T>): Promise<T> => {
      const from = performance.now();
      return p.finally(() => (upstreamMs = (upstreamMs ?? 0) + performance.now() - from));
    };
    if (this.o.metrics) {
      const metrics = this.o.metrics;
      res.once('finish', () => {
        const own = streamed ? undefined : performance.now() - started - (upstreamMs ?? 0);
        metrics.observe(method, own, upstreamMs);
      });
    }
    void (async () => {
      if (m[2] === '/openapi.json' && method === 'GET') {
        const t = await this.target(id, bearer(req), address, { method: 'GET', path: '/openapi.json' });
        const doc = await waitedOn(this.fetchInstanceDoc(t.baseUrl, () => res.destroyed));
        return void sendJson(
          res,
          gatewayInstanceDoc(doc, id, (p) => forwardablePath(p) === p),
        );
      }
      const rest = forwardablePath(m[2] ?? '/');
      if (!rest) throw new AppError('not_found', "Through the gateway: the instance's /v1/… routes and /health.");
      const q = url.indexOf('?');
      const query = q < 0 ? '' : url.slice(q);
      const hasBody = method !== 'GET' && method !== 'HEAD';
      const asked = { method, path: rest };
      let t = await this.target(id, bearer(req), address, asked);
      // With the gateway's credential the body is held, so that a refused credential can be replaced and the request
      // sent again. With the client's own token a body of declared length up to the same limit is held too (read as it
      // arrives — usually with the headers — and sent with the request's headers in one write); a larger or chunked
      // one streams through, with its declared length (an instance never receives a known-length body re-framed as
      // chunks).
      const limit = this.o.bodyLimitBytes ?? DEFAULT_HELD_BODY_BYTES;
      const declared = hasBody ? declaredLength(req) : undefined;
      const tooLarge = () => new AppError('payload_too_large', `The body exceeds ${limit} bytes.`, { limitBytes: limit });
      const held =
        hasBody && (t.cred || (declared !== undefined && declared <= limit)) ? await readCapped(req, limit, tooLarge) : undefined;
      const forward = (to: Target) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers))
          if (!HOP_BY_HOP.has(k) && k !== 'authorization' && k !== MEMBER_HEADER && typeof v === 'string') headers[k] = v;
        headers.authorization = to.authorization;
        if (to.member) headers[MEMBER_HEADER] = to.member; // who sends (only ever set here: clients' copies are dropped)
        headers['x-forwarded-for'] = address;
        if (!held && declared !== undefined) headers['content-length'] = String(declared);
        const { origin, prefix } = splitBase(to.baseUrl);
        const opts = {
          origin,
          path: prefix + rest + query,
          method: method as 'GET',
          headers,
          body: hasBody ? (held ?? (req as unknown as Readable)) : undefined,
          headersTimeout: this.upstreamTimeoutMs,
          bodyTimeout: this.upstreamTimeoutMs,
        };
        const abandoned = () => res.destroyed;
        if (waitsOnOthers(method, rest, query)) return waitedOn(sendUpstream(this.uncapped, opts, limit, { abandoned }));
        const queueTimeoutMs = this.o.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS;
        return waitedOn(sendUpstream(this.dispatcher, opts, limit, { abandoned, queueTimeoutMs }));
      };
      let upstream = await forward(t);
      if (upstream.statusCode === 401 && t.cred) {
        // The instance no longer knows the gateway's credential (e.g. its database was reset): it ran nothing, so
        // replace the credential and send the request once more.
        upstream.body?.destroy();
        // The refusal's cost is the instance's, not the gateway's own.
        await waitedOn(this.client.gatewayRefused(id, t.cred));
        t = await waitedOn(this.target(id, bearer(req), address, asked, true));
        upstream = await forward(t);
      }
      // An answer of declared length up to the held-body limit was read whole and is sent in one write (headers and
      // body); one that broke off meanwhile is still a 503 of the gateway. Larger or unsized answers stream.
      const whole = upstream.whole;
      res.statusCode = upstream.statusCode;
      for (const [k, v] of Object.entries(upstream.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) res.setHeader(k, v);
      if (whole) return void res.setHeader('content-length', whole.length).end(whole);
      streamed = true;
      // The status line is out: a body that breaks from here on can only cut the response short (pipeline destroys
      // `res`, so the client sees an incomplete answer, not a complete-looking one).
      pipeline(upstream.body!, res, (err) => {
        if (err && !res.destroyed) res.destroy();
        if (err) this.logger.warn({ err, instance: id }, 'gateway response body broke off');
      });
    })().catch((err: unknown) => {
      // The client went away (e.g. while its request waited for a connection): nobody to answer, nothing to report.
      if (err instanceof ClientGoneError) return void this.logger.debug({ instance: id }, 'gateway request dropped: its client went away');
      if (err instanceof QueueTimeoutError) {
        this.o.metrics?.queueTimedOut();
        this.logger.warn(
          { instance: id, waitedMs: err.waitedMs },
          'gateway request not sent: no connection to the instance was free in time',
        );
        const retryAfterS = INSTANCE_BUSY_RETRY_AFTER_S;
        return fail(
          new AppError(
            'instance_busy',
            `The instance is busy: the requests ahead of this one did not finish within ${err.waitedMs} ms, so it was not sent; retry in ${retryAfterS} s.`,
            { waitedMs: err.waitedMs, retryAfterS },
          ),
        );
      }
      // An HttpError's details.retryAfterS (`rate_limited`) goes out as Retry-After (kit's sendError).
      if (err instanceof HttpError) return fail(err);
      // The detail (the instance's address, the socket error) is for the log only; an expected 503, so no stack.
      this.logger.warn({ error: errorBrief(err), instance: id }, 'gateway request failed');
      fail(
        isTimeout(err)
          ? new AppError('upstream_timeout', 'The instance did not answer in time; retry later.')
          : new AppError('instance_unavailable', 'The instance did not answer; retry shortly.'),
      );
    });
  }

  /**
   * The instance's public API document (its `/openapi.json`), as the instance serves it; the gateway's rewrite is
   * {@link gatewayInstanceDoc}, its request authenticated and counted like any other (in `serve`), and sent like one:
   * through the instance's capped connections, within the queue timeout.
   * @throws AppError `upstream_error` when the instance answers other than 200 or over {@link INSTANCE_DOC_MAX_BYTES};
   *   QueueTimeoutError / ClientGoneError as {@link sendUpstream} (answered 503 `instance_busy`, or not at all).
   */
  private async fetchInstanceDoc(baseUrl: string, abandoned: () => boolean): Promise<Record<string, unknown>> {
    const { origin, prefix } = splitBase(baseUrl);
    const timeouts = { headersTimeout: this.upstreamTimeoutMs, bodyTimeout: this.upstreamTimeoutMs };
    const opts = { origin, path: `${prefix}/openapi.json`, method: 'GET' as const, ...timeouts };
    const queueTimeoutMs = this.o.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS;
    const r = await sendUpstream(this.dispatcher, opts, this.o.bodyLimitBytes ?? DEFAULT_HELD_BODY_BYTES, { abandoned, queueTimeoutMs });
    if (r.statusCode !== 200) {
      r.body?.destroy();
      throw new AppError('upstream_error', `The instance answered ${r.statusCode} for its API document.`);
    }
    const tooLarge = () => new AppError('upstream_error', 'The instance API document is too large.');
    return JSON.parse((await wholeBody(r, INSTANCE_DOC_MAX_BYTES, tooLarge)).toString('utf8')) as Record<string, unknown>;
  }

  /**
   * Where an event stream goes: with a bearer header as {@link target}; with a ticket, the ticket is consumed (single
   * use, this instance only) and its session must still be live.
   * @throws AppError `unauthorized` (no credential; a bad, used or expired ticket; its session ended), and
   *   {@link target}'s errors.
   */
  private async relayTarget(id: string, presented: Presented, address: string): Promise<RelayTarget> {
    const asked = { method: 'GET', path: '/v1/events' };
    // A member's stream closes (4403) once it may no longer read the instance (re-checked with its token or session).
    const allowed = (auth: unknown) => mayRead(auth as AuthContext, id);
    if (presented.bearer || !presented.ticket) {
      const t = await this.target(id, presented.bearer, address, asked);
      return { ...t, watch: t.cred ? { key: presented.bearer! } : undefined, allowed };
    }
    await this.limit(`gw:address:${address}`, this.o.perAddress);
    if (!this.o.tickets) throw new AppError('unauthorized', 'Tickets are not accepted here; send "Authorization: Bearer …".');
    const grant = await this.o.tickets.consume(presented.ticket, id);
    const auth = await this.accounts.session(grant.sessionId);
    const t = await this.memberTarget(id, auth, asked, false);
    return { ...t, watch: { key: SESSION_KEY + grant.sessionId, expiresAtMs: auth.expiresAt.getTime() }, allowed };
  }

  /** Relays WebSocket upgrades of `/v1/instances/:id/api/v1/events` to the instance's event stream. */
  attachWebSocket(server: Server, elsewhere?: (pathname: string) => boolean): WsRelay {
    return new WsRelay(server, {
      elsewhere,
      match: (p) => {
        const m = PREFIX.exec(p);
        return m && m[2] === '/v1/events' ? m[1] : undefined;
      },
      resolve: (id, presented, req) =>
        this.relayTarget(id, presented, this.o.clientAddress?.(req) ?? req.socket.remoteAddress ?? 'unknown'),
      // A ticket's relay is watched through its session; a header's through its access token.
      verify: (key) => (key.startsWith(SESSION_KEY) ? this.accounts.session(key.slice(SESSION_KEY.length)) : this.accounts.verify(key)),
      logger: this.logger,
      maxStreamsPerUser: this.o.maxStreamsPerUser ?? 20,
      relayCheckMs: this.o.relayCheckMs ?? 5_000,
      bearer: (req) => bearer(req),
    });
  }
}
