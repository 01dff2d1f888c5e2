/**
 * Issue 16, the import commit's bulk path in process, on a real MongoDB-wire server: matched contacts are updated in
 * place (never absent while the commit runs), and a contact another writer changes between the commit's read of the
 * book and its update keeps that change and still gets the import's. The collections are the real ones, watched by a
 * proxy that runs a check (or the other writer) right after the commit's own calls.
 */
import { startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { AuditLog } from '../src/audit.js';
import { ContactBook } from '../src/contacts/book.js';
import { ContactFavourites } from '../src/contacts/favourites.js';
import { ContactImports } from '../src/contacts/imports.js';
import { ContactMatcher } from '../src/contacts/matcher.js';
import { applyPatch, emptyContact, keysOf } from '../src/contacts/patch.js';
import type { Caller } from '../src/contacts/rights.js';
import { openContactCollections, type ContactCollections } from '../src/contacts/store.js';
import { ContactTags } from '../src/contacts/tags.js';
import { openApiStore, type ApiStore } from '../src/store.js';

let mongo: MongoServer;
let store: ApiStore;
let c: ContactCollections;

beforeAll(async () => {
  mongo = await startMongo();
  store = await openApiStore(mongo.dbUri(uniqueDbName('import-bulk')));
  c = await openContactCollections(store.connection.db!);
}, 60_000);

afterAll(async () => {
  await store?.connection.dropDatabase().catch(() => undefined);
  await store?.connection.close();
  await mongo?.stop();
});

const owner = (orgId: string): Caller => ({
  orgId,
  role: 'owner',
  rights: {},
  memberId: `m-${orgId}`,
  userId: `u-${orgId}`,
  email: 'o@example.com',
});
const WRITES = new Set(['insertOne', 'insertMany', 'updateOne', 'updateMany', 'replaceOne', 'deleteOne', 'deleteMany', 'bulkWrite']);

/**
 * `coll` with `after(method)` awaited after each of its writes resolves, and `afterRead()` after each `find(…).toArray()`.
 */
function watched<T extends object>(coll: T, hooks: { after?: (method: string) => Promise<void>; afterRead?: () => Promise<void> }): T {
  return new Proxy(coll, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== 'function') return v;
      const name = String(prop);
      return (...args: unknown[]) => {
        const res = (v as (...a: unknown[]) => unknown).apply(target, args);
        if (name === 'find' && hooks.afterRead) {
          const cursor = res as { toArray: () => Promise<unknown[]> };
          const read = hooks.afterRead;
          return new Proxy(cursor, {
            get(t, p) {
              if (p === 'toArray')
                return async () => {
                  const docs = await t.toArray();
                  await read();
                  return docs;
                };
              const m = Reflect.get(t, p, t) as unknown;
              return typeof m === 'function' ? (m as (...a: unknown[]) => unknown).bind(t) : m;
            },
          });
        }
        if (WRITES.has(name) && hooks.after && res instanceof Promise) return res.then(async (x: unknown) => (await hooks.after!(name), x));
        return res;
      };
    },
  });
}

/** A ContactImports over `coll` (the book's and tags' own services on the real collections). */
function importsOver(coll: ContactCollections): ContactImports {
  const matcher = new ContactMatcher(coll);
  const tags = new ContactTags(coll);
  const book = new ContactBook(store, coll, matcher, tags, new ContactFavourites(coll));
  return new ContactImports(coll, book, tags, matcher, new AuditLog(store));
}

/** Imports `csv` as `auth` with the name/phone mapping. */
async function importCsv(imports: ContactImports, auth: Caller, csv: string) {
  const up = await imports.upload(auth, Buffer.from(csv), 'people.csv');
  return imports.commit(auth, up.id, { name: 'name', phone: 'phone' });
}

const table = (n: number, prefix: string) =>
  'name,phone\n' + Array.from({ length: n }, (_, i) => `${prefix} ${i},+1202555${String(1000 + i)}`).join('\n') + '\n';

