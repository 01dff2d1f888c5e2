/**
 * Composition root of the instance service: store, persistence, webhooks, engine, session, the two HTTP servers and
 * the event stream. `startInstanceService` is used by `main.ts` and by tests/benchmarks that run the service in-process.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Engine } from './engine.js';
import { createEngine, hasStoredSession } from './engine-factory.js';
import { attachEventStream } from './events-ws.js';
import { buildOpenApi, createApp } from '@wacloud/kit';
import { internalKeyAuth, tokenAuth } from './auth.js';
import { createMetrics } from './metrics.js';
import { Persister, spillFilePath } from './persistence.js';
import { internalRoutes } from './routes-internal.js';
import { publicRoutes } from './routes-public.js';
import { Session } from './session.js';
import { openStore, type Store } from './store.js';
import { TokenService } from './tokens.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';
import { WebhookSettingsService } from './webhook-settings.js';

export interface InstanceService {
  publicUrl: string;
  internalUrl: string;
  session: Session;
  store: Store;
  persister: Persister;
  /** The express applications (tests walk their routers to check /openapi.json). */
  apps: { public: Express; internal: Express };
  /** Graceful stop: servers, engine (keeps the stored session), flushes persistence, dispatcher, database. */
  close(): Promise<void>;
}

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function listen(server: http.Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server.address() as AddressInfo));
  });
}

export async function startInstanceService(config: Readonly<Config>, logger: Logger, engineOverride?: Engine): Promise<InstanceService> {
  mkdirSync(config.dataDir, { recursive: true });
  const store = await openStore(config.mongodbUri);
  await store.init();
  const webhooks = new WebhookSettingsService(store, config.webhook);
  const engine = engineOverride ?? (await createEngine(config, logger));
  const metrics = createMetrics({
    outboxDepth: () => store.col.outbox.countDocuments({ status: 'pending' }),
    browserMemoryBytes: () => engine.memoryBytes(),
  });
  const persister = new Persister({
    store,
    logger: logger.child({ component: 'persistence' }),
    metrics,
    batchSize: config.persistBatchSize,
    flushMs: config.persistFlushMs,
    bufferLimit: config.persistBufferLimit,
    spillFile: spillFilePath(config.dataDir),
    onEventsStored: () => dispatcher.notify(),
  });
  const dispatcher: WebhookDispatcher = new WebhookDispatcher({
    store,
    settings: webhooks,
    logger: logger.child({ component: 'webhooks' }),
    metrics,
    instanceId: config.instanceId,
    maxAttempts: config.webhookMaxAttempts,
    retryBaseMs: config.webhookRetryBaseMs,
    retryMaxMs: config.webhookRetryMaxMs,
    timeoutMs: config.webhookTimeoutMs,
  });
  const tokens = new TokenService(store);
  const session = new Session({ engine, store, persister, webhooks, metrics, logger: logger.child({ component: 'session' }) });

  const pub = publicRoutes({ session, store });
  const internal = internalRoutes({ tokens, webhooks, onWebhookChanged: () => dispatcher.notify() });
  let openapi: unknown;
  const doc = () =>
    (openapi ??= buildOpenApi({
      title: 'wacloud instance API',
      version,
      description:
        'One WhatsApp account. Public API on PORT (instance tokens: r, w, rw); internal API on INTERNAL_PORT (internal key, main api only). ' +
        'Live events: WebSocket /v1/events (r) — messages `{event, data, timestamp}`. Errors: `{error: {code, message}}`.',
      groups: [
        { server: 'public', routes: pub },
        { server: 'internal', routes: internal },
      ],
      servers: [{ url: '/', description: 'public (PORT) or internal (INTERNAL_PORT) — see x-wacloud-server' }],
      securitySchemes: {
        instanceToken: { type: 'http', scheme: 'bearer', description: 'Instance access token (wai_…)' },
        internalKey: { type: 'http', scheme: 'bearer', description: 'Internal API key' },
      },
      security: (scope) => (scope === 'none' ? [] : scope === 'internal' ? [{ internalKey: [] }] : [{ instanceToken: [] }]),
    }));
  const common = {
    logger: logger.child({ component: 'http' }),
    registry: metrics.registry,
    httpDuration: metrics.httpDuration,
    bodyLimitBytes: config.bodyLimitBytes,
    openapi: doc,
  };
  const apps = {
    public: createApp({ ...common, routes: pub, authenticate: tokenAuth(tokens) }),
    internal: createApp({ ...common, routes: internal, authenticate: internalKeyAuth(config.internalApiKey) }),
  };
  const publicServer = http.createServer(apps.public);
  const internalServer = http.createServer(apps.internal);
  const events = attachEventStream(publicServer, session, tokens, logger.child({ component: 'events' }));
  const pa = await listen(publicServer, config.port, config.host);
  const ia = await listen(internalServer, config.internalPort, config.host);
  // Optional scrape-only server: /metrics and /health, nothing else (public routes need tokens there anyway).
  const healthRoute = pub.find((r) => r.operationId === 'health')!;
  const metricsServer = config.metricsPort
    ? http.createServer(createApp({ ...common, routes: [healthRoute], authenticate: async () => undefined }))
    : undefined;
  if (metricsServer) await listen(metricsServer, config.metricsPort, config.host);
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  dispatcher.start();
  logger.info({ port: pa.port, internalPort: ia.port, engine: engine.kind }, 'instance service listening');

  if (config.autoStart && (await hasStoredSession(config))) {
    logger.info('stored session found: resuming');
    void engine.start().catch((err: Error) => logger.error({ err }, 'engine start failed'));
  }

  return {
    publicUrl: `http://${host}:${pa.port}`,
    internalUrl: `http://${host}:${ia.port}`,
    session,
    store,
    persister,
    apps,
    async close() {
      events.close();
      await Promise.all([closeServer(publicServer), closeServer(internalServer), ...(metricsServer ? [closeServer(metricsServer)] : [])]);
      await engine.stop().catch((err: Error) => logger.warn({ err }, 'engine stop failed'));
      session.close();
      await withTimeout(persister.close(), 10_000).catch(() => logger.error({ pending: persister.pending() }, 'persistence not flushed before exit; kept in the spill file'));
      await dispatcher.stop();
      await store.close();
    },
  };
}

function closeServer(s: http.Server): Promise<void> {
  return new Promise((resolve) => {
    s.close(() => resolve());
    s.closeAllConnections();
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);
}
