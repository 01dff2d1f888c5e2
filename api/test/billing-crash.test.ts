/**
 * Issue #12 item 8, billing crash safety, against the real MongoDB-wire test server. A billing run, a deposit's
 * resumption and an instance creation run in a child process (`fixtures/billing-crash-host.ts`) that dies with a real
 * SIGKILL at a chosen step, or freezes there (SIGSTOP); the runtime is a file-backed recording provider that both
 * processes see. Afterwards the next billing run (in this process) must leave money and state in agreement: the
 * ledger sums to the balance, each charge key once, the instance's record matches what was paid, the runtime matches
 * the record, no charge in flight is left — and nobody is charged twice.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { countProcesses, eventually, startMongo, uniqueDbName, type ManagedProcess, type MongoServer } from '@wacloud/testenv';
import { startSimnet, type RunningSimnet } from '../../instance/test/harness.js';
import { Billing } from '../src/billing.js';
import type { AppError } from '../src/errors.js';
import { InstanceClient } from '../src/instance-client.js';
import { InstanceService } from '../src/instances.js';
import { ProcessProvider } from '../src/providers/process/provider.js';
import { openApiStore, type ApiStore, type InstanceDoc, type LedgerDoc } from '../src/store.js';
import { withLock } from '../src/user-lock.js';
import { Wallet } from '../src/wallet.js';
import type { BillingHostConfig } from './fixtures/billing-crash-host.js';
import { crashBillingHost, startBillingHost } from './fixtures/billing-host.js';
import { startApiProcess } from './harness.js';
import { RecordingProvider, type RuntimeState } from './fixtures/recording-provider.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PRICE = 1_000;
/** Lock lifetime in the tests, ms: a killed holder's lock blocks the next run this long at most. */
const TTL = 2_000;