test('commit: matched contacts are updated in place — every one stays in the book throughout the commit, with its id', async () => {
  const auth = owner('org-inplace');
  const plain = importsOver(c);
  const first = await importCsv(plain, auth, table(300, 'Before'));
  expect(first).toMatchObject({ created: 300, updated: 0 });
  const before = await c.contacts.find({ orgId: auth.orgId }).toArray();
  const ids = before.map((d) => d._id);

  let checks = 0;
  const missing: number[] = [];
  const check = async () => {
    checks++;
    const n = await c.contacts.countDocuments({ orgId: auth.orgId });
    if (n !== ids.length) missing.push(ids.length - n);
  };
  const imports = importsOver({ ...c, contacts: watched(c.contacts, { after: check }) });
  const second = await importCsv(imports, auth, table(300, 'After'));
  expect(second).toMatchObject({ created: 0, updated: 300 });
  expect(checks).toBeGreaterThan(0);
  expect(missing).toEqual([]);
  const after = await c.contacts.find({ orgId: auth.orgId }).toArray();
  expect(after.map((d) => d._id).sort()).toEqual([...ids].sort());
  expect(after.every((d) => d.name?.startsWith('After '))).toBe(true);
  const was = new Map(before.map((d) => [d._id, d.createdAt.getTime()]));
  expect(after.every((d) => was.get(d._id) === d.createdAt.getTime())).toBe(true);
});

test('commit: a contact changed by another writer after the book was read keeps that change and gets the import’s too', async () => {
  const auth = owner('org-race');
  const plain = importsOver(c);
  await importCsv(plain, auth, table(40, 'Old'));
  const target = await c.contacts.findOne({ orgId: auth.orgId, name: 'Old 37' });
  expect(target).toBeTruthy();

  let reads = 0;
  const imports = importsOver({
    ...c,
    contacts: watched(c.contacts, {
      // The commit's read of the book (its ranges read at once): another writer edits the contact right after all.
      afterRead: async () => {
        if (++reads === 2)
          await c.contacts.updateOne(
            { _id: target!._id },
            { $set: { notes: 'edited meanwhile', emails: ['meanwhile@example.com'], updatedAt: new Date(Date.now() - 1000) } },
          );
      },
    }),
  });
  const r = await importCsv(imports, auth, table(40, 'New'));
  expect(reads).toBeGreaterThanOrEqual(2);
  expect(r).toMatchObject({ created: 0, updated: 40 });
  const doc = await c.contacts.findOne({ _id: target!._id });
  expect(doc).toMatchObject({ name: 'New 37', notes: 'edited meanwhile', emails: ['meanwhile@example.com'], sortName: 'new 37' });
  expect(await c.contacts.countDocuments({ orgId: auth.orgId })).toBe(40);
  expect(await c.contacts.countDocuments({ orgId: auth.orgId, name: { $regex: '^New ' } })).toBe(40);
});

test('preview and commit read the whole book, whatever its ids: each contact is matched, none created twice', async () => {
  const auth = owner('org-ids');
  const now = new Date();
  // Ids on both sides of the book's read ranges, and of other forms than `ct_` + hex.
  const ids = ['a-legacy', 'ct_000000000000000000000000', 'ct_7fffffffffffffffffffffff', 'ct_8', 'ct_ffffffffffffffffffffffff', 'z-legacy'];
  const docs = ids.map((id, i) => ({
    ...applyPatch(emptyContact(auth.orgId, 'import', now), { source: 'import', name: `Was ${i}`, phones: [`+1202555${2000 + i}`] }).doc,
    _id: id,
  }));
  await c.contacts.insertMany(docs);
  await c.keys.insertMany(docs.flatMap((d) => keysOf(d).map((_id) => ({ _id, orgId: auth.orgId, contactId: d._id }))));
  const imports = importsOver(c);
  const csv = 'name,phone\n' + ids.map((_, i) => `Now ${i},+1202555${2000 + i}`).join('\n') + '\n';
  const up = await imports.upload(auth, Buffer.from(csv), 'people.csv');
  const mapping = { name: 'name', phone: 'phone' };
  expect(await imports.preview(auth, up.id, mapping)).toMatchObject({ rows: ids.length, new: 0, updates: ids.length });
  expect(await imports.commit(auth, up.id, mapping)).toMatchObject({ created: 0, updated: ids.length });
  const after = await c.contacts.find({ orgId: auth.orgId }).sort({ _id: 1 }).toArray();
  expect(after.map((d) => [d._id, d.name])).toEqual(ids.map((id, i) => [id, `Now ${i}`]));
});
