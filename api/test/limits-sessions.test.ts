/**
 * Issue 12 item 12: sessions do not pile up. MongoDB removes expired sessions through a TTL index; FerretDB v1 (the
 * test server) has no TTL indexes, so the api also sweeps them every SWEEP_INTERVAL_S — here 1 s — and an expired
 * session no longer opens the api even while its token's own `exp` is still ahead. Expired throttle points go the
 * same way.
 */
import mongoose from 'mongoose';
import { eventually, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { startApiProcess, tenant, type RunningApi } from './harness.js';

let mongo: MongoServer;
let api: RunningApi;
let conn: mongoose.Connection;

beforeAll(async () => {
  mongo = await startMongo();
  const db = uniqueDbName('sessions');
  api = await startApiProcess({ mongo, simnetUrl: 'http://unused.invalid', db, env: { BILLING_CRON: 'false', SWEEP_INTERVAL_S: '1' } });
  conn = await mongoose.createConnection(mongo.dbUri(db)).asPromise();
});

afterAll(async () => {
  await conn?.close();
  await api?.stop();
  await mongo?.stop();
});

test('expired sessions are swept from the database and no longer authenticate', async () => {
  const token = await tenant(api, 'sessions@example.com');
  expect((await api.call('GET', '/v1/me', { token })).status).toBe(200);
  const sessions = conn.db!.collection<{ _id: string; expiresAt: Date }>('sessions');
  expect(await sessions.countDocuments({})).toBe(1);
  await sessions.updateMany({}, { $set: { expiresAt: new Date(Date.now() - 1000) } });
  expect((await api.call('GET', '/v1/me', { token })).status).toBe(401);
  await eventually(async () => (await sessions.countDocuments({})) === 0, 10_000);
});

test('expired throttle points of keys never used again are swept too', async () => {
  const throttle = conn.db!.collection<{ _id: string; key: string; seq: number; takenAt: Date; expiresAt: Date }>('throttle');
  const past = new Date(Date.now() - 1000);
  await throttle.insertOne({
    _id: 'login:address:203.0.113.9#0',
    key: 'login:address:203.0.113.9',
    seq: 0,
    takenAt: past,
    expiresAt: past,
  });
  await eventually(async () => (await throttle.countDocuments({ key: 'login:address:203.0.113.9' })) === 0, 10_000);
});
