/**
 * `billing` — one `Billing.run(now)` over N due instances (default 10 000: `run.ts`; `paidUntil` one day in the past,
 * so exactly one period is due each) spread over N/10 users, every user funded for all its charges. It runs on a
 * MongoDB-wire server started by testenv's `startMongo()` (mongod, FerretDB or `MONGODB_URI`). Afterwards it checks
 * that the ledger holds N charges and that every instance's `paidUntil` advanced.
 * Baseline on the same server, each on a fresh database holding the same N instance documents: the raw writes of the
 * same ledger and instance documents — `insertMany` of the N ledger entries and `bulkWrite` of the `updateOne`s that
 * advance `paidUntil`, in chunks of 20, one command at a time; and, for information, one `updateMany` of the
 * instances alone. Ratio = billing run / bulk-write baseline (goal ≤ 2). The run bills tenants in chunks
 * (`src/billing/chunk.ts`); on a machine shared with other work the two timings run a few seconds apart, so compare
 * ratios of repeated runs.
 *
 * The provider is never called when every user can pay (no suspension, resumption or deletion): the benchmark passes
 * one whose every method throws `not expected in this benchmark`, so a call would show up as a failed instance.
 */
import { benchRow, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import pino from 'pino';
import { Billing } from '../../dist/billing.js';
import { periodEnd } from '../../dist/periods.js';
import type { InstanceProvider } from '../../dist/providers/index.js';
import { openApiStore, type ApiStore, type InstanceDoc, type LedgerDoc, type UserDoc } from '../../dist/store.js';
import { Wallet, periodChargeKey } from '../../dist/wallet.js';

const PRICE_MINOR = 1500;
const INSTANCES_PER_USER = 10;
/** Statements per write command: FerretDB v1 on PostgreSQL never answers update commands of 50 matching statements. */
const CHUNK = 20;

function notExpected(): never {
  throw new Error('not expected in this benchmark');
}

/** Every method throws: with all users funded, billing only charges and never calls the provider. */
const throwingProvider: InstanceProvider = {
  kind: 'process',
  create: () => notExpected(),
  suspend: () => notExpected(),
  resume: () => notExpected(),
  restart: () => notExpected(),
  delete: () => notExpected(),
  status: () => notExpected(),
  endpoints: () => notExpected(),
  reconcile: () => notExpected(),
  close: () => notExpected(),
};

function instanceDocs(n: number, now: Date): InstanceDoc[] {
  const paidUntil = new Date(now.getTime() - 24 * 3600_000);
  const createdAt = new Date(paidUntil.getTime() - 31 * 24 * 3600_000);
  return Array.from({ length: n }, (_, i) => ({
    _id: `i-bench${String(i).padStart(7, '0')}`,
    userId: `u-bench${String(Math.floor(i / INSTANCES_PER_USER)).padStart(6, '0')}`,
    name: `bench ${i}`,
    engine: 'simulated' as const,
    provider: 'process' as const,
    createdAt,
    paidUntil,
    billingAnchorDay: paidUntil.getUTCDate(),
    suspended: false,
    suspendedAt: null,
    deletedAt: null,
  }));
}

async function insertChunked<T extends { _id: string }>(coll: { insertMany(docs: T[]): Promise<unknown> }, docs: T[]): Promise<void> {
  for (let i = 0; i < docs.length; i += CHUNK) await coll.insertMany(docs.slice(i, i + CHUNK));
}

async function seed(store: ApiStore, docs: InstanceDoc[], withUsers: boolean): Promise<void> {
  await insertChunked(store.instances, docs);
  if (!withUsers) return;
  const counts = new Map<string, number>();
  for (const d of docs) counts.set(d.userId, (counts.get(d.userId) ?? 0) + 1);
  const users: UserDoc[] = [...counts.keys()].map((id) => ({
    _id: id,
    email: `${id}@bench.invalid`,
    passwordHash: 'x',
    createdAt: new Date(),
    orgId: id,
  }));
  await insertChunked(store.users, users);
  // The wallet is the organisation's (an account's own has the account's id).
  await insertChunked(
    store.organisations,
    [...counts].map(([id, count]) => ({ _id: id, name: id, createdAt: new Date(), balanceMinor: count * PRICE_MINOR, ledgerSeq: 0 })),
  );
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

interface BillingResult {
  bench: 'billing';
  server: string;
  instances: number;
  users: number;
  billingMs: number;
  perInstanceMs: number;
  baselineBulkWriteMs: number;
  baselineUpdateManyMs: number;
  ratio: number;
  ratioUpdateMany: number;
  check: { charges: number; advanced: number; failed: number; ok: boolean };
}

async function benchBilling(server: MongoServer, n: number): Promise<BillingResult> {
  const now = new Date();
  const docs = instanceDocs(n, now);
  const expectedUntil = periodEnd(docs[0]!.paidUntil, docs[0]!.billingAnchorDay);

  // Billing run.
  const store = await openApiStore(server.dbUri(uniqueDbName('bench')));
  let billingMs: number;
  let check: BillingResult['check'];
  try {
    await seed(store, docs, true);
    const billing = new Billing({
      store,
      wallet: new Wallet(store),
      provider: throwingProvider,
      priceMinor: PRICE_MINOR,
      logger: pino({ level: 'silent' }),
    });
    let failed = 0;
    billingMs = await timed(async () => {
      const s = await billing.run(now);
      failed = s.failed;
      if (s.errors.length) console.error('billing errors (first 3):', s.errors.slice(0, 3));
    });
    const charges = await store.ledger.countDocuments({ type: 'charge' });
    const advanced = await store.instances.countDocuments({ paidUntil: expectedUntil });
    check = { charges, advanced, failed, ok: charges === n && advanced === n && failed === 0 };
  } finally {
    await store.connection.dropDatabase().catch(() => undefined);
    await store.close();
  }

  // Baselines: raw writes advancing paidUntil, each on a fresh database with the same instance documents.
  const baseline = async (write: (s: ApiStore) => Promise<void>): Promise<number> => {
    const s = await openApiStore(server.dbUri(uniqueDbName('base')));
    try {
      await seed(s, docs, false);
      const ms = await timed(() => write(s));
      const advanced = await s.instances.countDocuments({ paidUntil: expectedUntil });
      if (advanced !== n) throw new Error(`baseline advanced ${advanced} of ${n}`);
      return ms;
    } finally {
      await s.connection.dropDatabase().catch(() => undefined);
      await s.close();
    }
  };
  // The same ledger entries billing appends (one charge per instance, sequenced per organisation).
  const seqs = new Map<string, number>();
  const ledgerDocs: LedgerDoc[] = docs.map((d) => {
    const seq = (seqs.get(d.userId) ?? 0) + 1;
    seqs.set(d.userId, seq);
    const period = { start: d.paidUntil, end: periodEnd(d.paidUntil, d.billingAnchorDay) };
    return {
      _id: `${d.userId}:${seq}`,
      userId: d.userId,
      seq,
      type: 'charge',
      amountMinor: -PRICE_MINOR,
      balanceAfterMinor: (INSTANCES_PER_USER - seq) * PRICE_MINOR,
      idempotencyKey: periodChargeKey(d._id, period.start),
      instanceId: d._id,
      period,
      memo: `Instance ${d._id}`,
      createdAt: now,
    };
  });
  const baselineBulkWriteMs = await baseline(async (s) => {
    await insertChunked(s.ledger, ledgerDocs);
    for (let i = 0; i < docs.length; i += CHUNK) {
      await s.instances.bulkWrite(
        docs.slice(i, i + CHUNK).map((d) => ({
          updateOne: { filter: { _id: d._id }, update: { $set: { paidUntil: periodEnd(d.paidUntil, d.billingAnchorDay) } } },
        })),
      );
    }
  });
  const baselineUpdateManyMs = await baseline(async (s) => {
    await s.instances.updateMany({ deletedAt: null, paidUntil: { $lte: now } }, { $set: { paidUntil: expectedUntil } });
  });

  return {
    bench: 'billing',
    server: server.kind,
    instances: n,
    users: Math.ceil(n / INSTANCES_PER_USER),
    billingMs,
    perInstanceMs: billingMs / n,
    baselineBulkWriteMs,
    baselineUpdateManyMs,
    ratio: billingMs / baselineBulkWriteMs,
    ratioUpdateMany: billingMs / baselineUpdateManyMs,
    check,
  };
}

function printTable(r: BillingResult): void {
  const f = (x: number, d = 1): string => x.toFixed(d);
  const rows: Array<[string, string]> = [
    ['server', r.server],
    ['instances', String(r.instances)],
    ['users', String(r.users)],
    ['billing run ms', f(r.billingMs)],
    ['per-instance ms', f(r.perInstanceMs, 3)],
    [`baseline ledger insertMany + instances bulkWrite (${CHUNK}/cmd) ms`, f(r.baselineBulkWriteMs)],
    ['baseline instances updateMany ms', f(r.baselineUpdateManyMs)],
    ['ratio billing / bulk writes', f(r.ratio, 2)],
    ['ratio billing / updateMany', f(r.ratioUpdateMany, 2)],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v.padStart(10)}`);
  const c = r.check;
  console.log(
    `check: ledger charges ${c.charges}/${r.instances}, paidUntil advanced ${c.advanced}/${r.instances}, failed ${c.failed} → ${c.ok ? 'OK' : 'FAILED'}`,
  );
}

/** Runs the billing benchmark over `n` due instances on a MongoDB-wire server of its own; records its row. */
export async function runBillingBench(n: number, json: boolean): Promise<void> {
  const server = await startMongo();
  try {
    console.log(`billing benchmark: ${n} instances on ${server.kind} …`);
    const r = await benchBilling(server, n);
    printTable(r);
    if (json) console.log(JSON.stringify(r));
    benchRow({
      component: 'api',
      figure: `billing run over ${n} due instances / raw bulk write of its ledger and instance documents`,
      value: r.ratio,
      ...(r.check.ok ? {} : { met: false }),
      unit: '×',
      goal: '≤ 2',
      reproduce: `npm run bench -w api -- billing --instances ${n}`,
      note: `billing ${(r.billingMs / 1000).toFixed(1)} s, raw ${(r.baselineBulkWriteMs / 1000).toFixed(1)} s on ${r.server}${r.check.ok ? '' : `; CHECK FAILED: ${r.check.failed} instances failed (not charged or not advanced), so the run did less than the baseline`}`,
    });
    if (!r.check.ok) throw new Error('billing check failed');
  } finally {
    await server.stop();
  }
}
