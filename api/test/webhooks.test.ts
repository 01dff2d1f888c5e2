/**
 * Issue 14, feature 1 through the main api (process provider, real instance processes): the owner sets a webhook,
 * gets the secret once, sends a test event, reads the delivery log and replays a failure; the SSRF refusal comes
 * through as `webhook_url_refused`; another tenant and instance tokens cannot reach any of it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { eventually, startMongo, type MongoServer } from '@wacloud/testenv';
import { startReceiver, startSimnet, type RunningSimnet, type WebhookReceiver } from '../../instance/test/harness.js';
import { startApiProcess, tenant, type RunningApi } from './harness.js';

let mongo: MongoServer;
let simnet: RunningSimnet;
let api: RunningApi;
let receiver: WebhookReceiver;
let alice: string;
let bob: string;
let id: string;

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  receiver = await startReceiver();
  // The operator opens 127.0.0.1 only (the receiver listens there); the rest of loopback stays refused.
  api = await startApiProcess({
    mongo,
    simnetUrl: simnet.url,
    env: { WEBHOOK_ALLOW_CIDRS: '127.0.0.1/32', WEBHOOK_LOG_RETENTION_MS: '168h', WEBHOOK_FAILED_RETENTION_MS: '720h' },
  });
  alice = await tenant(api, 'alice-webhooks@example.com', 5_000);
  bob = await tenant(api, 'bob-webhooks@example.com', 0);
  const r = await api.call('POST', '/v1/instances', { token: alice, body: { name: 'hooks' } });
  expect(r.status).toBe(201);
  id = r.body.id;
  await eventually(async () => (await api.call('GET', `/v1/instances/${id}`, { token: alice })).body.phase === 'Running', 30_000);
}, 90_000);

afterAll(async () => {
  if (id) await api?.call('DELETE', `/v1/instances/${id}`, { token: alice }).catch(() => {});
  await api?.stop();
  await Promise.allSettled([simnet?.stop(), receiver?.close(), mongo?.stop()]);
});

const hook = (p = '') => `/v1/instances/${id}/webhook${p}`;
const receiverUrl = () => receiver.url;

test("the operator's webhook settings reach the instance process (its environment)", () => {
  const pid = readFileSync(path.join(api.dataRoot, id, 'pid'), 'utf8').trim();
  const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  expect(env).toContain('WEBHOOK_ALLOW_CIDRS=127.0.0.1/32');
  expect(env).toContain(`WEBHOOK_LOG_RETENTION_MS=${7 * 24 * 3_600_000}`);
  expect(env).toContain(`WEBHOOK_FAILED_RETENTION_MS=${30 * 24 * 3_600_000}`);
});

test('a URL on an internal address is refused with webhook_url_refused, naming the reason', async () => {
  const cases: [string, string][] = [
    [receiver.url.replace('127.0.0.1', '127.0.0.2'), '127.0.0.2 (loopback)'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254 (the cloud metadata address)'],
    ['http://[fd00::1]/hook', 'fd00::1 (unique-local)'],
  ];
  for (const [url, why] of cases) {
    const r = await api.call('PUT', hook(), { token: alice, body: { url, events: ['message'] } });
    expect(r.status).toBe(422);
    expect(r.body.error).toMatchObject({ code: 'webhook_url_refused', message: expect.stringContaining(why) });
  }
});

test('the owner sets URL and events (secret once), sends a test event, reads the log, replays a failure', async () => {
  const set = await api.call('PUT', hook(), { token: alice, body: { url: receiverUrl(), events: ['message', 'message.ack'] } });
  expect(set.status).toBe(200);
  expect(set.body).toMatchObject({
    url: receiverUrl(),
    secretSet: true,
    events: ['message', 'message.ack'],
    secret: expect.stringMatching(/^whsec_/),
  });
  expect((await api.call('GET', hook(), { token: alice })).body).toEqual({
    url: receiverUrl(),
    secretSet: true,
    events: ['message', 'message.ack'],
  });

  receiver.script.push(410); // a 4xx is final: failed at the first attempt
  const t = await api.call('POST', hook('/test'), { token: alice });
  expect(t.status).toBe(202);
  const failed = await eventually(async () => {
    const log = await api.call('GET', hook('/deliveries?status=failed'), { token: alice });
    return log.body.items.find((d: { id: string }) => d.id === t.body.id);
  }, 60_000);
  expect(failed).toMatchObject({ event: 'webhook.test', httpStatus: 410, attempts: 1 });
  receiver.script.length = 0;
  const replay = await api.call('POST', hook(`/deliveries/${t.body.id}/replay`), { token: alice });
  expect(replay.status).toBe(200);
  const ok = await eventually(async () => {
    const log = await api.call('GET', hook('/deliveries'), { token: alice });
    return log.body.items.find((d: { id: string; status: string }) => d.id === t.body.id && d.status === 'delivered');
  }, 20_000);
  expect(ok).toMatchObject({ httpStatus: 200, attempts: 1, replays: 1, address: '127.0.0.1' });
  const again = await api.call('POST', hook(`/deliveries/${t.body.id}/replay`), { token: alice });
  expect(again.status).toBe(409);
  expect(again.body.error.code).toBe('delivery_not_failed');

  const rotated = await api.call('POST', hook('/secret'), { token: alice });
  expect(rotated.body.secret).toMatch(/^whsec_/);
  expect(rotated.body.secret).not.toBe(set.body.secret);
});

test('another tenant gets 404 on every webhook route; an instance token is not an access token', async () => {
  for (const [method, p] of [
    ['GET', hook()],
    ['PUT', hook()],
    ['POST', hook('/secret')],
    ['POST', hook('/test')],
    ['GET', hook('/deliveries')],
    ['POST', hook(`/deliveries/evt_${'0'.repeat(32)}/replay`)],
  ] as const) {
    const r = await api.call(method, p, { token: bob, body: method === 'PUT' ? { url: receiverUrl(), events: [] } : undefined });
    expect([p, r.status, r.body.error.code]).toEqual([p, 404, 'instance_not_found']);
  }
  const w = await api.call('POST', `/v1/instances/${id}/tokens`, { token: alice, body: { name: 'crm', permissions: 'rw' } });
  const r = await api.call('PUT', hook(), { token: w.body.token, body: { url: 'https://example.com/x', events: [] } });
  expect(r.status).toBe(401);
});
