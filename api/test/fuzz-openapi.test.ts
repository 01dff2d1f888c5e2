/**
 * Issue 14 item 3: a property-based fuzzer (Schemathesis, pinned, from the tools cache) over both OpenAPI documents —
 * the api's and the instance's as the gateway serves it — against real servers: a MongoDB-wire server, the api with
 * the process provider and a real instance process on the simulated network, its WhatsApp account logged in.
 * Every run must end with zero findings: no 5xx, no undocumented status, no response (body, content type) that breaks
 * its document, and 405 with `Allow` for methods a path does not take. Each failure names the operation, the check and
 * the `curl` that reproduces it. Re-run alone: `cd api && NODE_OPTIONS=--experimental-vm-modules npx jest test/fuzz`.
 *
 * Bounds: 12 examples per operation, deterministic generation, one worker, each run killed after 180 s (about a
 * minute each on an idle machine). Not fuzzed, and why, is in each run's `exclude`. `FUZZ_OPERATIONS=op1,op2` narrows
 * the runs to those operationIds; each run's whole output is kept in $TMPDIR/wacloud-fuzz-<run>.log.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { eventually, startMongo, type MongoServer } from '@wacloud/testenv';
import { startSimnet, type RunningSimnet } from '../../instance/test/harness.js';
import { fuzz, type FuzzResult } from './fuzz/schemathesis.js';
import { startApiProcess, tenant, type RunningApi } from './harness.js';

let mongo: MongoServer;
let simnet: RunningSimnet;
let api: RunningApi;
/** Owner of the instance under test; its balance is spent on that instance, so fuzzed creations answer 402. */
let owner: string;
let id: string;
let instanceToken: string;
let tokenId: string;
let messageId: string;

const PRICE = 1500;

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  api = await startApiProcess({
    mongo,
    simnetUrl: simnet.url,
    // The fuzzer sends a few thousand requests from one address within a minute: above the gateway's default budget.
    env: {
      BILLING_CRON: 'false',
      PRICE_MONTHLY_MINOR: String(PRICE),
      GATEWAY_RATE_PER_ADDRESS: '1000000',
      GATEWAY_RATE_PER_TENANT: '1000000',
    },
  });
  owner = await tenant(api, 'owner@example.com', PRICE);
  const created = await api.call('POST', '/v1/instances', { token: owner, body: { name: 'fuzzed' } });
  expect(created.status).toBe(201);
  id = created.body.id;
  const view = async () => (await api.call('GET', `/v1/instances/${id}`, { token: owner })).body;
  await eventually(async () => ((await view()).phase === 'Running' && (await view()).sessionState === 'STOPPED') || undefined, 60_000);
  const login = await api.call('POST', `/v1/instances/${id}/api/v1/session/login`, { token: owner });
  expect(login.status).toBe(200);
  expect((await simnet.hook('/hooks/scan', { qr: login.body.qr, phone: '15550009001' })).status).toBe(200);
  expect((await simnet.hook('/hooks/accounts', { phone: '15550009002', pushname: 'Friend' })).status).toBe(201);
  await eventually(async () => (await view()).sessionState === 'WORKING' || undefined, 60_000);
  const token = await api.call('POST', `/v1/instances/${id}/tokens`, { token: owner, body: { name: 'fuzzer', permissions: 'rw' } });
  expect(token.status).toBe(201);
  instanceToken = token.body.token;
  tokenId = token.body.id;
  const sent = await api.call('POST', `/v1/instances/${id}/api/v1/messages`, {
    token: instanceToken,
    body: { to: '15550009002', text: 'hello fuzzer' },
  });
  expect(sent.status).toBe(202);
  messageId = sent.body.id;
}, 120_000);