let mongo: MongoServer;
const stores: ApiStore[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  mongo = await startMongo();
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(stores.map((s) => s.close()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await mongo?.stop();
});

interface World {
  uri: string;
  store: ApiStore;
  wallet: Wallet;
  userId: string;
  dir: string;
  provider: RecordingProvider;
  billing: Billing;
}

/** A tenant with `deposit` minor units in its own database, its own runtime directory and a billing job on them. */
async function world(deposit: number): Promise<World> {
  const uri = mongo.dbUri(uniqueDbName('bcrash'));
  const store = await openApiStore(uri);
  stores.push(store);
  const wallet = new Wallet(store, { lock: { ttlMs: TTL } });
  const userId = `u-${randomUUID()}`;
  await store.users.insertOne({
    _id: userId,
    email: `${userId}@example.com`,
    passwordHash: 'unused',
    createdAt: new Date(),
    balanceMinor: 0,
    ledgerSeq: 0,
  });
  if (deposit > 0) await wallet.deposit(userId, deposit);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-bcrash-'));
  dirs.push(dir);
  const provider = new RecordingProvider(dir);
  const billing = new Billing({ store, wallet, provider, priceMinor: PRICE, logger: pino({ level: 'silent' }), lock: { ttlMs: TTL } });
  return { uri, store, wallet, userId, dir, provider, billing };
}

/** Records an instance of `w`'s tenant and makes its runtime `runtime`. */
async function instance(w: World, fields: Partial<InstanceDoc>, runtime: RuntimeState): Promise<string> {
  const id = `i-${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const doc: InstanceDoc = {
    _id: id,
    userId: w.userId,
    name: id,
    engine: 'simulated',
    provider: 'process',
    createdAt: new Date('2027-01-01T00:00:00Z'),
    paidUntil: new Date('2027-02-01T00:00:00Z'),
    billingAnchorDay: 1,
    suspended: false,
    suspendedAt: null,
    deletedAt: null,
    ...fields,
  };
  await w.store.instances.insertOne(doc);
  await w.provider.create({ id, owner: w.userId, name: id, engine: 'simulated', suspended: runtime === 'suspended' });
  return id;
}

function host(w: World, action: BillingHostConfig['action'], o: Partial<BillingHostConfig>): ManagedProcess {
  return startBillingHost(hostConfig(w, action, o));
}

function hostConfig(w: World, action: BillingHostConfig['action'], o: Partial<BillingHostConfig>): BillingHostConfig {
  return { mongoUri: w.uri, providerDir: w.dir, priceMinor: PRICE, lockTtlMs: TTL, action, ...o };
}

/** Runs `action` in a child that is killed with SIGKILL at `killAt`; fails if it never got there. */
async function crashAt(w: World, action: BillingHostConfig['action'], killAt: string): Promise<void> {
  await crashBillingHost(hostConfig(w, action, { killAt }));
}

const ledger = (w: World): Promise<LedgerDoc[]> => w.store.ledger.find({ userId: w.userId }).sort({ seq: 1 }).toArray();
const doc = async (w: World, id: string): Promise<InstanceDoc> => (await w.store.instances.findOne({ _id: id }))!;

/** Money agrees with itself: the ledger sums to the balance, every key once, nothing left in flight. */
async function moneyAgrees(w: World): Promise<LedgerDoc[]> {
  const entries = await ledger(w);
  expect(await w.wallet.balance(w.userId)).toBe(entries.reduce((sum, e) => sum + e.amountMinor, 0));
  expect(new Set(entries.map((e) => e.idempotencyKey)).size).toBe(entries.length);
  expect(await w.store.connection.db!.collection('billingIntents').countDocuments({})).toBe(0);
  return entries;
}

/** The one resumption charge of `id`; its record is active until that charge's period end and it runs. */
async function resumedOnce(w: World, id: string): Promise<void> {
  const entries = await moneyAgrees(w);
  const charges = entries.filter((e) => e.idempotencyKey.startsWith(`charge:${id}:resume:`));
  expect(charges).toHaveLength(1);
  const d = await doc(w, id);
  expect(d).toMatchObject({ suspended: false, suspendedAt: null, deletedAt: null, paidUntil: charges[0]!.period!.end });
  expect(w.provider.state(id)).toBe('running');
  expect(await w.wallet.balance(w.userId)).toBe(0);
}

describe('provider failures', () => {
  test('a suspension whose provider call fails is applied by the next run', async () => {
    const w = await world(0);
    const id = await instance(w, { paidUntil: new Date('2027-05-01T00:00:00Z') }, 'running');
    w.provider.down.add('suspend');
    const first = await w.billing.run(new Date('2027-05-01T06:00:00Z'));
    expect(first.failed).toBeGreaterThanOrEqual(1);
    expect((await doc(w, id)).suspended).toBe(true);
    expect(w.provider.state(id)).toBe('running'); // the runtime was down all run long
    w.provider.down.clear();
    const next = await w.billing.run(new Date('2027-05-02T00:00:00Z'));
    expect(next.failed).toBe(0);
    expect(w.provider.state(id)).toBe('suspended');
    expect((await doc(w, id)).suspended).toBe(true);
    expect(await ledger(w)).toEqual([]);
  });

  test('a paid resumption whose provider call fails is completed by the next run with the period it paid', async () => {
    const w = await world(0);
    const suspendedAt = new Date('2027-03-01T00:00:00Z');
    const id = await instance(w, { paidUntil: suspendedAt, suspended: true, suspendedAt }, 'suspended');
    await w.wallet.deposit(w.userId, PRICE);
    w.provider.down.add('resume');
    await expect(w.billing.resumeSuspended(w.userId, new Date('2027-03-05T12:00:00Z'))).rejects.toThrow(/down/);
    expect(w.provider.state(id)).toBe('suspended');
    w.provider.down.clear();
    const next = await w.billing.run(new Date('2027-03-06T00:00:00Z'));
    expect(next.failed).toBe(0);
    await resumedOnce(w, id);
  });
});

describe('kill -9 during a billing run', () => {
  test('after the suspension is recorded, before the provider call: the next run suspends the runtime', async () => {
    const w = await world(0);
    const id = await instance(w, { paidUntil: new Date('2027-05-01T00:00:00Z') }, 'running');
    await crashAt(w, { kind: 'run', now: '2027-05-01T06:00:00Z' }, 'provider.suspend:before');
    expect((await doc(w, id)).suspended).toBe(true);
    expect(w.provider.state(id)).toBe('running');
    expect((await w.billing.run(new Date('2027-05-02T00:00:00Z'))).failed).toBe(0);
    expect(w.provider.state(id)).toBe('suspended');
    expect((await doc(w, id)).suspended).toBe(true);
    expect(await moneyAgrees(w)).toEqual([]);
  }, 30_000);

  test('a deletion killed after the runtime was removed: a deposit does not resume it, the next run finishes it', async () => {
    const w = await world(0);
    const suspendedAt = new Date('2027-03-01T00:00:00Z');
    const id = await instance(w, { paidUntil: suspendedAt, suspended: true, suspendedAt }, 'suspended');
    await crashAt(w, { kind: 'run', now: '2027-04-02T00:00:00Z' }, 'provider.delete:after');
    expect(w.provider.state(id)).toBeUndefined();
    await w.wallet.deposit(w.userId, PRICE);
    expect(await w.billing.resumeSuspended(w.userId, new Date('2027-04-02T06:00:00Z'))).toEqual([]);
    expect((await w.billing.run(new Date('2027-04-03T00:00:00Z'))).failed).toBe(0);
    expect((await doc(w, id)).deletedAt).toEqual(expect.any(Date));
    expect((await moneyAgrees(w)).filter((e) => e.type === 'charge')).toEqual([]);
    expect(await w.wallet.balance(w.userId)).toBe(PRICE);
  }, 30_000);

  test.each(['ledger.insertMany:after', 'organisations.bulkWrite:after', 'wallet.chargeAccounts:after', 'instances.bulkWrite:after'])(
    'a period charge, killed at %s: the next run charges it once and moves paidUntil',
    async (step) => {
      const w = await world(2 * PRICE);
      const id = await instance(w, { paidUntil: new Date('2027-05-15T08:00:00Z'), billingAnchorDay: 15 }, 'running');
      await crashAt(w, { kind: 'run', now: '2027-05-16T00:00:00Z' }, step);
      expect((await w.billing.run(new Date('2027-05-16T00:00:00Z'))).failed).toBe(0);
      const charges = (await moneyAgrees(w)).filter((e) => e.type === 'charge');
      expect(charges.map((e) => e.idempotencyKey)).toEqual([`charge:${id}:2027-05-15T08:00:00.000Z`]);
      expect((await doc(w, id)).paidUntil).toEqual(new Date('2027-06-15T08:00:00Z'));
      expect(await w.wallet.balance(w.userId)).toBe(PRICE);
      expect(w.provider.state(id)).toBe('running');
    },
    30_000,
  );
});

describe('kill -9 during a resumption after a deposit', () => {
  test.each(['billingIntents.insertOne:after', 'wallet.apply:after', 'provider.resume:after', 'instances.updateOne:after'])(
    'killed at %s: the next run leaves it resumed once, paid until the end of the period charged',
    async (step) => {
      const w = await world(0);
      const suspendedAt = new Date('2027-03-01T00:00:00Z');
      const id = await instance(w, { paidUntil: suspendedAt, suspended: true, suspendedAt }, 'suspended');
      await w.wallet.deposit(w.userId, PRICE);
      await crashAt(w, { kind: 'resume', userId: w.userId, now: '2027-03-05T12:00:00Z' }, step);
      expect((await w.billing.run(new Date('2027-03-06T00:00:00Z'))).failed).toBe(0);
      await resumedOnce(w, id);
    },
    30_000,
  );
});

describe('kill -9 during an instance creation', () => {
  test.each([
    ['billingIntents.insertOne:after', 'nothing'],
    ['wallet.chargePeriod:after', 'refunded'],
    ['instances.insertOne:after', 'provisioned'],
    ['provider.create:after', 'provisioned'],
  ] as const)(
    'killed at %s: the next run leaves it %s',
    async (step, outcome) => {
      const w = await world(PRICE);
      await crashAt(w, { kind: 'create', userId: w.userId, name: 'crashy' }, step);
      expect((await w.billing.run(new Date())).failed).toBe(0);
      const entries = await moneyAgrees(w);
      const charges = entries.filter((e) => e.type === 'charge');
      const refunds = entries.filter((e) => e.type === 'refund');
      const live = await w.store.instances.find({ userId: w.userId, deletedAt: null }).toArray();
      if (outcome === 'provisioned') {
        expect(live).toHaveLength(1);
        expect(charges.map((e) => e.idempotencyKey)).toEqual([`charge:${live[0]!._id}:${live[0]!.createdAt.toISOString()}`]);
        expect(refunds).toEqual([]);
        expect(w.provider.state(live[0]!._id)).toBe('running');
        expect(await w.wallet.balance(w.userId)).toBe(0);
      } else {
        expect(live).toEqual([]);
        expect(charges).toHaveLength(outcome === 'refunded' ? 1 : 0);
        expect(refunds).toHaveLength(charges.length);
        if (charges[0]) expect(refunds[0]!.instanceId).toBe(charges[0].instanceId);
        expect(await w.wallet.balance(w.userId)).toBe(PRICE);
      }
    },
    30_000,
  );
});

describe('the billing lock', () => {
  test('a holder slower than the lock lifetime keeps it: a contender waits until it leaves', async () => {
    const w = await world(0);
    const key = `billing:${w.userId}`;
    const holder = host(w, { kind: 'hold', key, holdMs: 3 * TTL }, {});
    await holder.waitForOutput(/entered/);
    let seenInside = '';
    await withLock(w.store, key, async () => void (seenInside = holder.output()), { ttlMs: TTL, waitMs: 30_000 });
    expect(seenInside).toContain('leaving');
    await holder.exited;
  }, 30_000);

  test('a holder frozen past its lock (SIGSTOP) does not write over its successor: the paid instance is not deleted', async () => {
    const w = await world(0);
    const suspendedAt = new Date('2027-03-01T00:00:00Z');
    const id = await instance(w, { paidUntil: suspendedAt, suspended: true, suspendedAt }, 'suspended');
    const resumeFile = path.join(w.dir, 'go');
    // The run finds the balance short one full period after the suspension: it is about to delete the instance.
    const stale = host(w, { kind: 'run', now: '2027-04-02T00:00:00Z' }, { pauseAt: 'wallet.apply:after', resumeFile });
    await stale.waitForOutput(/paused at/);
    process.kill(stale.pid, 'SIGSTOP');
    try {
      // Meanwhile the tenant pays, and the deposit resumes the instance (once the frozen run's lock has run out).
      await w.wallet.deposit(w.userId, PRICE);
      expect(await w.billing.resumeSuspended(w.userId, new Date('2027-04-02T06:00:00Z'))).toEqual([id]);
    } finally {
      writeFileSync(resumeFile, '');
      process.kill(stale.pid, 'SIGCONT');
    }
    await stale.exited;
    const summary = JSON.parse(stale.output().match(/^done (.*)$/m)![1]!);
    expect(summary).toMatchObject({
      deleted: 0,
      failed: 1,
      errors: [{ instanceId: id, error: expect.stringMatching(/another one took over/) }],
    });
    await resumedOnce(w, id);
  }, 60_000);
});

describe('an instance its tenant stopped', () => {
  test('is charged like a running one and stays stopped; a suspension and a paid resumption leave it stopped', async () => {
    const w = await world(PRICE);
    const stoppedAt = new Date('2027-04-20T00:00:00Z');
    const id = await instance(w, { paidUntil: new Date('2027-05-01T00:00:00Z'), stopped: true, stoppedAt }, 'suspended');
    expect((await w.billing.run(new Date('2027-05-01T06:00:00Z'))).charged).toBe(1);
    expect(await doc(w, id)).toMatchObject({ stopped: true, suspended: false, paidUntil: new Date('2027-06-01T00:00:00Z') });
    expect(w.provider.state(id)).toBe('suspended');
    // Unpaid: billing suspends it; a deposit resumes it for billing, and its runtime stays stopped.
    expect((await w.billing.run(new Date('2027-06-01T06:00:00Z'))).suspended).toBe(1);
    await w.wallet.deposit(w.userId, PRICE);
    expect(await w.billing.resumeSuspended(w.userId, new Date('2027-06-02T00:00:00Z'))).toEqual([id]);
    expect(await doc(w, id)).toMatchObject({ stopped: true, suspended: false });
    expect(w.provider.state(id)).toBe('suspended');
    expect(w.provider.calls.filter((c) => c.startsWith('resume'))).toEqual([]);
    expect((await moneyAgrees(w)).filter((e) => e.type === 'charge')).toHaveLength(2);
  }, 30_000);

  test('a stop whose provider call was lost (the runtime still runs) is applied again by the next run', async () => {
    const w = await world(0);
    const id = await instance(w, { paidUntil: new Date('2027-09-01T00:00:00Z'), stopped: true, stoppedAt: new Date() }, 'running');
    expect((await w.billing.run(new Date('2027-05-02T00:00:00Z'))).reapplied).toBe(1);
    expect(w.provider.state(id)).toBe('suspended');
  }, 30_000);
});

describe('kill -9 during a tenant deleting an instance', () => {
  /** An instance of `w`'s tenant due on 2027-05-01, whose deletion by its tenant was killed after the runtime went. */
  async function halfDeleted(w: World): Promise<string> {
    const id = await instance(w, { paidUntil: new Date('2027-05-01T00:00:00Z') }, 'running');
    await crashAt(w, { kind: 'delete', userId: w.userId, instanceId: id }, 'provider.delete:after');
    expect(w.provider.state(id)).toBeUndefined();
    expect(await doc(w, id)).toMatchObject({ deletingAt: expect.any(Date), deletedAt: null });
    return id;
  }

  test('killed after the runtime was removed: hidden from its tenant, the next run finishes it and charges nothing', async () => {
    const w = await world(2 * PRICE);
    const id = await halfDeleted(w);
    const client = new InstanceClient(pino({ level: 'silent' }), {
      collection: w.store.connection.db!.collection('gateway_credentials'),
      secret: 'x'.repeat(32),
    });
    const instances = new InstanceService(w.store, w.wallet, w.provider, client, {
      priceMinor: PRICE,
      engine: 'simulated',
      logger: pino({ level: 'silent' }),
      lock: { ttlMs: TTL },
    });
    expect(await instances.list(w.userId)).toEqual([]);
    await expect(instances.get(w.userId, id)).rejects.toMatchObject({ code: 'instance_not_found' } satisfies Partial<AppError>);
    expect(await instances.desired()).toEqual([]);
    const summary = await w.billing.run(new Date('2027-05-02T00:00:00Z'));
    expect(summary).toMatchObject({ failed: 0, charged: 0, deleted: 1 });
    expect((await doc(w, id)).deletedAt).toEqual(expect.any(Date));
    expect((await moneyAgrees(w)).filter((e) => e.type === 'charge')).toEqual([]);
    expect(await w.wallet.balance(w.userId)).toBe(2 * PRICE);
    expect((await w.billing.run(new Date('2027-06-02T00:00:00Z'))).charged).toBe(0);
  }, 30_000);

  test('killed after the runtime was removed: recovery at start finishes it', async () => {
    const w = await world(0);
    const id = await halfDeleted(w);
    expect(await w.billing.recover()).toEqual({ recovered: 0, deleted: 1, failed: 0 });
    expect((await doc(w, id)).deletedAt).toEqual(expect.any(Date));
    expect(w.provider.calls.filter((c) => c === `delete ${id}`)).toHaveLength(1);
  }, 30_000);
});

describe('recovery when the api starts', () => {
  let simnet: RunningSimnet;
  beforeAll(async () => {
    simnet = await startSimnet();
  }, 30_000);
  afterAll(async () => {
    await simnet?.stop();
  });

  test.each([
    ['instances.insertOne:after', 'provisioned'],
    ['wallet.chargePeriod:after', 'refunded'],
  ] as const)(
    'a creation killed at %s is settled by the next api start, without a billing run: %s',
    async (step, outcome) => {
      const w = await world(PRICE);
      await crashAt(w, { kind: 'create', userId: w.userId, name: 'crashy' }, step);
      expect(await w.store.billingIntents.countDocuments({})).toBe(1);
      const api = await startApiProcess({
        mongo,
        db: new URL(w.uri).pathname.slice(1),
        simnetUrl: simnet.url,
        env: { BILLING_CRON: 'false', PRICE_MONTHLY_MINOR: String(PRICE) },
      });
      try {
        await eventually(async () => (await w.store.billingIntents.countDocuments({})) === 0, 30_000);
        const entries = await moneyAgrees(w);
        const live = await w.store.instances.find({ userId: w.userId, deletedAt: null }).toArray();
        if (outcome === 'provisioned') {
          expect(live).toHaveLength(1);
          expect(entries.filter((e) => e.type === 'charge')).toHaveLength(1);
          await eventually(() => countProcesses(new RegExp(`--instance-id=${live[0]!._id}\\b`)) === 1, 30_000);
          expect(await w.wallet.balance(w.userId)).toBe(0);
        } else {
          expect(live).toEqual([]);
          expect(entries.filter((e) => e.type === 'refund')).toHaveLength(1);
          expect(await w.wallet.balance(w.userId)).toBe(PRICE);
        }
      } finally {
        await api.stop();
        // Instance processes outlive the api by design: stop the one it started.
        const cleanup = new ProcessProvider({
          instanceMain: path.join(here, '..', '..', 'instance', 'dist', 'main.js'),
          dataRoot: api.dataRoot,
          mongoUri: mongo.uri,
          logger: pino({ level: 'silent' }),
        });
        await cleanup.reconcile([]);
        await cleanup.close();
      }
    },
    90_000,
  );
});
