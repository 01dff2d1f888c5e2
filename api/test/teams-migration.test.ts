/**
 * Issue #15, organisations: accounts from before organisations (created here the old way, straight in the database:
 * the balance on the user, ledger entries keyed by the user) become owners of an organisation of their own when the
 * api starts — two api processes starting at once on the same database included — keeping their balance, ledger and
 * instances; running again changes nothing.
 */
import mongoose from 'mongoose';
import { startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { hashPassword } from '../src/accounts.js';
import { startApiProcess, type RunningApi } from './harness.js';

const PASSWORD = 'correct horse battery';
let mongo: MongoServer;
let db: mongoose.Connection;
const apis: RunningApi[] = [];

beforeAll(async () => {
  mongo = await startMongo();
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(apis.map((a) => a.stop()));
  await db?.close();
  await mongo?.stop();
});

/** An account as the api before organisations wrote it: balance and ledger on the user, an instance of its own. */
async function legacyAccount(conn: mongoose.Connection, n: number, passwordHash: string): Promise<string> {
  const id = `u_legacy${String(n).padStart(4, '0')}`;
  const at = new Date('2026-01-01T00:00:00Z');
  await conn.db!.collection('users').insertOne({
    _id: id as never,
    email: `legacy${n}@example.com`,
    passwordHash,
    createdAt: at,
    balanceMinor: 2500,
    ledgerSeq: 1,
  });
  await conn.db!.collection('ledger').insertOne({
    _id: `${id}:1` as never,
    userId: id,
    seq: 1,
    type: 'deposit',
    amountMinor: 2500,
    balanceAfterMinor: 2500,
    idempotencyKey: `deposit:${id}:legacy`,
    memo: 'Deposit (emulated payment)',
    createdAt: at,
  });
  return id;
}

test('legacy accounts become owners of their own organisation at start, once, with two replicas starting together', async () => {
  const uri = mongo.dbUri(uniqueDbName('migrate'));
  db = await mongoose.createConnection(uri).asPromise();
  const hash = await hashPassword(PASSWORD);
  const ids: string[] = [];
  for (let n = 0; n < 30; n++) ids.push(await legacyAccount(db, n, hash));
  // A legacy instance of the first account (its record only: nothing runs it).
  await db.db!.collection('instances').insertOne({
    _id: 'i-legacyaaaaaaa' as never,
    userId: ids[0],
    name: 'old',
    engine: 'simulated',
    provider: 'kubernetes',
    createdAt: new Date(),
    paidUntil: new Date(Date.now() + 86_400_000),
    billingAnchorDay: 1,
    suspended: false,
    suspendedAt: null,
    deletedAt: null,
  });

  const env = { RECONCILE_ON_START: 'false', BILLING_CRON: 'false' };
  const started = await Promise.all(
    [0, 1].map(() => startApiProcess({ mongo, simnetUrl: 'http://127.0.0.1:9', env: { ...env, MONGODB_URI: uri } })),
  );
  apis.push(...started);

  const members = await db.db!.collection('members').find({}).toArray();
  expect(members).toHaveLength(30);
  for (const id of ids) {
    const m = members.filter((x) => x.userId === id);
    expect(m).toHaveLength(1);
    expect(m[0]).toMatchObject({ orgId: id, role: 'owner' });
  }
  expect(await db.db!.collection('organisations').countDocuments({})).toBe(30);
  expect(await db.db!.collection('users').countDocuments({ orgId: { $exists: false } })).toBe(0);

  // The account logs in as before, owns its organisation, keeps its money, ledger and instance.
  const login = await started[1]!.call('POST', '/v1/auth/login', { body: { email: 'legacy0@example.com', password: PASSWORD } });
  expect(login.status).toBe(200);
  expect(login.body.user.balanceMinor).toBe(2500);
  const token = login.body.accessToken as string;
  const me = await started[0]!.call('GET', '/v1/me', { token });
  expect(me.body).toMatchObject({ id: ids[0], organisationId: ids[0], role: 'owner', balanceMinor: 2500 });
  const tx = await started[0]!.call('GET', '/v1/wallet/transactions', { token });
  expect(tx.body.items.map((e: { id: string }) => e.id)).toEqual([`${ids[0]}:1`]);
  const dep = await started[1]!.call('POST', '/v1/wallet/deposits', { token, body: { amount: 100 } });
  expect(dep.status).toBe(201);
  expect(dep.body.transaction.id).toBe(`${ids[0]}:2`);
  expect(dep.body.balanceMinor).toBe(2600);
  const list = await started[0]!.call('GET', '/v1/instances', { token });
  expect(list.body.items.map((i: { id: string }) => i.id)).toEqual(['i-legacyaaaaaaa']);
  const team = await started[0]!.call('GET', '/v1/members', { token });
  expect(team.body.items).toEqual([expect.objectContaining({ userId: ids[0], role: 'owner', email: 'legacy0@example.com' })]);

  // Again: nothing changes.
  await Promise.all(started.map((a) => a.stop()));
  apis.length = 0;
  apis.push(await startApiProcess({ mongo, simnetUrl: 'http://127.0.0.1:9', env: { ...env, MONGODB_URI: uri } }));
  expect(await db.db!.collection('members').countDocuments({})).toBe(30);
  expect(await db.db!.collection('organisations').countDocuments({})).toBe(30);
  expect((await db.db!.collection('organisations').findOne({ _id: ids[0] as never }))!.balanceMinor).toBe(2600);
}, 120_000);

test('a ledger entry an older replica wrote after the migration is rolled into the organisation balance', async () => {
  const uri = mongo.dbUri(uniqueDbName('migrate-late'));
  const conn = await mongoose.createConnection(uri).asPromise();
  try {
    const id = await legacyAccount(conn, 1, await hashPassword(PASSWORD));
    const api = await startApiProcess({ mongo, simnetUrl: 'http://127.0.0.1:9', env: { RECONCILE_ON_START: 'false', MONGODB_URI: uri } });
    apis.push(api);
    // What an api from before organisations does for a deposit: ledger entry <user>:<seq>, balance on the user.
    await conn.db!.collection('ledger').insertOne({
      _id: `${id}:2` as never,
      userId: id,
      seq: 2,
      type: 'deposit',
      amountMinor: 700,
      balanceAfterMinor: 3200,
      idempotencyKey: `deposit:${id}:late`,
      memo: 'Deposit (emulated payment)',
      createdAt: new Date(),
    });
    await conn.db!.collection('users').updateOne({ _id: id as never }, { $set: { balanceMinor: 3200, ledgerSeq: 2 } });
    const login = await api.call('POST', '/v1/auth/login', { body: { email: 'legacy1@example.com', password: PASSWORD } });
    expect(login.body.user.balanceMinor).toBe(3200);
  } finally {
    await conn.close();
  }
}, 60_000);
