/**
 * Composition root of the instance service: storage, persistence, webhooks, the engine, the application services
 * (session control, event recording, messaging, contacts, tokens) and the HTTP servers. `startInstanceApp` is used by
 * `main.ts` and by tests and benchmarks that run the service in-process.
 */
import './lazy-builtins.js'; // first: what the dependencies below require and an idle instance never uses loads at first use
import { mkdirSync } from 'node:fs';
import type { Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Engine } from './engines/engine.js';
import { createEngine, hasStoredSession } from './engines/factory.js';
import { internalRoutes } from './http/routes-internal.js';
import { dailyStats } from './storage/daily-stats.js';
import { actionRoutes } from './http/routes-actions.js';
import { groupRoutes } from './http/routes-groups.js';
import { mediaRoutes } from './http/routes-media.js';
import { presenceRoutes } from './http/routes-presence.js';
import { publicRoutes } from './http/routes-public.js';
import { syncRoutes } from './http/routes-sync.js';
import { startHttpServers } from './http/servers.js';
import { createMetrics } from './metrics.js';
import { instanceVersion } from './openapi.js';
import { ActionEvents } from './services/action-events.js';
import { ChatsService } from './services/chats.js';
import { ContactsService } from './services/contacts.js';
import { EventRecorder } from './services/event-recorder.js';
import { GapFiller } from './services/gap-fill.js';
import { GroupsService } from './services/groups.js';
import { LiveEvents } from './services/live-events.js';
import { MessageActionsService } from './services/message-actions.js';
import { MediaService } from './services/media/media-service.js';
import { ReceivedMedia } from './services/media/received.js';
import { MessagingService } from './services/messaging.js';
import { OutgoingSender } from './services/outgoing/sender.js';
import { PresenceService } from './services/presence.js';
import { SessionController } from './services/session-controller.js';
import { SyncService } from './services/sync.js';
import { TokenService } from './services/tokens.js';
import { Journal, journalFilePath } from './storage/journal.js';
import { Persister, spillFilePath } from './storage/persistence.js';
import { openStore, type Store } from './storage/store.js';
import { WebhookAdmin } from './webhooks/admin.js';
import { ApiSubscription, platformTarget } from './webhooks/api-subscription.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';
import { apiSubscriptionRoutes } from './http/routes-api-subscription.js';
import { WebhookOutbox } from './webhooks/outbox.js';
import { WebhookSettingsService } from './webhooks/settings.js';
import { WebhookGuard } from './webhooks/ssrf.js';

/** A running instance service. */
export interface InstanceApp {
  publicUrl: string;
  internalUrl: string;
  session: SessionController;
  store: Store;
  persister: Persister;
  /** The express applications (tests walk their routers to check /openapi.json). */
  apps: { public: Express; internal: Express };
  /** Graceful stop: servers, engine (keeps the stored session), flushes persistence, dispatcher, database. */
  close(): Promise<void>;
}

/** Longest the shutdown waits for the database to take the queued writes before spilling them to disk, ms. */
const PERSIST_CLOSE_TIMEOUT_MS = 10_000;
/** Longest the shutdown waits for the webhook dispatcher, then for the database connection, to stop, ms. */
const STOP_STEP_TIMEOUT_MS = 5_000;

/**
 * Starts the service: connects to MongoDB (indexes created), builds the engine (`engineOverride` for benchmarks),
 * listens on the configured ports and resumes a stored session when `autoStart` is set.
 * @throws the driver's error when MongoDB is unreachable; the listen error when a port is taken.
 */
