/**
 * `npm run bench -w api -- contacts [--rows N] [--json]` (issue 16). On a MongoDB-wire server started by testenv's
 * `startMongo()` (mongod, FerretDB or `MONGODB_URI`), with the api in this process (`startApi`, real HTTP; a provider
 * that is never called):
 *
 * 1. Import: N rows (default 100 000) of a CSV, half of them the phones of contacts synced from WhatsApp before (N/2
 *    contacts seeded with an identity each, not timed), half new; each row a name, a phone, an external id and a tag.
 *    Timed: the upload (multipart), the preview and the commit through HTTP. Import = upload + commit (what the
 *    commit needs; the preview, optional, is reported beside it). Baseline: a raw `insertMany` (batches of 1 000) of
 *    the resulting contact documents — read back after the import — into an empty collection of a fresh database on
 *    the same server. Ratio = import / insertMany (target ≤ 3).
 *    Floor (informative, in the row's note): in another fresh database seeded with the same N/2 synced contacts, what
 *    any commit must do at least on this server, through the driver alone — read the book once, insertMany the new
 *    contacts and their keys, and one update statement per matched contact (`$set` of the fields the import changes,
 *    the commit's statement shape, command size, read ranges and write concurrency) — against the same baseline.
 * 2. Search at N contacts: `GET /v1/contacts?phone=<prefix>` and `?tag=<id>` (limit 50), p50 over the runs, against
 *    the same query through the driver alone (the filter, sort and limit the route uses). Ratio = HTTP p50 / driver p50
 *    (target ≤ 2).
 */
import os from 'node:os';
import { benchRow, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import mongoose from 'mongoose';
import pino from 'pino';
import { loadConfig } from '../../dist/config.js';
import { phonePrefixMatch } from '../../dist/contacts/normalise.js';
import { applyPatch, emptyContact, keysOf, setOf, type MutableField } from '../../dist/contacts/patch.js';
import { BOOK_RANGES } from '../../dist/contacts/imports.js';
import type { ContactDoc } from '../../dist/contacts/store.js';
import type { InstanceProvider } from '../../dist/providers/index.js';
import { startApi } from '../../dist/service.js';

const refuse = () => Promise.reject(new Error('not expected in this benchmark'));
/** No instance exists in this benchmark: every provider call but close is refused. */
const idleProvider: InstanceProvider = {
  kind: 'process',
  create: refuse,
  suspend: refuse,
  resume: refuse,
  restart: refuse,
  delete: refuse,
  status: refuse,
  endpoints: refuse,
  reconcile: refuse,
  close: () => Promise.resolve(),
};

const phoneOf = (i: number): string => `+55119${String(i).padStart(8, '0')}`; // valid Brazilian mobile numbers
const timed = async (fn: () => Promise<unknown>): Promise<number> => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};
const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export interface ContactsResult {
  bench: 'contacts';
  server: string;
  rows: number;
  synced: number;
  uploadMs: number;
  previewMs: number;
  commitMs: number;
  importMs: number;
  baselineInsertManyMs: number;
  importRatio: number;
  /** The least a commit does on this server (read the book, insert the new, update the matched), driver alone. */
  floorMs: number;
  floorRatio: number;
  loadavg: number[];
  report: Record<string, unknown>;
  contacts: number;
  search: Array<{ query: string; matches: number; httpP50Ms: number; driverP50Ms: number; ratio: number }>;
  ok: boolean;
}

