/**
 * The webhook delivery log's retention (`webhooks/admin.ts`): delivered events older than `WEBHOOK_LOG_RETENTION_MS`
 * and failed events whose last attempt is older than `WEBHOOK_FAILED_RETENTION_MS` leave the log (the outbox), hourly
 * and at start; pending events stay whatever their age. Against a real MongoDB-wire server.
 */
import { pino } from 'pino';
import { eventually, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { loadInstanceConfig } from '../src/config.js';
import { openStore, type OutboxDoc, type Store } from '../src/storage/store.js';
import { WebhookAdmin, type DeliveryDoc } from '../src/webhooks/admin.js';
import type { WebhookSettingsService } from '../src/webhooks/settings.js';
import type { WebhookGuard } from '../src/webhooks/ssrf.js';

const logger = pino({ level: 'silent' });
const DAY = 24 * 3_600_000;

let mongo: MongoServer;
let store: Store;
let admin: WebhookAdmin;

beforeAll(async () => {
  mongo = await startMongo();
  store = await openStore(mongo.dbUri(uniqueDbName('whlog')));
  await store.init();
  // The sweep reads neither the settings nor the guard.
  admin = new WebhookAdmin(store, {} as WebhookSettingsService, {} as WebhookGuard, 'i-retention', () => undefined);
  await admin.init();
}, 60_000);
afterAll(async () => {
  await store?.close();
  await mongo?.stop();
});

/** An outbox record created `ageMs` ago, in `status`; last attempted `attemptAgeMs` ago (undefined: not recorded). */
function record(id: string, status: OutboxDoc['status'], ageMs: number, attemptAgeMs?: number): OutboxDoc {
  const at = new Date(Date.now() - ageMs);
  const doc: DeliveryDoc = {
    _id: id,
    event: 'message',
    payload: { body: id },
    createdAt: at,
    status,
    attempts: 1,
    nextAttemptAt: at,
    lockedUntil: null,
  };
  if (attemptAgeMs !== undefined) doc.lastAttemptAt = new Date(Date.now() - attemptAgeMs);
  return doc;
}
const ids = async () => (await store.col.outbox.find({}, { projection: { _id: 1 } }).toArray()).map((d) => d._id).sort();
const keepFailed = { deliveredMs: 30 * DAY, failedMs: 0 };

test('delivered events past the retention go; recent ones and pending ones stay, failed ones with their retention 0', async () => {
  await store.col.outbox.insertMany([
    record('evt_old_delivered', 'delivered', 31 * DAY),
    record('evt_new_delivered', 'delivered', 29 * DAY),
    record('evt_old_failed', 'failed', 900 * DAY, 900 * DAY),
    record('evt_old_pending', 'pending', 900 * DAY),
  ]);
  expect(await admin.sweep(keepFailed)).toEqual({ delivered: 1, failed: 0 });
  expect(await ids()).toEqual(['evt_new_delivered', 'evt_old_failed', 'evt_old_pending']);
  expect(await admin.sweep(keepFailed)).toEqual({ delivered: 0, failed: 0 });
  // A shorter retention takes the recent one too, never the others.
  expect(await admin.sweep({ ...keepFailed, deliveredMs: DAY })).toEqual({ delivered: 1, failed: 0 });
  expect(await ids()).toEqual(['evt_old_failed', 'evt_old_pending']);
  await store.col.outbox.deleteMany({});
});

test('failed events go once their last attempt is past their retention, counted from their creation when never attempted', async () => {
  await store.col.outbox.insertMany([
    // Created long ago, failed for good (or replayed and failed again) recently: the tenant still has time to replay.
    record('evt_failed_recent_attempt', 'failed', 120 * DAY, 10 * DAY),
    record('evt_failed_old_attempt', 'failed', 120 * DAY, 91 * DAY),
    record('evt_failed_never_attempted', 'failed', 91 * DAY),
    record('evt_failed_young', 'failed', 89 * DAY),
    record('evt_delivered_young', 'delivered', 10 * DAY, 10 * DAY),
    record('evt_pending_old', 'pending', 900 * DAY, 900 * DAY),
  ]);
  const retention = { deliveredMs: 30 * DAY, failedMs: 90 * DAY };
  expect(await admin.sweep(retention)).toEqual({ delivered: 0, failed: 2 });
  expect(await ids()).toEqual(['evt_delivered_young', 'evt_failed_recent_attempt', 'evt_failed_young', 'evt_pending_old']);
  // Delivered retention 0 keeps every delivered event; failed ones still go by theirs.
  expect(await admin.sweep({ deliveredMs: 0, failedMs: 5 * DAY })).toEqual({ delivered: 0, failed: 2 });
  expect(await ids()).toEqual(['evt_delivered_young', 'evt_pending_old']);
  await store.col.outbox.deleteMany({});
});

test('sweeps start at once; retentions 0 keep the log whole', async () => {
  await store.col.outbox.insertMany([
    record('evt_year_old', 'delivered', 365 * DAY),
    record('evt_year_old_failed', 'failed', 365 * DAY, 365 * DAY),
    record('evt_old_pending', 'pending', 365 * DAY),
  ]);
  const never = admin.startLogSweeps({ deliveredMs: 0, failedMs: 0 }, logger);
  await new Promise((r) => setTimeout(r, 200));
  never();
  expect(await ids()).toEqual(['evt_old_pending', 'evt_year_old', 'evt_year_old_failed']);
  const stop = admin.startLogSweeps({ deliveredMs: 30 * DAY, failedMs: 90 * DAY }, logger);
  try {
    await eventually(async () => (await ids()).length === 1, 5_000);
  } finally {
    stop();
  }
  expect(await ids()).toEqual(['evt_old_pending']);
});

test('WEBHOOK_LOG_RETENTION_MS: 30 days by default, WEBHOOK_FAILED_RETENTION_MS 90; durations with units, 0 for ever', () => {
  const base = { MONGODB_URI: 'mongodb://127.0.0.1:27017/x', INTERNAL_API_KEY: 'k'.repeat(32) };
  expect(loadInstanceConfig(base).webhookLogRetentionMs).toBe(30 * DAY);
  expect(loadInstanceConfig(base).webhookFailedRetentionMs).toBe(90 * DAY);
  expect(loadInstanceConfig({ ...base, WEBHOOK_LOG_RETENTION_MS: '168h' }).webhookLogRetentionMs).toBe(7 * DAY);
  expect(loadInstanceConfig({ ...base, WEBHOOK_LOG_RETENTION_MS: '0' }).webhookLogRetentionMs).toBe(0);
  expect(loadInstanceConfig({ ...base, WEBHOOK_FAILED_RETENTION_MS: '720h' }).webhookFailedRetentionMs).toBe(30 * DAY);
  expect(loadInstanceConfig({ ...base, WEBHOOK_FAILED_RETENTION_MS: '0' }).webhookFailedRetentionMs).toBe(0);
  expect(() => loadInstanceConfig({ ...base, WEBHOOK_LOG_RETENTION_MS: '30 days' })).toThrow(/WEBHOOK_LOG_RETENTION_MS/);
  expect(() => loadInstanceConfig({ ...base, WEBHOOK_FAILED_RETENTION_MS: 'forever' })).toThrow(/WEBHOOK_FAILED_RETENTION_MS/);
});
