/**
 * Issue 18 item 4: the daily run bills many tenants per database command (`src/billing/chunk.ts`: their locks by one
 * command, their wallets and instances read together, one ordered `insertMany` of their ledger entries, one
 * `bulkWrite` of balances and one of `paidUntil`). Against the real MongoDB-wire test server: the tenants a chunk
 * cannot take go the one-by-one way, two runs at once charge every period once, and a chunk killed with SIGKILL
 * between its writes (`fixtures/billing-crash-host.ts`) is completed by the next run without a double charge.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { Billing } from '../src/billing.js';
import { openApiStore, type ApiStore, type InstanceDoc } from '../src/store.js';
import { withLock } from '../src/user-lock.js';
import { Wallet } from '../src/wallet.js';
import type { BillingHostConfig } from './fixtures/billing-crash-host.js';
import { crashBillingHost } from './fixtures/billing-host.js';
import { RecordingProvider } from './fixtures/recording-provider.js';

const PRICE = 1_000;
const TTL = 2_000;
const NOW = new Date('2027-05-16T00:00:00Z');
const PAID_UNTIL = new Date('2027-05-15T08:00:00Z');
const NEXT = new Date('2027-06-15T08:00:00Z');

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

interface Tenants {
  uri: string;
  store: ApiStore;
  wallet: Wallet;
  dir: string;
  provider: RecordingProvider;
  /** Tenant ids, in order, and each one's instance ids. */
  users: string[];
  instances: Map<string, string[]>;
}

async function open(uri: string): Promise<ApiStore> {
  const store = await openApiStore(uri);
  stores.push(store);
  return store;
}

/**
 * `n` tenants in a database of their own, each with `per` running instances due at {@link NOW} (one period each) and
 * `funds(i)` deposited (none: no wallet yet, an account from before organisations).
 */
async function tenants(n: number, per: number, funds: (i: number) => number): Promise<Tenants> {
  const uri = mongo.dbUri(uniqueDbName('bchunk'));
  const store = await open(uri);
  const wallet = new Wallet(store, { lock: { ttlMs: TTL } });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-bchunk-'));
  dirs.push(dir);
  const provider = new RecordingProvider(dir);
  const users: string[] = [];
  const instances = new Map<string, string[]>();
  const tag = randomUUID().slice(0, 8);
  for (let i = 0; i < n; i++) {
    const userId = `u-${tag}-${String(i).padStart(3, '0')}`;
    users.push(userId);
    await store.users.insertOne({
      _id: userId,
      email: `${userId}@example.com`,
      passwordHash: 'unused',
      createdAt: new Date(),
      balanceMinor: 0,
      ledgerSeq: 0,
    });
    if (funds(i) > 0) await wallet.deposit(userId, funds(i));
    const ids: string[] = [];
    for (let k = 0; k < per; k++) {
      const id = `i-${tag}${String(i).padStart(3, '0')}${k}`;
      const doc: InstanceDoc = {
        _id: id,
        userId,
        name: id,
        engine: 'simulated',
        provider: 'process',
        createdAt: new Date('2027-04-15T08:00:00Z'),
        paidUntil: PAID_UNTIL,
        billingAnchorDay: 15,
        suspended: false,
        suspendedAt: null,
        deletedAt: null,
      };
      await store.instances.insertOne(doc);
      await provider.create({ id, owner: userId, name: id, engine: 'simulated', suspended: false });
      ids.push(id);
    }
    instances.set(userId, ids);
  }
  return { uri, store, wallet, dir, provider, users, instances };
}

function billing(t: Tenants, store: ApiStore, o: { chunkTenants?: number } = {}): Billing {
  return new Billing({
    store,
    wallet: new Wallet(store, { lock: { ttlMs: TTL } }),
    provider: t.provider,
    priceMinor: PRICE,
    logger: pino({ level: 'silent' }),
    lock: { ttlMs: TTL },
    ...o,
  });
}

/** Every tenant's ledger sums to its balance, every key once; @returns the charge keys of all tenants. */
async function moneyAgrees(t: Tenants): Promise<string[]> {
  const keys: string[] = [];
  for (const userId of t.users) {
    const entries = await t.store.ledger.find({ userId }).toArray();
    expect(await t.wallet.balance(userId)).toBe(entries.reduce((sum, e) => sum + e.amountMinor, 0));
    keys.push(...entries.filter((e) => e.type === 'charge').map((e) => e.idempotencyKey));
  }
  expect(new Set(keys).size).toBe(keys.length);
  return keys;
}

const paidUntil = async (t: Tenants, id: string): Promise<Date> => (await t.store.instances.findOne({ _id: id }))!.paidUntil;

