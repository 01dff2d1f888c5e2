/**
 * Composition root of the api: store, accounts, wallet, provider (with cached endpoints), instances, gateway, routes,
 * HTTP server, the metrics listener (METRICS_PORT; the public port never serves /metrics), the periodic sweep of
 * expired sessions and throttle points, and billing's recovery at start (`Billing.recover`, in the background). `startApi` is used by `main.ts` and by tests that run the api in-process.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Express, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { Histogram, Registry } from 'prom-client';
import {
  bearer,
  clientAddress,
  collectLintCleanDefaultMetrics,
  createApp,
  holdIdleConnections,
  withFront,
  type Authenticate,
  type NodeHandler,
} from '@wacloud/kit';
import cron from 'node-cron';
import { Accounts } from './accounts.js';
import { AuditLog } from './audit.js';
import { Billing, createBillingMetrics } from './billing.js';
import { createContacts } from './contacts/index.js';
import { dashboardStatic } from './dashboard-static.js';
import type { ApiConfig } from './config.js';
import { AppError } from './errors.js';
import { Gateway } from './gateway.js';
import { InstanceClient } from './instance-client.js';
import { cachingEndpoints } from './gateway/endpoint-cache.js';
import type { GatewayCredentialDoc } from './gateway/credentials.js';
import { RateLimiter } from './gateway/rate-limit.js';
import { createGatewayMetrics } from './gateway/metrics.js';
import { WsTickets, type WsTicketDoc } from './gateway/ws-tickets.js';
import { InstanceService } from './instances.js';
import { Invitations } from './orgs/invitations.js';
import { Members } from './orgs/members.js';
import { migrateAccounts } from './orgs/migrate.js';
import { LoginThrottle, Throttle } from './login-throttle.js';
import { createProvider, type InstanceProvider } from './providers/index.js';
import { registerInstanceMetrics } from './providers/metrics.js';
import { apiOpenApi } from './openapi.js';
import { apiRoutes } from './routes.js';
import { createInbox } from './inbox/index.js';
import { openApiStore, type ApiStore } from './store.js';
import { StatsService } from './stats/stats-service.js';
import { Wallet } from './wallet.js';
import { Ingest } from './events/ingest.js';
import { ingestRoutes, rawEventBody } from './events/ingest-routes.js';
import { ApiSubscriptions, withSubscriptions } from './events/subscriptions.js';
import { feedInstanceEvents } from './live/instance-feed.js';
import { Live } from './live/live.js';
import { LIVE_PATH } from './live/sockets.js';

export interface Api {
  url: string;
  app: Express;
  store: ApiStore;
  provider: InstanceProvider;
  wallet: Wallet;
  instances: InstanceService;
  /** Instance events as the ingest takes them (`events/instance-events.ts`). */
  events: Ingest;
  /** The live log and socket (`live/live-log.ts`). */
  live: Live;
  registry: Registry;
  /** URL of the metrics listener (METRICS_PORT), if any. */
  metricsUrl?: string | undefined;
  /** Stops serving (event streams are closed with 1001) and releases the provider (instances keep running). */
  close(): Promise<void>;
}

/**
 * Minimal CORS for a dashboard hosted on another origin (CORS_ORIGINS): a plain Node handler, so that it serves both
 * express and the gateway's front route; a preflight of an allowed origin is answered 204.
 */
function cors(origins: string[]): NodeHandler {
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin && origins.includes(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'Origin');
      res.setHeader('access-control-allow-headers', 'authorization, content-type, idempotency-key');
      res.setHeader('access-control-allow-methods', 'GET, POST, PATCH, PUT, DELETE, OPTIONS');
      if (req.method === 'OPTIONS') return void ((res.statusCode = 204), res.end());
    }
    next();
  };
}