export async function startInstanceApp(config: Config, logger: Logger, engineOverride?: Engine): Promise<InstanceApp> {
  mkdirSync(config.dataDir, { recursive: true });
  const store = await openStore(config.mongodbUri);
  await store.init();
  const engine = engineOverride ?? (await createEngine(config, logger));
  const metrics = createMetrics({
    // Pending records, and events of inbound messages handed to the dispatcher before they are stored.
    outboxDepth: async () => (await store.col.outbox.countDocuments({ status: 'pending' })) + persister.unstoredEvents('tenant'),
    browserMemoryBytes: () => engine.memoryBytes(),
    sendQueueDepth: () => sender.depth(),
  });
  const persister = new Persister({
    store,
    logger: logger.child({ component: 'persistence' }),
    metrics,
    batchSize: config.persistBatchSize,
    flushMs: config.persistFlushMs,
    bufferLimit: config.persistBufferLimit,
    spillFile: spillFilePath(config.dataDir),
    // Events of inbound messages go to the dispatchers before they are stored (one write each, with the outcome).
    deferEvents: (target, docs) => (target === 'api' ? apiDispatcher : dispatcher).offerUnstored(docs),
    onEventsStored: ({ events, apiEvents }) => {
      dispatcher.offer(events);
      apiDispatcher.offer(apiEvents);
    },
    onJournaledStored: (seqs) => journal.committed(seqs),
  });
  // Inbound messages are journaled before anything else happens to them; what a crash left is replayed below.
  const { journal, recovery } = Journal.open({
    file: journalFilePath(config.dataDir),
    sync: config.journalSync,
    maxBytes: config.journalMaxBytes,
    logger: logger.child({ component: 'journal' }),
    metrics: { bytes: (v) => metrics.journalBytes.set(v), entries: (v) => metrics.journalEntries.set(v) },
  });
  const webhooks = new WebhookSettingsService(
    store,
    { url: config.webhookUrl, secret: config.webhookSecret, events: config.webhookEvents },
    () => dispatcher.notify(),
  );
  const guard = new WebhookGuard({
    allowCidrs: config.webhookAllowCidrs,
    denyCidrs: config.webhookDenyCidrs,
    dnsServers: config.webhookDnsServers,
  });
  const media = new MediaService({
    store,
    registry: metrics.registry,
    logger: logger.child({ component: 'media' }),
    guard,
    quotaBytes: config.mediaQuotaBytes,
    urlTimeoutMs: config.mediaUrlTimeoutMs,
  });
  await media.init();
  const webhookAdmin = new WebhookAdmin(store, webhooks, guard, config.instanceId, () => dispatcher.notify());
  await webhookAdmin.init();
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
    guard,
    maxResponseBytes: config.webhookMaxResponseBytes,
    concurrency: config.webhookConcurrency,
    onRecorded: (ids) => persister.eventsRecorded('tenant', ids),
  });
  // The platform's own subscription (target `api`): every event to the main api's ingest, outside the SSRF guard.
  const apiSubscription = new ApiSubscription(store, () => apiDispatcher.notify());
  const apiDispatcher: WebhookDispatcher = new WebhookDispatcher({
    store,
    settings: apiSubscription,
    collection: store.col.apiOutbox,
    dropDelivered: true,
    logger: logger.child({ component: 'api-events' }),
    instanceId: config.instanceId,
    maxAttempts: Number.MAX_SAFE_INTEGER, // the platform's receiver comes back: never given up,
    retryRefusals: true, // not even on a refusal (a rotated secret until the api subscribes again)
    retryBaseMs: config.webhookRetryBaseMs,
    retryMaxMs: config.webhookRetryMaxMs,
    timeoutMs: config.webhookTimeoutMs,
    guard: platformTarget,
    maxResponseBytes: config.webhookMaxResponseBytes,
    concurrency: 1,
    batching: true, // up to the subscription's `batch` events per POST (webhooks/batch.ts)
    onRecorded: (ids) => persister.eventsRecorded('api', ids),
  });
  const outbox = new WebhookOutbox(webhooks, persister, apiSubscription);
  const live = new LiveEvents();
  const tokens = new TokenService(store);
  const session = new SessionController({ engine, live, outbox, metrics, logger: logger.child({ component: 'session' }) });
  const recorder = new EventRecorder({
    engine,
    store,
    persister,
    outbox,
    live,
    metrics,
    journal,
    logger: logger.child({ component: 'recorder' }),
  });
  await recorder.replay(recovery.entries);
  const actionEvents = new ActionEvents({
    engine,
    store,
    persister,
    outbox,
    live,
    media,
    logger: logger.child({ component: 'action-events' }),
  });
  const gapFiller = new GapFiller({
    engine,
    store,
    recorder,
    metrics,
    logger: logger.child({ component: 'gap-fill' }),
    perChat: config.gapFillMessages,
    chats: config.gapFillChats,
    activeMs: config.gapFillActiveMs,
  });
  // The send queue: records left by the previous run (queued, or interrupted while sending) are picked up here.
  const sender: OutgoingSender = new OutgoingSender({
    engine,
    store,
    recorder,
    live,
    metrics,
    logger: logger.child({ component: 'send-queue' }),
    pacing: {
      ratePerS: config.sendRatePerS,
      burst: config.sendBurst,
      jitterMs: config.sendJitterMs,
      chatGapMs: config.sendChatGapMs,
    },
    typing: { msPerChar: config.sendTypingMsPerChar, maxMs: config.sendTypingMaxMs },
    maxAttempts: config.sendMaxAttempts,
    media,
  });
  await sender.start();
  const received = new ReceivedMedia({ engine, store, media, logger: logger.child({ component: 'media' }), enabled: config.mediaDownload });
  received.start();
  const messaging = new MessagingService(engine, store, sender);
  const contacts = new ContactsService(store);
  const actions = new MessageActionsService(engine, store, messaging, actionEvents);
  const groups = new GroupsService(engine, actionEvents);
  const presence = new PresenceService(engine);
  const sync = new SyncService({
    engine,
    store,
    live,
    logger: logger.child({ component: 'sync' }),
    historyPerChat: config.historyImportMessages,
  });
  const chats = new ChatsService(store, engine);

  const servers = await startHttpServers({
    host: config.host,
    port: config.port,
    internalPort: config.internalPort,
    metricsPort: config.metricsPort,
    bodyLimitBytes: config.bodyLimitBytes,
    internalApiKey: config.internalApiKey,
    version: instanceVersion,
    publicRoutes: [
      ...publicRoutes({ session, messaging, contacts, sendWaitMs: config.sendWaitMaxMs }),
      ...syncRoutes({ chats }),
      ...actionRoutes({ actions, sendWaitMs: config.sendWaitMaxMs }),
      ...presenceRoutes({ presence }),
      ...groupRoutes({ groups }),
      ...mediaRoutes({ messaging, media, received, sendWaitMs: config.sendWaitMaxMs }),
    ],
    internalRoutes: [
      ...internalRoutes({
        tokens,
        webhooks: webhookAdmin,
        stats: { state: () => session.state(), daily: (days) => dailyStats(store, days) },
      }),
      ...apiSubscriptionRoutes(apiSubscription),
    ],
    tokens,
    session,
    live,
    metrics,
    logger,
  });
  dispatcher.start();
  apiDispatcher.start();
  const stopLogSweeps = webhookAdmin.startLogSweeps(
    { deliveredMs: config.webhookLogRetentionMs, failedMs: config.webhookFailedRetentionMs },
    logger.child({ component: 'webhooks' }),
  );
  logger.info({ publicUrl: servers.publicUrl, internalUrl: servers.internalUrl, engine: engine.kind }, 'instance service listening');

  if (config.autoStart && (await hasStoredSession(config))) {
    logger.info('stored session found: resuming');
    void engine.start().catch((err: Error) => logger.error({ err }, 'engine start failed'));
  }

  return {
    publicUrl: servers.publicUrl,
    internalUrl: servers.internalUrl,
    session,
    store,
    persister,
    apps: servers.apps,
    async close() {
      // Each step runs whatever the previous one did: a failed step is logged and never skips the persistence flush.
      await servers.close().catch((err: Error) => logger.warn({ err }, 'closing the HTTP servers failed'));
      stopLogSweeps();
      // The send in flight ends first; queued messages stay in the database for the next start.
      await bounded(sender.stop(), STOP_STEP_TIMEOUT_MS, 'send queue stop', logger);
      await bounded(received.close(), STOP_STEP_TIMEOUT_MS, 'media downloads', logger);
      await engine.stop().catch((err: Error) => logger.warn({ err }, 'engine stop failed'));
      await bounded(gapFiller.idle(), STOP_STEP_TIMEOUT_MS, 'gap fill', logger);
      await bounded(actionEvents.idle(), STOP_STEP_TIMEOUT_MS, 'message actions', logger);
      await bounded(sync.idle(), STOP_STEP_TIMEOUT_MS, 'sync after login', logger);
      recorder.close();
      // On the timeout, what the database did not take is written to the spill file (replayed by the next start).
      await persister.close(PERSIST_CLOSE_TIMEOUT_MS);
      // Deliveries still running after this are retried by the next start (the outbox keeps them pending); the outcomes
      // stored here release the journal entries of messages whose events were delivered before they were stored.
      await bounded(dispatcher.stop(), STOP_STEP_TIMEOUT_MS, 'webhook dispatcher stop', logger);
      await bounded(apiDispatcher.stop(), STOP_STEP_TIMEOUT_MS, 'api events dispatcher stop', logger);
      // Entries whose messages, or whose events handed over unstored, did not reach MongoDB stay in the journal (and
      // the spill file): replayed next start.
      journal.close();
      await bounded(store.close(), STOP_STEP_TIMEOUT_MS, 'closing the database connection', logger);
    },
  };
}

/** Waits for `step` at most `ms` (ms); its failure or its timeout is logged as a warning, never thrown. */
async function bounded(step: Promise<unknown>, ms: number, what: string, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  try {
    if ((await Promise.race([step, timeout])) === 'timeout') logger.warn({ timeoutMs: ms }, `${what} did not finish in time; going on`);
  } catch (err) {
    logger.warn({ err }, `${what} failed`);
  } finally {
    clearTimeout(timer);
  }
}
