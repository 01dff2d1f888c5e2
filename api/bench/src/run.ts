/**
 * Benchmarks: `npm run bench -w api -- billing [--instances N] [--json]`. Compiled by `bench/tsconfig.json` against the
 * built api (`dist/`), so benchmark code is neither in `src/` nor in the api image.
 *
 * `billing` — one `Billing.run(now)` over N due instances (default 1 000; `paidUntil` one day in the past, so exactly
 * one period is due each) spread over N/10 users, every user funded for all its charges. It runs on a MongoDB-wire
 * server started by testenv's `startMongo()` (mongod, FerretDB or `MONGODB_URI`). Afterwards it checks that the ledger
 * holds N charges and that every instance's `paidUntil` advanced.
 * Baseline on the same server, each on a fresh database holding the same N instance documents: the raw writes that
 * advance `paidUntil` — `bulkWrite` of `updateOne`s in chunks of 50 (FerretDB v1 hangs on update commands of ≥ 100
 * statements) and one `updateMany`. Ratio = billing run / bulkWrite baseline.
 *
 * The default is 1 000, not 10 000: on FerretDB v1 (SQLite) every statement's cost grows with the collection size, so
 * the run is superlinear — 500 instances took 14 s, 2 000 took 209 s, 10 000 would take far beyond 4 minutes.
 *
 * The provider is never called when every user can pay (no suspension, resumption or deletion): the benchmark passes
 * one whose every method throws `not expected in this benchmark`, so a call would show up as a failed instance.
 */
import { parseArgs } from 'node:util';
import { startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import pino from 'pino';
import { Billing } from '../../dist/billing.js';
import { periodEnd } from '../../dist/periods.js';
import type { InstanceProvider } from '../../dist/providers/index.js';
import { openApiStore, type ApiStore, type InstanceDoc, type UserDoc } from '../../dist/store.js';
import { Wallet } from '../../dist/wallet.js';

const PRICE_MINOR = 1500;
const INSTANCES_PER_USER = 10;
/** Statements per write command: FerretDB v1 hangs on update commands of ≥ 100 statements. */
const CHUNK = 50;

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
  const baselineBulkWriteMs = await baseline(async (s) => {
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
    [`baseline bulkWrite (${CHUNK}/cmd) ms`, f(r.baselineBulkWriteMs)],
    ['baseline updateMany ms', f(r.baselineUpdateManyMs)],
    ['ratio billing / bulkWrite', f(r.ratio, 2)],
    ['ratio billing / updateMany', f(r.ratioUpdateMany, 2)],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v.padStart(10)}`);
  const c = r.check;
  console.log(
    `check: ledger charges ${c.charges}/${r.instances}, paidUntil advanced ${c.advanced}/${r.instances}, failed ${c.failed} → ${c.ok ? 'OK' : 'FAILED'}`,
  );
}

async function main(): Promise<void> {
  if (process.argv[2] === 'inbox') return (await import('./inbox.js')).main(process.argv.slice(3)); // inbox.ts: live socket delays
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { instances: { type: 'string', default: '1000' }, json: { type: 'boolean', default: false } },
  });
  const which = positionals[0] ?? 'billing';
  if (which !== 'billing') throw new Error(`unknown benchmark "${which}" (known: billing)`);
  const n = Number(values.instances);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error('--instances must be a positive integer');

  const server = await startMongo();
  try {
    console.log(`billing benchmark: ${n} instances on ${server.kind} …`);
    const r = await benchBilling(server, n);
    printTable(r);
    if (values.json) console.log(JSON.stringify(r));
    if (!r.check.ok) process.exitCode = 1;
  } finally {
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