export async function startApi(config: ApiConfig, logger: Logger, providerOverride?: InstanceProvider): Promise<Api> {
  const store = await openApiStore(config.mongodbUri);
  // Accounts from before organisations get their own (idempotent; several replicas may run it at once).
  await migrateAccounts(store, logger.child({ component: 'organisations' }));
  // Every instance the api learns the endpoints of is subscribed to the ingest (docs/team.md §1).
  const subscriptions = new ApiSubscriptions(store, {
    jwtSecret: config.jwtSecret,
    logger: logger.child({ component: 'api-subscriptions' }),
  });
  const backend = providerOverride ?? (await createProvider(config, logger));
  const cached = cachingEndpoints(backend, {
    ttlMs: config.endpointsTtlMs,
    negativeTtlMs: config.endpointsNegativeTtlMs,
  });
  const provider = withSubscriptions(cached, subscriptions);
  const accounts = new Accounts(store, {
    jwtSecret: config.jwtSecret,
    issuer: config.jwtIssuer,
    ttlS: config.jwtTtlS,
    currency: config.currency,
  });
  const wallet = new Wallet(store);
  const client = new InstanceClient(logger.child({ component: 'instance-client' }), {
    collection: store.connection.db!.collection<GatewayCredentialDoc>('gateway_credentials'),
    secret: config.jwtSecret,
  });
  const instances = new InstanceService(store, wallet, provider, client, {
    priceMinor: config.priceMonthlyMinor,
    engine: config.engine,
    logger: logger.child({ component: 'instances' }),
    readyWaitMs: config.instanceReadyWaitMs,
    stateTtlMs: config.instanceStateTtlMs,
  });
  const throttle = new LoginThrottle(store, {
    freePerPair: config.loginFreeAttemptsPerPair,
    maxPerAccount: config.loginMaxFailuresPerAccount,
    maxPerAddress: config.loginMaxFailuresPerAddress,
    windowS: config.loginWindowS,
    baseDelayS: config.loginBaseDelayS,
    maxDelayS: config.loginMaxDelayS,
    registerMaxPerAddress: config.registerMaxPerAddress,
    registerWindowS: config.registerWindowS,
  });
  const sharedCounters = new Throttle(store);
  const tickets = new WsTickets(store.connection.db!.collection<WsTicketDoc>('ws_tickets'), { ttlMs: config.wsTicketTtlS * 1000 });
  await tickets.init();
  // The team layer's seams: instance events in (the bus), live events out (the log and the members' socket). Features
  // get `events` (subscribe) and `live` (append) from here: docs/team.md.
  const events = new Ingest(store, { jwtSecret: config.jwtSecret, logger: logger.child({ component: 'ingest' }) });
  await events.init();
  const live = new Live(store, accounts, tickets, {
    retentionMs: config.liveRetentionMs,
    pollMs: config.livePollMs,
    checkMs: config.liveCheckMs,
    logger: logger.child({ component: 'live' }),
  });
  await live.start();
  feedInstanceEvents(events, live);
  const registry = new Registry();
  collectLintCleanDefaultMetrics(registry);
  registerInstanceMetrics(registry, backend);
  const windowMs = config.gatewayRateWindowS * 1000;
  const gatewayLogger = logger.child({ component: 'gateway' });
  const gateway = new Gateway(accounts, instances, client, gatewayLogger, {
    limiter: new RateLimiter(sharedCounters, { logger: gatewayLogger }),
    perAddress: { limit: config.gatewayRatePerAddress, windowMs },
    perTenant: { limit: config.gatewayRatePerTenant, windowMs },
    maxStreamsPerUser: config.gatewayMaxStreamsPerUser,
    upstreamTimeoutMs: config.gatewayUpstreamTimeoutMs,
    upstreamConnections: config.gatewayUpstreamConnections,
    queueTimeoutMs: config.gatewayQueueTimeoutMs,
    bodyLimitBytes: config.bodyLimitBytes,
    ownerOf: async (id) => (await store.instances.findOne({ _id: id }, { projection: { userId: 1 } }))?.userId,
    tickets,
    clientAddress: (req) => clientAddress(app, req), // `app` (below) holds the trust-proxy setting
    metrics: createGatewayMetrics(registry),
  });

  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration, seconds',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const billing = new Billing({
    store,
    wallet,
    provider,
    priceMinor: config.priceMonthlyMinor,
    logger: logger.child({ component: 'billing' }),
    metrics: createBillingMetrics(registry),
  });
  const audit = new AuditLog(store, logger.child({ component: 'audit' }));
  const relays: { current?: { recheck(): Promise<void> } } = {}; // the gateway's WebSocket relays, attached below
  const members = new Members(store, audit, {
    revokeSessions: (userId) => accounts.revokeAll(userId),
    onAccessChanged: () => {
      void relays.current?.recheck().catch((err: unknown) => logger.warn({ err }, 're-checking event streams failed'));
      void live.recheck().catch((err: unknown) => logger.warn({ err }, 're-checking live sockets failed'));
    },
  });
  const invitations = new Invitations(store, accounts, wallet, audit, { ttlS: config.invitationTtlS });
  const stats = new StatsService(store, (id) => provider.endpoints(id), logger.child({ component: 'stats' }));
  const inbox = await createInbox({
    store,
    audit,
    instances,
    client,
    live,
    bus: events,
    logger: logger.child({ component: 'inbox' }),
    wakeIntervalMs: config.inboxWakeIntervalMs,
  });
  const contacts = await createContacts({ store, audit, instances, client, logger: logger.child({ component: 'contacts' }) });
  contacts.subscribe(events); // a pull after each login
  contacts.start(config.contactsSyncIntervalS * 1000);
  const routes = [
    ...apiRoutes({
      config,
      store,
      accounts,
      throttle,
      wallet,
      instances,
      client,
      billing,
      members,
      invitations,
      audit,
      logger,
      tickets,
      stats,
      inbox: inbox.routes,
      contacts: contacts.services,
    }),
    ...ingestRoutes(events),
    ...live.routes(),
  ];
  const authenticate: Authenticate = async (req, scope) => {
    if (scope === 'none') return undefined;
    const token = bearer(req);
    if (!token) throw new AppError('unauthorized');
    return accounts.verify(token);
  };
  let doc: unknown;
  const after: RequestHandler[] = [];
  if (config.dashboardDir && existsSync(path.join(config.dashboardDir, 'index.html'))) {
    after.push(...dashboardStatic(config.dashboardDir)); // compressed, cached by content hash, SPA fallback
  }
  // /metrics is for the scraper only: on its own listener (METRICS_PORT), never on the public port.
  const notPublic: RequestHandler = (req, _res, next) =>
    next(req.path === '/metrics' ? new AppError('not_found', 'No such resource.') : undefined);
  const allowOrigins = cors(config.corsOrigins);
  const httpLogger = logger.child({ component: 'http' });
  const app = createApp({
    routes,
    authenticate,
    logger: httpLogger,
    registry,
    httpDuration,
    bodyLimitBytes: config.bodyLimitBytes,
    before: [notPublic, allowOrigins, rawEventBody(Math.max(config.bodyLimitBytes, 1024 * 1024))],
    after,
    openapi: () => (doc ??= apiOpenApi(routes)),
  });
  if (config.trustProxyHops > 0) app.set('trust proxy', config.trustProxyHops);
  // The gateway's requests are answered ahead of express (kit's front-route.ts), with the same CORS answers.
  // Idle connections held 65 s: longer than an ingress's 60 s upstream hold (kit's keep-alive.ts).
  const server = holdIdleConnections(
    http.createServer(withFront(app, gateway.front(), { logger: httpLogger, httpDuration, before: [allowOrigins] })),
  );
  const ws = gateway.attachWebSocket(server, (p) => p === LIVE_PATH);
  relays.current = ws;
  live.attach(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, provider: provider.kind }, 'api listening');
  const eventsUrl = config.apiEventsUrl ?? (config.provider === 'process' ? `http://127.0.0.1:${port}` : undefined);
  if (eventsUrl) subscriptions.start(cached, eventsUrl);
  else logger.warn('API_EVENTS_URL is not set: instances will not report their events (conversations, live socket)');
  const metrics = config.metricsPort === undefined ? undefined : await serveMetrics(registry, config.metricsHost, config.metricsPort);
  const sweep = setInterval(
    () =>
      void Promise.all([accounts.sweepExpired(), sharedCounters.sweep(), tickets.sweep(), events.sweep()]).catch((err: unknown) =>
        logger.warn({ err }, 'sweeping expired sessions and throttle points failed'),
      ),
    config.sweepIntervalS * 1000,
  );
  sweep.unref();
  const billingCron =
    (config.billingCron ?? config.provider !== 'kubernetes')
      ? cron.schedule('0 0 * * *', () => void billing.run(new Date()).catch((err: Error) => logger.error({ err }, 'billing run failed')), {
          timezone: 'Etc/UTC',
          name: 'billing',
          noOverlap: true,
        })
      : undefined;
  if (config.reconcileOnStart) {
    const desired = await instances.desired();
    await provider.reconcile(desired).catch((err: Error) => logger.error({ err }, 'provider reconcile failed'));
  }
  // A crash's leftovers (charges in flight, half-done deletions) are settled now rather than at the next billing run;
  // in the background, after the reconcile (so that it does not start what the recovery removes).
  const recovery = billing.recover().catch((err: unknown) => logger.error({ err }, 'billing recovery at start failed'));
  return {
    url: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`,
    app,
    store,
    provider,
    wallet,
    instances,
    events,
    live,
    registry,
    metricsUrl: metrics?.url,
    async close() {
      clearInterval(sweep);
      inbox.close();
      subscriptions.stop();
      await contacts.close();
      await live.close();
      await billingCron?.stop();
      await ws.close();
      await recovery;
      await metrics?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await provider.close();
      await store.close();
    },
  };
}

/**
 * Serves `registry` at `GET /metrics` on its own listener.
 * @returns its URL and how to stop it.
 * @throws Error when the port cannot be bound.
 */
async function serveMetrics(registry: Registry, host: string, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') return void res.writeHead(404).end();
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
