/**
 * Issue #5 (billing) against real servers: the api with the `kubernetes` provider, a real control plane with the
 * operator, a real MongoDB-wire server, and the `billing run --now` CLI as its own process.
 * Dates in the past/future are set by writing the instance's billing fields in the database (the test is the clock).
 */
import path from 'node:path';
import mongoose from 'mongoose';
import { eventually, startMongo, startProcess, type ControlPlane, type MongoServer } from '@wacloud/testenv';
import { getJson, kubectlOk, startClusterWithCrd, startOperator, type RunningOperator } from '../../operator/test/harness.js';
import { periodEnd } from '../src/periods.js';
import { apiDir, startApiProcess, tenant, type RunningApi } from './harness.js';

const NS = 'wacloud-instances';
let cp: ControlPlane;
let op: RunningOperator;
let mongo: MongoServer;
let api: RunningApi;
let db: mongoose.Connection;
let price: number;

beforeAll(async () => {
  const cluster = await startClusterWithCrd();
  cp = cluster.cp;
  await kubectlOk(cp, ['create', 'namespace', NS]);
  op = await startOperator(cluster.operatorKubeconfig, 'op-billing');
  mongo = await startMongo();
  api = await startApiProcess({ mongo, env: { PROVIDER: 'kubernetes', KUBECONFIG: cp.adminKubeconfigPath, K8S_NAMESPACE: NS } });
  db = await mongoose.createConnection(api.env.MONGODB_URI!).asPromise();
  price = (await api.call('GET', '/v1/pricing')).body.monthlyPriceMinor;
}, 120_000);

afterAll(async () => {
  await db?.close();
  await api?.stop();
  await op?.stop();
  await Promise.allSettled([cp?.stop(), mongo?.stop()]);
});

