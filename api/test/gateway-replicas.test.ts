/**
 * Issue 12 item 10: two api replicas (two api processes on one database and one instance data root, process
 * provider) in front of the same instance. Each api process used to delete every `wacloud-gateway` token on first
 * use, so the replicas revoked each other's gateway credential, and a POST refused with 401 reached the tenant (only
 * GET/HEAD were retried). Now the credential is shared through the database, and a refused one is replaced and the
 * request — also a POST — sent again, once.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { eventually, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { startSimnet, type RunningSimnet } from '../../instance/test/harness.js';
import { startApiProcess, tenant, type RunningApi } from './harness.js';

let mongo: MongoServer;
let simnet: RunningSimnet;
let a: RunningApi;
let b: RunningApi;
let owner: string;
let id: string;
const phone = '15550007101';
const peer = '15550007102';

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  const db = uniqueDbName('replicas');
  a = await startApiProcess({ mongo, simnetUrl: simnet.url, db, env: { BILLING_CRON: 'false' } });
  b = await startApiProcess({
    mongo,
    simnetUrl: simnet.url,
    db,
    env: { BILLING_CRON: 'false', RECONCILE_ON_START: 'false', PROCESS_DATA_ROOT: a.dataRoot },
  });
  owner = await tenant(a, 'replicas-owner@example.com', 10_000);
  const created = await a.call('POST', '/v1/instances', { token: owner, body: { name: 'shared' } });
  expect(created.status).toBe(201);
  id = created.body.id;
  await eventually(async () => (await a.call('GET', `/v1/instances/${id}`, { token: owner })).body.phase === 'Running', 30_000);
  const login = await a.call('POST', `/v1/instances/${id}/api/v1/session/login`, { token: owner });
  expect(login.status).toBe(200);
  expect((await simnet.hook('/hooks/scan', { qr: login.body.qr, phone })).status).toBe(200);
  expect((await simnet.hook('/hooks/accounts', { phone: peer, pushname: 'Peer' })).status).toBe(201);
  await eventually(async () => (await a.call('GET', `/v1/instances/${id}`, { token: owner })).body.sessionState === 'WORKING', 15_000);
}, 120_000);

afterAll(async () => {
  if (id) await a?.call('DELETE', `/v1/instances/${id}`, { token: owner }).catch(() => {});
  await Promise.allSettled([b?.stop(), a?.stop()]);
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

/** The instance's internal API, as the provider reaches it (its key and port from the process provider's files). */
async function internal(method: string, p: string): Promise<{ status: number; body: any }> {
  const dir = path.join(a.dataRoot, id);
  const rec = JSON.parse(readFileSync(path.join(dir, 'provider.json'), 'utf8')) as { internalPort: number };
  const key = readFileSync(path.join(dir, 'internal-key'), 'utf8').trim();
  const res = await fetch(`http://127.0.0.1:${rec.internalPort}${p}`, { method, headers: { authorization: `Bearer ${key}` } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const gatewayTokens = async () =>
  ((await internal('GET', '/internal/v1/tokens')).body.items as Array<{ id: string; name: string }>).filter(
    (t) => t.name === 'wacloud-gateway',
  );

const send = (api: RunningApi, text: string) =>
  api.call('POST', `/v1/instances/${id}/api/v1/messages`, { token: owner, body: { to: peer, text } });

/** Bodies of the stored messages containing `q`. */
async function bodies(q: string): Promise<string[]> {
  const r = await a.call('GET', `/v1/instances/${id}/api/v1/messages?q=${encodeURIComponent(q)}`, { token: owner });
  expect(r.status).toBe(200);
  return (r.body.items as Array<{ body: string }>).map((m) => m.body);
}

test('two replicas use one gateway credential: POSTs through either, alternately, all go through', async () => {
  const results: Array<[string, number]> = [];
  for (const [name, api] of [
    ['a', a],
    ['b', b],
    ['a', a],
    ['b', b],
  ] as const)
    results.push([name, (await send(api, `alternate ${name} ${results.length}`)).status]);
  expect(results).toEqual([
    ['a', 202],
    ['b', 202],
    ['a', 202],
    ['b', 202],
  ]);
  expect((await gatewayTokens()).length).toBe(1);
});

test('a POST whose gateway credential the instance no longer knows is sent again with a fresh one, exactly once', async () => {
  expect((await send(a, 'warm up')).status).toBe(202);
  for (const t of await gatewayTokens()) expect((await internal('DELETE', `/internal/v1/tokens/${t.id}`)).status).toBe(204);
  const r = await send(b, 'after the reset');
  expect(r.status).toBe(202);
  // The other replica, still holding the refused credential, recovers the same way.
  expect((await send(a, 'after the reset, other replica')).status).toBe(202);
  // The instance paces its sends (about one message per 2 s to one chat by default): 7 messages are queued by now.
  await eventually(async () => (await bodies('after the reset')).length >= 2, 40_000);
  await new Promise((r) => setTimeout(r, 500));
  expect((await bodies('after the reset')).sort()).toEqual(['after the reset', 'after the reset, other replica']);
  expect((await gatewayTokens()).length).toBe(1);
});
