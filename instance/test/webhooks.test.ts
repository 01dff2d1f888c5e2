/**
 * Acceptance 3 (issue #2): retries keep the event id; a crash with pending events does not lose them.
 *
 * Events of inbound messages are delivered before they are stored (storage/persistence.ts `deferEvents`,
 * storage/journal-holds.ts): each gets one outbox record, with its outcome, and its message's journal entry is kept
 * until then — so a crash while the delivery is in flight loses nothing (the journal brings the message and its events
 * back). Real instance process, simnet, MongoDB-wire server and receiver.
 */
import { statSync } from 'node:fs';
import { eventually, startMongo, type MongoServer } from '@wacloud/testenv';
import { journalFilePath } from '../src/storage/journal.js';
import { openStore, type Store } from '../src/storage/store.js';
import {
  loginWithQr,
  startInstance,
  startReceiver,
  startSimnet,
  type RunningInstance,
  type RunningSimnet,
  type WebhookReceiver,
} from './harness.js';

const PHONE = '15550000101';
const FRIEND = '15550000199';
let mongo: MongoServer;
let simnet: RunningSimnet;
let inst: RunningInstance;
let receiver: WebhookReceiver;
let wToken: string;
let store: Store;

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  receiver = await startReceiver();
  // A held delivery (below) must not time out while a test looks at it.
  const env = { WEBHOOK_RETRY_BASE_MS: '200', WEBHOOK_RETRY_MAX_MS: '800', WEBHOOK_TIMEOUT_MS: '60000' };
  inst = await startInstance({ mongo, simnetUrl: simnet.url, env });
  wToken = await inst.token('w');
  expect(
    (await inst.internal('PUT', '/internal/v1/webhook', { url: receiver.url, secret: 'webhook-secret-for-tests', events: ['message'] }))
      .status,
  ).toBe(200);
  await loginWithQr(inst, simnet, PHONE, wToken);
  expect((await simnet.hook('/hooks/accounts', { phone: FRIEND, pushname: 'Friend' })).status).toBeLessThan(300);
  store = await openStore(inst.mongoUri);
}, 120_000);

afterAll(async () => {
  receiver?.release();
  await inst?.stop();
  await store?.close();
  await Promise.allSettled([simnet?.stop(), receiver?.close(), mongo?.stop()]);
});

const deliveriesOf = (text: string) => receiver.received.filter((r) => r.body?.payload?.body === text);

test('500 three times, then 200: one accepted delivery, the same event id on every attempt', async () => {
  receiver.script.push(500, 500, 500);
  const text = `retry me ${Date.now()}`;
  expect((await simnet.hook('/hooks/send', { from: FRIEND, to: PHONE, text })).status).toBeLessThan(300);
  await eventually(() => deliveriesOf(text).some((d) => d.status === 200), 30_000);
  await new Promise((r) => setTimeout(r, 1500)); // nothing more may arrive after the accepted one
  const attempts = deliveriesOf(text);
  expect(attempts.map((d) => d.status)).toEqual([500, 500, 500, 200]);
  expect(new Set(attempts.map((d) => d.headers['x-wacloud-event-id'])).size).toBe(1);
  expect(attempts.map((d) => d.headers['x-wacloud-attempt'])).toEqual(['1', '2', '3', '4']);
});

test('a 4xx answer is final (no retry), 429 is retried', async () => {
  receiver.script.push(404);
  const gone = `final 404 ${Date.now()}`;
  await simnet.hook('/hooks/send', { from: FRIEND, to: PHONE, text: gone });
  await eventually(() => deliveriesOf(gone).length === 1, 15_000);
  receiver.script.push(429);
  const limited = `limited ${Date.now()}`;
  await simnet.hook('/hooks/send', { from: FRIEND, to: PHONE, text: limited });
  await eventually(() => deliveriesOf(limited).some((d) => d.status === 200), 15_000);
  await new Promise((r) => setTimeout(r, 1000));
  expect(deliveriesOf(gone)).toHaveLength(1);
  expect(deliveriesOf(limited).map((d) => d.status)).toEqual([429, 200]);
});

test('kill -9 with events pending, start again: they are delivered', async () => {
  receiver.script.push(...Array(1000).fill(503));
  const texts = [1, 2, 3].map((i) => `pending ${i} ${Date.now()}`);
  for (const text of texts) await simnet.hook('/hooks/send', { from: FRIEND, to: PHONE, text });
  await eventually(() => texts.every((t) => deliveriesOf(t).length >= 1), 15_000); // stored and attempted, refused
  await inst.kill9();
  receiver.script.length = 0; // the receiver recovers while the instance is down
  inst = await inst.restart();
  await eventually(() => texts.every((t) => deliveriesOf(t).some((d) => d.status === 200)), 30_000);
  for (const t of texts) expect(new Set(deliveriesOf(t).map((d) => d.headers['x-wacloud-event-id'])).size).toBe(1);
  // The stored session resumed without a new QR.
  await eventually(async () => (await inst.api('GET', '/health')).body.session.state === 'WORKING', 15_000);
});