afterAll(async () => {
  // The process provider's instances outlive the api by design (an api restart keeps them): delete ours.
  if (id) await api?.call('DELETE', `/v1/instances/${id}`, { token: owner }).catch(() => undefined);
  await api?.stop();
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

/** Fails with the findings (failing operations, checks, curl reproductions) when the run found anything. */
function expectNoFindings(r: FuzzResult): void {
  if (!r.ok) throw new Error(r.findings);
}

test('the gateway serves the instance document without internal routes or probes, pointing at the gateway', async () => {
  const r = await api.call('GET', `/v1/instances/${id}/api/openapi.json`, { token: instanceToken });
  expect(r.status).toBe(200);
  const paths = Object.keys(r.body.paths);
  expect(paths.filter((p) => p.startsWith('/internal'))).toEqual([]);
  expect(paths).not.toContain('/health/live');
  expect(paths).toEqual(expect.arrayContaining(['/health', '/v1/messages', '/v1/messages/{id}', '/v1/session/login']));
  expect(JSON.stringify(r.body)).not.toMatch(/internalKey|x-wacloud-server":"internal/);
  expect(r.body.servers).toEqual([expect.objectContaining({ url: `/v1/instances/${id}/api` })]);
  expect(Object.keys(r.body.paths['/v1/messages'].post.responses)).toEqual(expect.arrayContaining(['429', '503', '504']));
  // Through the gateway, another tenant's instance is not found, the document included.
  const other = await tenant(api, 'other@example.com');
  expect((await api.call('GET', `/v1/instances/${id}/api/openapi.json`, { token: other })).status).toBe(404);
});

test('fuzz: the api document has no finding', async () => {
  const doc = (await api.call('GET', '/openapi.json')).body;
  const r = await fuzz({
    name: 'api',
    doc,
    baseUrl: api.url,
    token: owner,
    known: { 'path.id': [id], 'path.tokenId': [tokenId] },
    exclude: {
      logout: 'revokes the access token the run uses',
      deleteInstance: 'deletes the instance under test (its id is a known value)',
      stopInstance: 'stops the instance under test: a destructive session operation',
      restartInstance: 'restarts the instance under test: a destructive session operation',
      deleteInstanceToken: "deletes the run's instance token (its id is a known value)",
      updateInstanceToken: "re-scopes the run's instance token (its id is a known value)",
      deposit: "fuzzed on its own below: a funded owner's fuzzed creations would each start an instance process",
    },
  });
  expectNoFindings(r);
}, 360_000);

test('fuzz: deposits and the ledger, for a tenant of their own, have no finding', async () => {
  const payer = await tenant(api, 'payer@example.com');
  const doc = (await api.call('GET', '/openapi.json')).body;
  const r = await fuzz({ name: 'api (wallet)', doc, baseUrl: api.url, token: payer, include: ['deposit', 'transactions'] });
  expectNoFindings(r);
}, 360_000);

test('fuzz: the instance document, through the gateway with an instance token, has no finding', async () => {
  const doc = (await api.call('GET', `/v1/instances/${id}/api/openapi.json`, { token: instanceToken })).body;
  const r = await fuzz({
    name: 'instance',
    doc,
    baseUrl: `${api.url}/v1/instances/${id}/api`,
    token: instanceToken,
    known: { 'path.id': [messageId, '15550009002@c.us'] },
    exclude: {
      logout: 'logs the WhatsApp account out and forgets its session: a destructive session operation',
      // Its multipart form carries a rule JSON Schema can state (no caption on audio, ptt or sticker: `anyOf`), but
      // Schemathesis 4.32 crashes evaluating a conditional next to a binary part, so the form's document states it in
      // prose only; the route's refusals are covered by test/media-routes.test.ts in the instance workspace.
      sendMedia: 'its multipart form has a caption rule Schemathesis 4.32 cannot evaluate (see above)',
    },
  });
  expectNoFindings(r);
}, 360_000);

test("fuzz: the instance's internal API (what the api calls), with the internal key, has no finding", async () => {
  // The process provider keeps the instance's ports and internal key in its record directory.
  const dir = path.join(api.dataRoot, id);
  const { internalPort } = JSON.parse(readFileSync(path.join(dir, 'provider.json'), 'utf8')) as { internalPort: number };
  const internalUrl = `http://127.0.0.1:${internalPort}`;
  const doc = await (await fetch(`${internalUrl}/openapi.json`)).json();
  const r = await fuzz({
    name: 'instance (internal)',
    doc,
    baseUrl: internalUrl,
    token: readFileSync(path.join(dir, 'internal-key'), 'utf8').trim(),
    includePathRegex: '^/internal/',
    known: { 'path.id': [tokenId] },
    exclude: {
      deleteToken: "deletes the runs' instance token (its id is a known value)",
      updateToken: "re-scopes the runs' instance token (its id is a known value)",
    },
  });
  expectNoFindings(r);
}, 360_000);