test('tenants a chunk cannot take go one by one: a wallet locked elsewhere, no wallet yet, a suspended instance', async () => {
  // 0 plain; 1 its wallet locked by a deposit in progress; 2 pays one period of two; 3 one instance suspended (resumed:
  // that calls the provider); 4 no wallet yet (an account from before organisations, migrated by the charge) and
  // nothing to pay with.
  const t = await tenants(5, 2, (i) => [2 * PRICE, 2 * PRICE, PRICE, 2 * PRICE, 0][i]!);
  const [plain, locked, poor, resumed, legacy] = t.users as [string, string, string, string, string];
  const sleeper = t.instances.get(resumed)![0]!;
  await t.store.instances.updateOne({ _id: sleeper }, { $set: { suspended: true, suspendedAt: PAID_UNTIL } });
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const inside = new Promise<void>((r) => (entered = r));
  const deposit = withLock(
    t.store,
    `user:${locked}`,
    async () => {
      entered();
      await held;
    },
    { ttlMs: TTL },
  );
  await inside;
  const run = billing(t, t.store).run(NOW);
  setTimeout(release, 1_500);
  const s = await run;
  await deposit;
  expect(s).toMatchObject({ due: 10, failed: 0, charged: 2 + 2 + 1 + 1, alreadyCharged: 0, suspended: 1 + 2, resumed: 1, deleted: 0 });
  for (const id of [...t.instances.get(plain)!, ...t.instances.get(locked)!, t.instances.get(resumed)![1]!])
    expect(await paidUntil(t, id)).toEqual(NEXT);
  expect(await t.store.instances.findOne({ _id: sleeper })).toMatchObject({
    suspended: false,
    paidUntil: new Date('2027-06-16T00:00:00Z'),
  });
  expect(await moneyAgrees(t)).toHaveLength(7); // 6 periods and 1 resumption
  for (const userId of [plain, locked, resumed, legacy]) expect(await t.wallet.balance(userId)).toBe(0);
  expect((await t.store.instances.find({ userId: { $in: [poor, legacy] }, suspended: true }).toArray()).length).toBe(3);
}, 60_000);

test('two runs at once over the same chunks: every period charged once, by one of them', async () => {
  const t = await tenants(20, 3, () => 3 * PRICE);
  const other = await open(t.uri);
  const [a, b] = await Promise.all([billing(t, t.store, { chunkTenants: 5 }).run(NOW), billing(t, other, { chunkTenants: 5 }).run(NOW)]);
  expect(a.failed + b.failed).toBe(0);
  expect(a.charged + b.charged).toBe(60);
  // The second to lock a tenant reads it afresh and finds it paid: nothing is charged again, nor reported as such.
  expect(a.alreadyCharged + b.alreadyCharged).toBe(0);
  expect(await moneyAgrees(t)).toHaveLength(60);
  for (const userId of t.users) expect(await t.wallet.balance(userId)).toBe(0);
  expect(await t.store.instances.countDocuments({ paidUntil: NEXT })).toBe(60);
}, 120_000);

test('a run that read its page before another billed it finds the instances paid under the locks: nothing charged again', async () => {
  const t = await tenants(10, 3, () => 3 * PRICE);
  // The late run's chunk waits, after its page read, before taking its locks, until the other run has finished.
  let go!: () => void;
  const first = new Promise<void>((r) => (go = r));
  let waiting!: () => void;
  const stalled = new Promise<void>((r) => (waiting = r));
  const other = await open(t.uri);
  const late: ApiStore = {
    ...other,
    locks: new Proxy(other.locks, {
      get(o, p) {
        const v = Reflect.get(o, p, o) as unknown;
        if (p !== 'insertMany' || typeof v !== 'function') return v;
        return async (...args: unknown[]) => {
          waiting();
          await first;
          return (v as (...a: unknown[]) => Promise<unknown>).apply(o, args);
        };
      },
    }),
  };
  const lateRun = billing(t, late).run(NOW);
  await stalled;
  const s = await billing(t, t.store).run(NOW);
  go();
  const l = await lateRun;
  expect(s).toMatchObject({ due: 30, charged: 30, failed: 0 });
  expect(l).toMatchObject({ due: 30, charged: 0, alreadyCharged: 0, failed: 0 });
  expect(await moneyAgrees(t)).toHaveLength(30);
  expect(await t.store.instances.countDocuments({ paidUntil: NEXT })).toBe(30);
}, 60_000);

describe('kill -9 in the middle of a chunk', () => {
  test.each(['ledger.insertMany:after', 'ledger.insertMany:after#2', 'organisations.bulkWrite:after', 'instances.bulkWrite:after#2'])(
    'killed at %s: the next run charges each period once and advances every instance',
    async (step) => {
      // 20 tenants of 3 instances in one chunk: their 60 entries take two ledger commands (50 at most each).
      const t = await tenants(20, 3, () => 6 * PRICE);
      const config: BillingHostConfig = {
        mongoUri: t.uri,
        providerDir: t.dir,
        priceMinor: PRICE,
        lockTtlMs: TTL,
        action: { kind: 'run', now: NOW.toISOString() },
        killAt: step,
        batchSize: 500,
      };
      await crashBillingHost(config);
      const charged = await t.store.ledger.countDocuments({ type: 'charge' });
      const advanced = await t.store.instances.countDocuments({ paidUntil: NEXT });
      expect(charged).toBeGreaterThan(0); // the kill came after some writes …
      expect(advanced).toBeLessThan(60); // … and before the end
      // The next day's run: the killed run's locks have run out, so its chunk takes the tenants.
      await new Promise((r) => setTimeout(r, TTL + 500));
      const s = await billing(t, t.store).run(NOW);
      expect(s).toMatchObject({ failed: 0, charged: 60 - charged, alreadyCharged: charged - advanced, suspended: 0 });
      // The run itself brought every wallet up to its ledger (not left to the next reader's roll-forward).
      for (const org of await t.store.organisations.find({ _id: { $in: t.users } }).toArray())
        expect(org).toMatchObject({ balanceMinor: 3 * PRICE, ledgerSeq: 1 + 3 });
      expect(await moneyAgrees(t)).toHaveLength(60);
      for (const userId of t.users) expect(await t.wallet.balance(userId)).toBe(3 * PRICE);
      expect(await t.store.instances.countDocuments({ paidUntil: NEXT })).toBe(60);
    },
    90_000,
  );
});