const eventIdOf = (text: string) => deliveriesOf(text)[0]!.headers['x-wacloud-event-id'] as string;
const journalBytes = () => statSync(journalFilePath(inst.dataDir)).size;

/** Sends `texts` from FRIEND, then waits until each has reached the (holding) receiver and its message is stored. */
async function receiveHeld(texts: string[]): Promise<string[]> {
  receiver.holding = true;
  for (const text of texts) expect((await simnet.hook('/hooks/send', { from: FRIEND, to: PHONE, text })).status).toBeLessThan(300);
  await eventually(() => texts.every((t) => deliveriesOf(t).length === 1), 20_000);
  await eventually(async () => (await store.col.messages.countDocuments({ body: { $in: texts } })) === texts.length, 10_000);
  return texts.map(eventIdOf);
}

/** The instance's `wacloud_outbox_depth` (webhook events waiting for delivery) on its /metrics. */
const outboxDepth = async () => Number(/^wacloud_outbox_depth (\d+)$/m.exec((await inst.api<string>('GET', '/metrics')).body)?.[1]);

test('while its delivery is in flight an event has no outbox record and its message stays in the journal; then one delivered record', async () => {
  const texts = [1, 2, 3].map((i) => `in flight ${i} ${Date.now()}`);
  // The earlier tests' last outcomes are written (their records delivered): no pending record is left.
  await eventually(async () => (await store.col.outbox.countDocuments({ status: 'pending' })) === 0, 10_000);
  const ids = await receiveHeld(texts);
  expect(await store.col.outbox.countDocuments({ _id: { $in: ids } })).toBe(0);
  expect(await outboxDepth()).toBe(3); // waiting for delivery, though not in the outbox
  expect(journalBytes()).toBeGreaterThan(0);
  receiver.release();
  await eventually(async () => (await store.col.outbox.countDocuments({ _id: { $in: ids }, status: 'delivered' })) === 3, 10_000);
  const records = await store.col.outbox.find({ _id: { $in: ids } }).toArray();
  expect(records.map((r) => [r.status, r.attempts, (r as { lastStatus?: number }).lastStatus])).toEqual(
    Array(3).fill(['delivered', 1, 200]),
  );
  await eventually(() => journalBytes() === 0, 10_000);
  expect(await outboxDepth()).toBe(0);
  for (const t of texts) expect(deliveriesOf(t)).toHaveLength(1);
});

test('kill -9 while the deliveries are in flight: the restarted instance delivers the same events again and records them', async () => {
  const texts = [1, 2].map((i) => `killed in flight ${i} ${Date.now()}`);
  const ids = await receiveHeld(texts);
  expect(await store.col.outbox.countDocuments({ _id: { $in: ids } })).toBe(0);
  await inst.kill9();
  receiver.release(); // the instance never saw these answers
  expect(journalBytes()).toBeGreaterThan(0);
  inst = await inst.restart();
  await eventually(() => texts.every((t) => deliveriesOf(t).length >= 2), 30_000);
  for (const t of texts) expect(new Set(deliveriesOf(t).map((d) => d.headers['x-wacloud-event-id']))).toEqual(new Set([eventIdOf(t)]));
  await eventually(async () => (await store.col.outbox.countDocuments({ _id: { $in: ids }, status: 'delivered' })) === 2, 10_000);
  expect(await store.col.messages.countDocuments({ body: { $in: texts } })).toBe(2);
  await eventually(() => journalBytes() === 0, 10_000);
});

test('a refused delivery is stored once as pending with its retry, then delivered from the outbox', async () => {
  receiver.script.push(503);
  const text = `refused first ${Date.now()}`;
  expect((await simnet.hook('/hooks/send', { from: FRIEND, to: PHONE, text })).status).toBeLessThan(300);
  await eventually(() => deliveriesOf(text).some((d) => d.status === 200), 30_000);
  expect(deliveriesOf(text).map((d) => d.status)).toEqual([503, 200]);
  const id = eventIdOf(text);
  await eventually(async () => (await store.col.outbox.findOne({ _id: id }))?.status === 'delivered', 10_000);
  expect((await store.col.outbox.findOne({ _id: id }))?.attempts).toBe(2);
});
