/**
 * Issue 14 feature 2, session control, with the `process` provider: a real api process, real instance processes and
 * the simulated network. A tenant stops, starts and restarts an instance whose WhatsApp account is logged in: a stop
 * ends the process (the gateway answers 409 `instance_stopped`), a start and a restart bring the session back without
 * a new QR, and billing's suspension is refused as a conflict. The kubernetes provider's side is in
 * `kubernetes-e2e.test.ts`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { countProcesses, eventually, startMongo, type MongoServer } from '@wacloud/testenv';
import { startSimnet, type RunningSimnet } from '../../instance/test/harness.js';
import { openApiStore, type ApiStore } from '../src/store.js';
import { startApiProcess, tenant, type RunningApi } from './harness.js';

let mongo: MongoServer;
let simnet: RunningSimnet;
let api: RunningApi;
let store: ApiStore;
let alice: string;
let bob: string;
let id: string;

const processes = (i: string) => countProcesses(new RegExp(`--instance-id=${i}\\b`));
const pidOf = (i: string) => Number(readFileSync(path.join(api.dataRoot, i, 'pid'), 'utf8').trim());
const view = async (i: string) => (await api.call('GET', `/v1/instances/${i}`, { token: alice })).body;
/** Waits until the instance shows phase Running with session state `state`. */
const runningWith = (i: string, state: string) =>
  eventually(async () => {
    const v = await view(i);
    return v.phase === 'Running' && v.sessionState === state ? v : undefined;
  }, 30_000);

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  api = await startApiProcess({ mongo, simnetUrl: simnet.url, env: { BILLING_CRON: 'false', INSTANCE_STATE_TTL_MS: '60000' } });
  store = await openApiStore(api.env.MONGODB_URI!);
  alice = await tenant(api, 'alice@example.com', 10_000);
  bob = await tenant(api, 'bob@example.com', 0);
  const created = await api.call('POST', '/v1/instances', { token: alice, body: { name: 'controlled' } });
  expect(created.status).toBe(201);
  id = created.body.id;
  await runningWith(id, 'STOPPED');
  const login = await api.call('POST', `/v1/instances/${id}/api/v1/session/login`, { token: alice });
  expect(login.status).toBe(200);
  expect((await simnet.hook('/hooks/scan', { qr: login.body.qr, phone: '15550007001' })).status).toBe(200);
  await runningWith(id, 'WORKING');
}, 90_000);

afterAll(async () => {
  if (id) await api?.call('DELETE', `/v1/instances/${id}`, { token: alice }).catch(() => {});
  await store?.close();
  await api?.stop();
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

test('stop: phase Stopped, the process ends, the gateway and tokens answer 409 instance_stopped; stopping again is fine', async () => {
  const balance = (await api.call('GET', '/v1/me', { token: alice })).body.balanceMinor;
  // An integrator's instance token: its requests reuse the instance's record (instances.ts `live`; 60 s here, longer
  // than the stop takes), a stop through the api applies to them at once all the same.
  const made = await api.call('POST', `/v1/instances/${id}/tokens`, { token: alice, body: { name: 'integrator', permissions: 'r' } });
  expect(made.status).toBe(201);
  const wai = made.body.token as string;
  expect((await api.call('GET', `/v1/instances/${id}/api/v1/stats`, { token: wai })).status).toBe(200);
  const stopped = await api.call('POST', `/v1/instances/${id}/stop`, { token: alice });
  expect(stopped.status).toBe(200);
  expect(stopped.body).toMatchObject({ id, phase: 'Stopped', stopped: true, suspended: false, stoppedAt: expect.any(String) });
  expect(processes(id)).toBe(0);
  expect(await view(id)).toMatchObject({ phase: 'Stopped', stopped: true });
  const gw = await api.call('GET', `/v1/instances/${id}/api/v1/stats`, { token: alice });
  expect(gw.status).toBe(409);
  expect(gw.body.error.code).toBe('instance_stopped');
  const byToken = await api.call('GET', `/v1/instances/${id}/api/v1/stats`, { token: wai });
  expect(byToken.status).toBe(409);
  expect(byToken.body.error.code).toBe('instance_stopped');
  expect((await api.call('GET', `/v1/instances/${id}/tokens`, { token: alice })).body.error.code).toBe('instance_stopped');
  // Idempotent; a restart of a stopped instance is refused (start it instead).
  expect((await api.call('POST', `/v1/instances/${id}/stop`, { token: alice })).status).toBe(200);
  const restart = await api.call('POST', `/v1/instances/${id}/restart`, { token: alice });
  expect(restart.status).toBe(409);
  expect(restart.body.error.code).toBe('instance_stopped');
  expect(processes(id)).toBe(0);
  // A stop is not a billing event: nothing was charged or refunded.
  expect((await api.call('GET', '/v1/me', { token: alice })).body.balanceMinor).toBe(balance);
  // The record stays stopped across an api restart (its reconcile does not start it).
  await api.stop();
  api = await api.restart();
  expect(await view(id)).toMatchObject({ phase: 'Stopped', stopped: true });
  expect(processes(id)).toBe(0);
}, 90_000);

test('start: the process runs again and the stored session logs in without a new QR', async () => {
  const started = await api.call('POST', `/v1/instances/${id}/start`, { token: alice });
  expect(started.status).toBe(200);
  expect(started.body).toMatchObject({ id, stopped: false, stoppedAt: null });
  expect(await runningWith(id, 'WORKING')).toMatchObject({ stopped: false });
  expect(processes(id)).toBe(1);
  expect((await api.call('GET', `/v1/instances/${id}/api/v1/stats`, { token: alice })).status).toBe(200);
  expect((await api.call('POST', `/v1/instances/${id}/start`, { token: alice })).status).toBe(200); // idempotent
  expect(processes(id)).toBe(1);
}, 60_000);

test('restart: a new process, the session kept (WORKING without a QR), the gateway reaches the new one', async () => {
  const before = pidOf(id);
  const r = await api.call('POST', `/v1/instances/${id}/restart`, { token: alice });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ id, stopped: false, suspended: false });
  const after = pidOf(id);
  expect(after).not.toBe(before);
  await runningWith(id, 'WORKING');
  expect(processes(id)).toBe(1);
  const session = await api.call('GET', `/v1/instances/${id}/api/v1/stats`, { token: alice });
  expect(session.status).toBe(200);
}, 60_000);

test('another tenant and unknown ids get 404; an instance billing suspended gets 409 instance_suspended', async () => {
  for (const action of ['stop', 'start', 'restart']) {
    const other = await api.call('POST', `/v1/instances/${id}/${action}`, { token: bob });
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('instance_not_found');
    expect((await api.call('POST', `/v1/instances/i-aaaaaaaaaaaa/${action}`, { token: alice })).status).toBe(404);
  }
  expect(processes(id)).toBe(1);
  await store.instances.updateOne({ _id: id }, { $set: { suspended: true, suspendedAt: new Date() } });
  try {
    for (const action of ['stop', 'start', 'restart']) {
      const r = await api.call('POST', `/v1/instances/${id}/${action}`, { token: alice });
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('instance_suspended');
    }
  } finally {
    await store.instances.updateOne({ _id: id }, { $set: { suspended: false, suspendedAt: null } });
  }
});
