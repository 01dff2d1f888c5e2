/**
 * The webhook delivery log's retention (`webhooks/admin.ts`): delivered events older than `WEBHOOK_LOG_RETENTION_MS`
 * leave the log (the outbox), hourly and at start; pending and failed events stay whatever their age. Against a real
 * MongoDB-wire server.
 */
import { pino } from 'pino';
import { eventually, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { loadInstanceConfig } from '../src/config.js';
import { openStore, type OutboxDoc, type Store } from '../src/storage/store.js';
import { WebhookAdmin } from '../src/webhooks/admin.js';
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

/** An outbox record created `ageMs` ago, in `status`. */
function record(id: string, status: OutboxDoc['status'], ageMs: number): OutboxDoc {
  const at = new Date(Date.now() - ageMs);
  return { _id: id, event: 'message', payload: { body: id }, createdAt: at, status, attempts: 1, nextAttemptAt: at, lockedUntil: null };
}
const ids = async () => (await store.col.outbox.find({}, { projection: { _id: 1 } }).toArray()).map((d) => d._id).sort();

test('delivered events past the retention go; recent ones, pending and failed ones stay', async () => {
  await store.col.outbox.insertMany([
    record('evt_old_delivered', 'delivered', 31 * DAY),
    record('evt_new_delivered', 'delivered', 29 * DAY),
    record('evt_old_failed', 'failed', 90 * DAY),
    record('evt_old_pending', 'pending', 90 * DAY),
  ]);
  expect(await admin.sweepDelivered(30 * DAY)).toBe(1);
  expect(await ids()).toEqual(['evt_new_delivered', 'evt_old_failed', 'evt_old_pending']);
  expect(await admin.sweepDelivered(30 * DAY)).toBe(0);
  // A shorter retention takes the recent one too, never the others.
  expect(await admin.sweepDelivered(DAY)).toBe(1);
  expect(await ids()).toEqual(['evt_old_failed', 'evt_old_pending']);
});

test('sweeps start at once; retention 0 keeps the log whole', async () => {
  await store.col.outbox.insertOne(record('evt_year_old', 'delivered', 365 * DAY));
  const never = admin.startLogSweeps(0, logger);
  await new Promise((r) => setTimeout(r, 200));
  never();
  expect(await ids()).toContain('evt_year_old');
  const stop = admin.startLogSweeps(30 * DAY, logger);
  try {
    await eventually(async () => !(await ids()).includes('evt_year_old'), 5_000);
  } finally {
    stop();
  }
  expect(await ids()).toEqual(['evt_old_failed', 'evt_old_pending']);
});

test('WEBHOOK_LOG_RETENTION_MS: 30 days by default, durations with units, 0 for ever', () => {
  const base = { MONGODB_URI: 'mongodb://127.0.0.1:27017/x', INTERNAL_API_KEY: 'k'.repeat(32) };
  expect(loadInstanceConfig(base).webhookLogRetentionMs).toBe(30 * DAY);
  expect(loadInstanceConfig({ ...base, WEBHOOK_LOG_RETENTION_MS: '168h' }).webhookLogRetentionMs).toBe(7 * DAY);
  expect(loadInstanceConfig({ ...base, WEBHOOK_LOG_RETENTION_MS: '0' }).webhookLogRetentionMs).toBe(0);
  expect(() => loadInstanceConfig({ ...base, WEBHOOK_LOG_RETENTION_MS: '30 days' })).toThrow(/WEBHOOK_LOG_RETENTION_MS/);
});