export async function benchContacts(server: MongoServer, rows: number, runs = 30): Promise<ContactsResult> {
  const synced = Math.floor(rows / 2);
  const dbName = uniqueDbName('bench-contacts');
  const config = loadConfig({
    MONGODB_URI: server.dbUri(dbName),
    JWT_SECRET: 'bench-contacts-secret-0123456789abcdef-0123456789',
    SIMNET_URL: 'http://127.0.0.1:9',
    PORT: '0',
    HOST: '127.0.0.1',
    RECONCILE_ON_START: 'false',
    BILLING_CRON: 'false',
    CONTACTS_SYNC_INTERVAL_S: '0',
    LOGIN_FREE_ATTEMPTS_PER_PAIR: '100',
  });
  const api = await startApi(config, pino({ level: 'warn' }), idleProvider);
  const baseDb = `${dbName}-base`;
  const base = await mongoose.createConnection(server.dbUri(baseDb)).asPromise();
  try {
    const call = async (method: string, path: string, token?: string, body?: unknown) => {
      const res = await fetch(api.url + path, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers of several routes, checked where used
      return text ? (JSON.parse(text) as any) : undefined;
    };
    const creds = { email: 'bench@example.com', password: 'correct horse battery' };
    await call('POST', '/v1/auth/register', undefined, creds);
    const token = (await call('POST', '/v1/auth/login', undefined, creds)).accessToken as string;
    const orgId = (await call('GET', '/v1/me', token)).organisationId as string;

    // Seed: N/2 contacts synced from an instance (not timed).
    const db = api.store.connection.db!;
    const contacts = db.collection<ContactDoc>('contacts');
    const now = new Date();
    const seeded: ContactDoc[] = [];
    for (let i = 0; i < synced; i++) {
      const phone = phoneOf(i * 2);
      const waId = `${phone.slice(1)}@c.us`;
      seeded.push(
        applyPatch(emptyContact(orgId, 'whatsapp', now), {
          source: 'whatsapp',
          identity: { instanceId: 'i-benchbenchbe', waId, pushname: `Push ${i}`, phone, syncedAt: now },
        }).doc,
      );
    }
    await seed(db, seeded);

    // The table: even rows are synced phones, odd rows new ones.
    const lines = ['name,phone,crm id,tags'];
    for (let i = 0; i < rows; i++) lines.push(`Person ${i},${phoneOf(i)},crm-${i},${i % 10 === 0 ? 'vip' : 'customer'}`);
    const csv = Buffer.from(lines.join('\n') + '\n');
    let importId = '';
    const uploadMs = await timed(async () => {
      const form = new FormData();
      form.append('file', new Blob([csv]), 'bench.csv');
      const res = await fetch(`${api.url}/v1/contact-imports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: form,
      });
      const body = (await res.json()) as { id: string };
      if (res.status !== 201) throw new Error(`upload: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
      importId = body.id;
    });
    const mapping = { name: 'name', phone: 'phone', externalId: 'crm id', tags: 'tags' };
    const previewMs = await timed(() => call('POST', `/v1/contact-imports/${importId}/preview`, token, { mapping }));
    let report: Record<string, unknown> = {};
    const commitMs = await timed(async () => {
      report = await call('POST', `/v1/contact-imports/${importId}/commit`, token, { mapping });
    });
    const { invalid: _i, duplicates: _d, ...counts } = report as Record<string, unknown> & { invalid: unknown; duplicates: unknown };
    const total = await contacts.countDocuments({ orgId });

    // Baseline: the resulting documents inserted raw into a fresh collection.
    const docs = await contacts.find({ orgId }).toArray();
    const baseColl = base.db!.collection<ContactDoc>('contacts');
    const baselineInsertManyMs = await timed(async () => {
      for (let i = 0; i < docs.length; i += 1000) await baseColl.insertMany(docs.slice(i, i + 1000));
    });
    const floorMs = await measureFloor(base, seeded, docs, now);

    // Search at N contacts.
    const tags = (await call('GET', '/v1/contact-tags', token)).items as Array<{ id: string; name: string }>;
    const vip = tags.find((t) => t.name === 'vip')!.id;
    const prefix = '+551190000'; // 1 in 100 of the numbers
    const byPhone = phonePrefixMatch(prefix)!; // the filter the route builds (`contacts/book.ts`)
    const queries = [
      { query: `phone=${prefix}`, path: `/v1/contacts?phone=${encodeURIComponent(prefix)}&limit=50`, filter: { orgId, phones: byPhone } },
      { query: `tag=vip`, path: `/v1/contacts?tag=${vip}&limit=50`, filter: { orgId, tags: vip } },
    ];
    const search: ContactsResult['search'] = [];
    for (const q of queries) {
      const matches = await contacts.countDocuments(q.filter);
      const driver = () => contacts.find(q.filter).sort({ sortName: 1, _id: 1 }).limit(51).toArray();
      const http = () => call('GET', q.path, token);
      await driver();
      await http(); // warm both
      const h: number[] = [];
      const d: number[] = [];
      const until = performance.now() + 120_000; // at least 5 runs, then at most 2 minutes a query
      for (let i = 0; i < runs && (i < 5 || performance.now() < until); i++) {
        d.push(await timed(driver));
        h.push(await timed(http));
      }
      search.push({ query: q.query, matches, httpP50Ms: p50(h), driverP50Ms: p50(d), ratio: p50(h) / p50(d) });
    }
    const importMs = uploadMs + commitMs;
    return {
      bench: 'contacts',
      server: server.kind,
      rows,
      synced,
      uploadMs,
      previewMs,
      commitMs,
      importMs,
      baselineInsertManyMs,
      importRatio: importMs / baselineInsertManyMs,
      floorMs,
      floorRatio: floorMs / baselineInsertManyMs,
      loadavg: os.loadavg(),
      report: counts,
      contacts: total,
      search,
      ok:
        total === rows && (counts as { created?: number }).created === rows - synced && (counts as { updated?: number }).updated === synced,
    };
  } finally {
    await base.dropDatabase().catch(() => undefined);
    await base
      .useDb(`${baseDb}-floor`)
      .dropDatabase()
      .catch(() => undefined);
    await base.close();
    await api.store.connection.dropDatabase().catch(() => undefined);
    await api.close();
  }
}

/** Inserts `docs` and their `contact_keys` claims into `db` in batches of 1 000. */
async function seed(db: mongoose.mongo.Db, docs: ContactDoc[]): Promise<void> {
  for (let i = 0; i < docs.length; i += 1000) {
    const batch = docs.slice(i, i + 1000);
    await db.collection<ContactDoc>('contacts').insertMany(batch);
    await db
      .collection<{ _id: string; orgId: string; contactId: string }>('contact_keys')
      .insertMany(batch.flatMap((d) => keysOf(d).map((_id: string) => ({ _id, orgId: d.orgId, contactId: d._id }))));
  }
}

/**
 * The floor: in a fresh database seeded with `seeded` (not timed), the least any commit writes to turn it into
 * `result`, through the driver: one read of the book (in the commit's `BOOK_RANGES` at once), insertMany (batches of
 * 1 000, two at a time) of the new contacts and their keys, one `updateMany` by `_id` per matched contact with `$set`
 * of the fields that differ — in the commit's command size (100) and concurrency (2). @returns ms.
 */
async function measureFloor(base: mongoose.Connection, seeded: ContactDoc[], result: ContactDoc[], now: Date): Promise<number> {
  const db = base.useDb(`${base.name}-floor`).db!;
  await seed(db, seeded);
  const coll = db.collection<ContactDoc>('contacts');
  const was = new Set(seeded.map((d) => d._id));
  const fresh = result.filter((d) => !was.has(d._id));
  const old = new Map(seeded.map((d) => [d._id, d]));
  const fields = Object.keys(result[0] ?? {}).filter((f) => f !== '_id' && f !== 'updatedAt') as MutableField[];
  const updates = result
    .filter((d) => was.has(d._id))
    .map((d) => {
      const o = old.get(d._id)!;
      const changed = fields.filter((f) => JSON.stringify(o[f]) !== JSON.stringify(d[f]));
      return { updateMany: { filter: { _id: d._id, updatedAt: o.updatedAt }, update: { $set: setOf(d, changed, now) } } };
    });
  const orgId = seeded[0]?.orgId ?? '';
  return timed(async () => {
    await Promise.all(BOOK_RANGES.map((_id) => coll.find({ orgId, _id }).toArray()));
    const batches: ContactDoc[][] = [];
    for (let i = 0; i < fresh.length; i += 1000) batches.push(fresh.slice(i, i + 1000));
    await twoAtATime(batches, (batch) => seed(db, batch));
    const chunks: Array<typeof updates> = [];
    for (let i = 0; i < updates.length; i += 100) chunks.push(updates.slice(i, i + 100));
    await twoAtATime(chunks, (chunk) => coll.bulkWrite(chunk, { ordered: false }));
  });
}

/** Runs `fn` on every item of `items`, two at a time (the commit's write concurrency). */
async function twoAtATime<T>(items: T[], fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Prints `r` as a table. */
export function printContacts(r: ContactsResult): void {
  const f = (x: number, dp = 1): string => x.toFixed(dp);
  const rows: Array<[string, string]> = [
    ['server', r.server],
    ['rows (half synced before)', String(r.rows)],
    ['upload ms', f(r.uploadMs)],
    ['preview ms (not in the import)', f(r.previewMs)],
    ['commit ms', f(r.commitMs)],
    ['import (upload + commit) ms', f(r.importMs)],
    ['baseline insertMany ms', f(r.baselineInsertManyMs)],
    ['ratio import / insertMany', f(r.importRatio, 2)],
    ['floor (read + inserts + updates, driver) ms', f(r.floorMs)],
    ['ratio floor / insertMany', f(r.floorRatio, 2)],
    ...r.search.flatMap((s): Array<[string, string]> => [
      [`search ${s.query} (${s.matches} match) HTTP p50 ms`, f(s.httpP50Ms, 2)],
      [`search ${s.query} driver p50 ms`, f(s.driverP50Ms, 2)],
      [`ratio ${s.query} HTTP / driver`, f(s.ratio, 2)],
    ]),
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v.padStart(10)}`);
  console.log(`report: ${JSON.stringify(r.report)}; contacts ${r.contacts} → ${r.ok ? 'OK' : 'FAILED'}`);
  console.log(`load average at the end: ${r.loadavg.map((x) => x.toFixed(2)).join(' ')}`);
}

/** Runs the benchmark on a server of its own. */
export async function runContacts(rows: number, json: boolean): Promise<boolean> {
  const server = await startMongo();
  try {
    console.log(`contacts benchmark: ${rows} rows on ${server.kind} …`);
    const r = await benchContacts(server, rows);
    printContacts(r);
    if (json) console.log(JSON.stringify(r));
    const reproduce = `npm run bench -w api -- contacts --rows ${rows}`;
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    benchRow({
      component: 'api',
      figure: `contacts import of ${rows} rows (half synced) / raw insertMany of the resulting documents`,
      value: r.importRatio,
      ...(r.ok ? {} : { met: false }),
      unit: '×',
      goal: '≤ 3',
      reproduce,
      note:
        `upload ${s(r.uploadMs)} + commit ${s(r.commitMs)} (preview, not counted, ${s(r.previewMs)}) vs insertMany ${s(r.baselineInsertManyMs)} on ${r.server}; ` +
        `floor on this server (read the book, insertMany the new contacts and keys, one update per matched contact; driver alone) ${s(r.floorMs)} = ${r.floorRatio.toFixed(2)}×; ` +
        `load average ${r.loadavg.map((x) => x.toFixed(1)).join(' ')}${r.ok ? '' : '; CHECK FAILED (counts)'}`,
    });
    for (const q of r.search)
      benchRow({
        component: 'api',
        figure: `contacts search ${q.query} at ${r.contacts} contacts, p50 HTTP / driver`,
        value: q.ratio,
        unit: '×',
        goal: '≤ 2',
        reproduce,
        note: `HTTP ${q.httpP50Ms.toFixed(1)} ms, driver ${q.driverP50Ms.toFixed(1)} ms, ${q.matches} matches`,
      });
    return r.ok;
  } finally {
    await server.stop();
  }
}
