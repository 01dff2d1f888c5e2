/**
 * Acceptance 3 (issue #2): retries keep the event id; a crash with pending events does not lose them.
 */
import { eventually, startMongo, type MongoServer } from '@wacloud/testenv';
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

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  receiver = await startReceiver();
  inst = await startInstance({ mongo, simnetUrl: simnet.url, env: { WEBHOOK_RETRY_BASE_MS: '200', WEBHOOK_RETRY_MAX_MS: '800' } });
  wToken = await inst.token('w');
  expect(
    (await inst.internal('PUT', '/internal/v1/webhook', { url: receiver.url, secret: 'webhook-secret-for-tests', events: ['message'] }))
      .status,
  ).toBe(200);
  await loginWithQr(inst, simnet, PHONE, wToken);
  expect((await simnet.hook('/hooks/accounts', { phone: FRIEND, pushname: 'Friend' })).status).toBeLessThan(300);
}, 120_000);

afterAll(async () => {
  await inst?.stop();
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