async function billingRun(now: string): Promise<{ code: number | null; summary: any }> {
  const p = startProcess({
    command: process.execPath,
    args: [path.join(apiDir, 'dist', 'billing-cli.js'), 'run', '--now', now],
    env: api.env,
  });
  const code = await p.exited;
  const last = p
    .output()
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{"now"'))
    .at(-1);
  return { code, summary: last ? JSON.parse(last) : undefined };
}

const instances = () => db.db!.collection<any>('instances');
const ledgerSum = async (userId: string) =>
  (await db.db!.collection<any>('ledger').find({ userId }).toArray()).reduce((s, e) => s + e.amountMinor, 0);

test('calendar walk: created 31 January → charged → suspended → deposit resumes → suspended → deleted', async () => {
  const token = await tenant(api, 'walker@example.com', price * 2);
  const me = (await api.call('GET', '/v1/me', { token })).body;
  const created = await api.call('POST', '/v1/instances', { token, body: { name: 'walker' } });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  await eventually(() => getJson(cp, 'statefulset', id, NS), 30_000);
  // "Created 31 January 2027 10:00 UTC": the first period ends 28 February (month-end rule), anchored on the 31st.
  await instances().updateOne(
    { _id: id },
    { $set: { createdAt: new Date('2027-01-31T10:00:00Z'), paidUntil: new Date('2027-02-28T10:00:00Z'), billingAnchorDay: 31 } },
  );

  const run1 = await billingRun('2027-03-01T00:00:00Z');
  expect(run1.code).toBe(0);
  expect(run1.summary).toMatchObject({ due: 1, charged: 1, suspended: 0, failed: 0 });
  const charge = (await api.call('GET', '/v1/wallet/transactions', { token })).body.items[0];
  expect(charge).toMatchObject({
    type: 'charge',
    amountMinor: -price,
    period: { start: '2027-02-28T10:00:00.000Z', end: '2027-03-31T10:00:00.000Z' },
  });
  expect((await api.call('GET', `/v1/instances/${id}`, { token })).body.paidUntil).toBe('2027-03-31T10:00:00.000Z');
  expect((await billingRun('2027-03-01T00:00:00Z')).summary).toMatchObject({ due: 0, charged: 0 }); // same day again: nothing

  const run2 = await billingRun('2027-04-01T00:00:00Z'); // balance 0: cannot pay [31 Mar, 30 Apr)
  expect(run2.summary).toMatchObject({ due: 1, suspended: 1, charged: 0, failed: 0 });
  expect((await getJson(cp, 'wai', id, NS)).spec.suspended).toBe(true);
  await eventually(async () => (await getJson(cp, 'statefulset', id, NS)).spec.replicas === 0, 30_000);
  const suspended = (await api.call('GET', `/v1/instances/${id}`, { token })).body;
  expect(suspended).toMatchObject({ suspended: true, phase: 'Suspended', suspendedAt: '2027-04-01T00:00:00.000Z' });

  const dep = await api.call('POST', '/v1/wallet/deposits', { token, body: { amount: price } });
  expect(dep.body.resumedInstances).toEqual([id]);
  expect(dep.body.balanceMinor).toBe(0);
  expect((await getJson(cp, 'wai', id, NS)).spec.suspended).toBe(false);
  await eventually(async () => (await getJson(cp, 'statefulset', id, NS)).spec.replicas === 1, 30_000);
  const resumed = (await api.call('GET', `/v1/instances/${id}`, { token })).body;
  expect(resumed.suspended).toBe(false);
  const paidUntil = new Date(resumed.paidUntil);

  const run3 = await billingRun(new Date(paidUntil.getTime() + 3_600_000).toISOString()); // short again
  expect(run3.summary).toMatchObject({ suspended: 1, failed: 0 });
  expect((await getJson(cp, 'wai', id, NS)).spec.suspended).toBe(true);
  const grace = periodEnd(paidUntil, paidUntil.getUTCDate());
  expect((await billingRun(new Date(grace.getTime() - 3_600_000).toISOString())).summary).toMatchObject({ deleted: 0 });
  const run4 = await billingRun(new Date(grace.getTime() + 3_600_000).toISOString()); // next charge date passed unpaid
  expect(run4.summary).toMatchObject({ deleted: 1, failed: 0 });
  await eventually(async () => (await getJson(cp, 'wai', id, NS)) === undefined, 30_000);
  expect((await api.call('GET', `/v1/instances/${id}`, { token })).status).toBe(404);
  expect(await ledgerSum(me.id)).toBe((await api.call('GET', '/v1/me', { token })).body.balanceMinor);
}, 180_000);

test('two runs at once and a third the same day: every due period charged once; ledger = balances', async () => {
  const users: Array<{ id: string; token: string; start: number }> = [];
  for (let u = 0; u < 6; u++) {
    const token = await tenant(api, `payer${u}@example.com`, u % 3 === 0 ? price : price * 5);
    const me = (await api.call('GET', '/v1/me', { token })).body;
    users.push({ id: me.id, token, start: me.balanceMinor });
  }
  const due = new Date('2027-06-01T00:00:00Z');
  const docs = users.flatMap((u, i) =>
    Array.from({ length: 4 }, (_, k) => ({
      _id: `i-bill${String(i)}${String(k)}aaaaaa`.slice(0, 14),
      userId: u.id,
      name: `b${k}`,
      engine: 'simulated',
      provider: 'kubernetes',
      createdAt: new Date('2027-04-15T08:00:00Z'),
      paidUntil: new Date('2027-05-15T08:00:00Z'),
      billingAnchorDay: 15,
      suspended: false,
      suspendedAt: null,
      deletedAt: null,
    })),
  );
  await instances().insertMany(docs);
  const [a, b] = await Promise.all([billingRun(due.toISOString()), billingRun(due.toISOString())]);
  const c = await billingRun(due.toISOString());
  for (const r of [a, b, c]) expect(r.code).toBe(0);
  const charged = a.summary.charged + b.summary.charged + c.summary.charged;
  const charges = await db
    .db!.collection<any>('ledger')
    .find({ instanceId: { $in: docs.map((d) => d._id) } })
    .toArray();
  expect(charges.length).toBe(charged);
  expect(new Set(charges.map((e: { idempotencyKey: string }) => e.idempotencyKey)).size).toBe(charges.length);
  // Rich users: all 4 instances charged once; poor users (balance = 1 price): one charged, three suspended.
  expect(charged).toBe(4 * 4 + 2 * 1);
  expect(a.summary.suspended + b.summary.suspended + c.summary.suspended).toBe(2 * 3);
  for (const u of users) {
    const balance = (await api.call('GET', '/v1/me', { token: u.token })).body.balanceMinor;
    expect(await ledgerSum(u.id)).toBe(balance);
    expect(balance).toBeGreaterThanOrEqual(0);
  }
}, 120_000);

test('kill -9 during a batch, then run again: no double charge, no instance skipped', async () => {
  // Enough instances that the run outlasts a test process kept from its next poll by the other test files on the CPUs:
  // two pages of 1,000, each charged (its ledger entries) and then advanced (its paidUntil, 20 instances a command,
  // 50 commands one after the other). With 300 (15 commands) a CI run once killed the billing only after it finished.
  const n = 2_000;
  const deposit = n * price;
  const token = await tenant(api, 'crash@example.com', deposit);
  const userId = (await api.call('GET', '/v1/me', { token })).body.id as string;
  const docs = Array.from({ length: n }, (_, k) => ({
    _id: `i-crash${String(k).padStart(4, '0')}`,
    userId,
    name: `c${k}`,
    engine: 'simulated',
    provider: 'kubernetes',
    createdAt: new Date('2027-07-10T09:00:00Z'),
    paidUntil: new Date('2027-08-10T09:00:00Z'),
    billingAnchorDay: 10,
    suspended: false,
    suspendedAt: null,
    deletedAt: null,
  }));
  await instances().insertMany(docs);
  const now = '2027-08-11T00:00:00Z';
  const charges = () => db.db!.collection<any>('ledger').countDocuments({ userId, type: 'charge' });
  const first = startProcess({
    command: process.execPath,
    args: [path.join(apiDir, 'dist', 'billing-cli.js'), 'run', '--now', now],
    env: api.env,
  });
  const advanced = () => instances().countDocuments({ userId, paidUntil: new Date('2027-09-10T09:00:00Z') });
  // Killed once the first page's first paidUntil advances are stored: its ledger entries are in, most of its advances
  // and the second page not yet (a local run: 1,000 charges and 60 advances).
  await eventually(async () => (await advanced()) > 0, 60_000, 5);
  await first.kill9();
  const [afterCrash, advancedAfterCrash] = [await charges(), await advanced()];
  // Really interrupted mid-run, and never an instance advanced without its charge.
  expect(advancedAfterCrash).toBeLessThan(n);
  expect(afterCrash).toBeGreaterThanOrEqual(advancedAfterCrash);
  const second = await billingRun(now);
  expect(second.code).toBe(0);
  expect(await charges()).toBe(n);
  const keys = (await db.db!.collection<any>('ledger').find({ userId, type: 'charge' }).toArray()).map(
    (e: { idempotencyKey: string }) => e.idempotencyKey,
  );
  expect(new Set(keys).size).toBe(n);
  expect(await advanced()).toBe(n);
  expect((await api.call('GET', '/v1/me', { token })).body.balanceMinor).toBe(deposit - n * price);
  expect(await ledgerSum(userId)).toBe(deposit - n * price);
}, 180_000);
