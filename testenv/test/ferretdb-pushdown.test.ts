/**
 * wacloud's FerretDB pushdown patch (tools/ferretdb/wacloud-pushdown.patch, docs/embedded-database.md) against
 * FerretDB's own behaviour: the same queries on the same PostgreSQL data through a second FerretDB started with
 * `-pushdown=false` (FerretDB filters and sorts in Go) must return the same documents in the same order — for sorts,
 * limits, skips, small batches (getMore across chunks), $and / $or, ranges, literal regexes with Unicode case folding,
 * and missing / null sort keys. And the default server (startMongo) really pushes the sort down to an index.
 */
import { MongoClient, type Document, type Filter, type Sort } from 'mongodb';
import {
  findBinary,
  freePort,
  hasPostgres,
  startAuthorisingMongo,
  startMongo,
  startProcess,
  uniqueDbName,
  waitForPort,
  withDatabase,
  type AuthorisingMongoServer,
  type ManagedProcess,
} from '../src/index.js';

const ready = hasPostgres() && !!findBinary('wacloud-ferretdb') && !process.env.MONGODB_URI && !findBinary('mongod');
const suite = ready ? describe : describe.skip;

interface Doc {
  _id: string;
  chatId: string;
  fromMe: boolean;
  ts?: Date;
  body: string;
  n: number;
}

/** 600 documents over 7 chats, ~20 without `ts`; bodies with Unicode case variants. */
function docs(): Doc[] {
  const bodies = ['Hello there', 'STRASSE und straße', 'kelvin \u212a here', 'ſecret', 'plain text', 'a.b*c (x)', 'ÉCOLE école'];
  const t0 = Date.UTC(2026, 0, 1);
  return Array.from({ length: 600 }, (_, i) => {
    const d: Doc = {
      _id: `m${String((i * 7919) % 600).padStart(4, '0')}`,
      chatId: `c${i % 7}@c.us`,
      fromMe: i % 3 === 0,
      ts: new Date(t0 + Math.floor(i / 2) * 1000), // pairs share a timestamp: the _id breaks the tie
      body: `${bodies[i % bodies.length]} #${i}`,
      n: i,
    };
    // Missing sort keys (BSON sorts them as null). Not mixed with explicit nulls: the patch sorts missing before null,
    // where BSON takes them as equal (docs/embedded-database.md).
    if (i % 50 === 7 || i % 70 === 3) delete d.ts;
    return d;
  });
}

suite('FerretDB on PostgreSQL with the pushdown patch', () => {
  let server: AuthorisingMongoServer;
  let plain: ManagedProcess;
  let patched: MongoClient;
  let unpatched: MongoClient;
  const db = uniqueDbName('pushdown');

  beforeAll(async () => {
    server = await startAuthorisingMongo();
    const port = await freePort();
    plain = startProcess({
      command: findBinary('wacloud-ferretdb')!,
      args: ['-listen', `127.0.0.1:${port}`, '-postgresql-url', server.postgres.urlWithoutCredentials, '-pushdown=false'],
    });
    await waitForPort(port, '127.0.0.1', 30_000);
    patched = await MongoClient.connect(server.dbUri(db));
    const u = new URL(server.adminUri);
    u.host = `127.0.0.1:${port}`;
    unpatched = await MongoClient.connect(withDatabase(u.toString(), db));
    const col = patched.db().collection<Doc>('messages');
    await col.createIndex({ ts: -1, _id: -1 });
    await col.createIndex({ chatId: 1, ts: -1, _id: -1 });
    await col.insertMany(docs());
  }, 120_000);

  afterAll(async () => {
    await patched?.close();
    await unpatched?.close();
    await plain?.stop(5_000);
    await server?.stop();
  });

  const cursorAt = (ts: Date, id: string): Filter<Doc> => ({ ts: { $lte: ts }, $or: [{ ts: { $lt: ts } }, { _id: { $lt: id } }] });
  const mid = new Date(Date.UTC(2026, 0, 1) + 150_000);
  const cases: Array<{ name: string; filter: Filter<Doc>; sort: Sort; limit?: number; skip?: number; batchSize?: number }> = [
    { name: 'newest page', filter: {}, sort: { ts: -1, _id: -1 }, limit: 51 },
    { name: 'oldest page (missing first)', filter: {}, sort: { ts: 1, _id: 1 }, limit: 40 },
    { name: 'everything, small batches (getMore across chunks)', filter: {}, sort: { ts: -1, _id: -1 }, batchSize: 7 },
    { name: 'equality', filter: { chatId: 'c3@c.us' }, sort: { ts: -1, _id: -1 }, limit: 20 },
    { name: '$and of equalities', filter: { $and: [{ chatId: 'c2@c.us' }, { fromMe: true }] }, sort: { ts: -1, _id: -1 }, limit: 15 },
    { name: 'date range', filter: { ts: { $gte: mid, $lt: new Date(mid.getTime() + 60_000) } }, sort: { ts: -1, _id: -1 }, limit: 100 },
    { name: 'cursor page', filter: cursorAt(mid, 'm0300'), sort: { ts: -1, _id: -1 }, limit: 51 },
    { name: 'chat cursor page', filter: { $and: [{ chatId: 'c1@c.us' }, cursorAt(mid, 'm0300')] }, sort: { ts: -1, _id: -1 }, limit: 30 },
    { name: 'string range', filter: { _id: { $gt: 'm0100', $lte: 'm0200' } }, sort: { _id: 1 }, limit: 500 },
    { name: 'skip', filter: { fromMe: false }, sort: { ts: -1, _id: -1 }, skip: 33, limit: 10 },
    {
      name: 'literal regex, case-insensitive (ß, ſ, Kelvin sign)',
      filter: { body: { $regex: 'S', $options: 'i' } },
      sort: { ts: -1, _id: -1 },
      limit: 60,
    },
    {
      name: 'literal regex with escaped metacharacters',
      filter: { body: { $regex: 'a\\.b\\*c \\(x\\)', $options: 'i' } },
      sort: { ts: -1, _id: -1 },
    },
    { name: 'non-ASCII literal regex', filter: { body: { $regex: 'éCOLE', $options: 'i' } }, sort: { ts: -1, _id: -1 }, limit: 25 },
    { name: 'kelvin', filter: { body: { $regex: 'K', $options: 'i' } }, sort: { ts: -1, _id: -1 }, limit: 25 },
    { name: 'a regex that is not a literal', filter: { body: { $regex: '^pl.in' } }, sort: { ts: -1, _id: -1 }, limit: 25 },
    { name: '$or of a range and a regex', filter: { $or: [{ n: { $lt: 20 } }, { body: /hello/i }] }, sort: { n: -1 }, limit: 70 },
    {
      name: '$or with a branch that is not pushed down, then more conditions',
      filter: { $and: [{ $or: [{ chatId: 'c1@c.us' }, { ts: { $exists: false } }] }, { fromMe: true }, { n: { $gte: 10 } }] },
      sort: { ts: -1, _id: -1 },
      limit: 40,
    },
    { name: 'sort on a number', filter: { fromMe: true }, sort: { n: 1 }, limit: 30 },
    { name: '$in of _ids', filter: { _id: { $in: ['m0005', 'm0017', 'm0599', 'nope'] } }, sort: { _id: 1 } },
    {
      name: '$in of strings with a range',
      filter: { chatId: { $in: ['c1@c.us', 'c4@c.us'] }, n: { $lt: 300 } },
      sort: { ts: -1, _id: -1 },
      limit: 40,
    },
    { name: '$in with a value not pushed down (number)', filter: { n: { $in: [3, 4, 5] } }, sort: { n: 1 } },
    { name: '$in of booleans and dates', filter: { fromMe: { $in: [true] }, ts: { $in: [mid, new Date(0)] } }, sort: { _id: 1 } },
  ];

  test.each(cases)('$name: same documents in the same order as FerretDB without pushdown', async (c) => {
    const run = (client: MongoClient) => {
      let q = client.db().collection<Doc>('messages').find(c.filter).sort(c.sort);
      if (c.skip) q = q.skip(c.skip);
      if (c.limit) q = q.limit(c.limit);
      if (c.batchSize) q = q.batchSize(c.batchSize);
      return q.toArray();
    };
    const expected = await run(unpatched);
    expect(expected.length).toBeGreaterThan(0);
    expect((await run(patched)).map((d) => d._id)).toEqual(expected.map((d) => d._id));
  });

  test('explain: the sort is pushed down and served by the index', async () => {
    const ex = (client: MongoClient): Promise<Document> =>
      client.db().command({ explain: { find: 'messages', filter: { chatId: 'c3@c.us' }, sort: { ts: -1, _id: -1 }, limit: 51 } });
    const on = await ex(patched);
    expect(on.sortPushdown).toBe(true);
    expect(JSON.stringify(on.queryPlanner)).toMatch(/"Index Scan"/);
    expect((await ex(unpatched)).sortPushdown).toBe(false);
  });

  // Update commands: wacloud's build carries out statements that name their documents by _id as one query and one
  // batch of conditional writes (docs/embedded-database.md); `-pushdown=false` is FerretDB's one-by-one loop.
  test('an update command with 60 matching updateOne statements is answered (stock FerretDB never answers it)', async () => {
    const col = patched.db().collection<{ _id: string; n: number }>('sixty');
    await col.insertMany(Array.from({ length: 60 }, (_, i) => ({ _id: `s${i}`, n: 0 })));
    const res = await col.bulkWrite(
      Array.from({ length: 60 }, (_, i) => ({ updateOne: { filter: { _id: `s${i}` }, update: { $inc: { n: 1 } } } })),
      { ordered: false },
    );
    expect([res.matchedCount, res.modifiedCount]).toEqual([60, 60]);
    expect(await col.countDocuments({ n: 1 })).toBe(60);
  }, 60_000);

  test('batched statements: upserts, several statements on one document, a filter that misses — as FerretDB answers them', async () => {
    const run = async (client: MongoClient, name: string) => {
      const col = client.db().collection<{ _id: string; n?: number; a?: number; x?: number; tags?: string[] }>(name);
      await col.insertMany([
        { _id: 'd1', n: 0 },
        { _id: 'd2', n: 5 },
      ]);
      const res = await col.bulkWrite(
        [
          { updateOne: { filter: { _id: 'u1' }, update: { $set: { a: 1 } }, upsert: true } },
          { updateOne: { filter: { _id: 'u1' }, update: { $inc: { a: 1 } } } },
          { updateOne: { filter: { _id: 'd1', n: -1 }, update: { $set: { x: 1 } } } },
          { updateOne: { filter: { _id: 'd1' }, update: { $inc: { n: 2 }, $push: { tags: 'p' } } } },
          { updateMany: { filter: { _id: 'd1', n: 2 }, update: { $inc: { n: 1 } } } },
          { updateOne: { filter: { _id: 'd2' }, update: { $set: { n: 5 } } } },
          { updateOne: { filter: { _id: 'gone' }, update: { $set: { n: 1 } } } },
        ],
        { ordered: false },
      );
      return { counts: [res.matchedCount, res.modifiedCount, res.upsertedCount], docs: await col.find({}).sort({ _id: 1 }).toArray() };
    };
    const expected = await run(unpatched, 'batch-plain');
    expect(expected.counts).toEqual([4, 3, 1]);
    expect(await run(patched, 'batch-patched')).toEqual(expected);
  });

  test('concurrent bulk updates of the same documents lose no write (stock FerretDB loses some)', async () => {
    const clients = await Promise.all([0, 1, 2, 3].map(() => MongoClient.connect(server.dbUri(db))));
    try {
      const col = (w: number) => clients[w]!.db().collection<{ _id: string; n: number; by: string[] }>('racing');
      const ids = Array.from({ length: 300 }, (_, i) => `r${i}`);
      await col(0).insertMany(ids.map((_id) => ({ _id, n: 0, by: [] })));
      const rounds = 4;
      await Promise.all(
        [0, 1, 2, 3].map(async (w) => {
          for (let r = 0; r < rounds; r++) {
            const order = [...ids].sort(() => Math.random() - 0.5); // each writer in its own order
            for (let i = 0; i < order.length; i += 50)
              await col(w).bulkWrite(
                order
                  .slice(i, i + 50)
                  .map((_id) => ({ updateOne: { filter: { _id }, update: { $inc: { n: 1 }, $push: { by: `w${w}` } } } })),
                { ordered: false },
              );
          }
        }),
      );
      const docs = await col(0).find({}).toArray();
      expect(docs.filter((d) => d.n !== 4 * rounds || d.by.length !== 4 * rounds).map((d) => d._id)).toEqual([]);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  }, 120_000);
});

(ready ? test : test.skip)('startMongo starts FerretDB on PostgreSQL, with the pushdown on', async () => {
  const mongo = await startMongo();
  const client = await MongoClient.connect(mongo.dbUri(uniqueDbName()));
  try {
    expect(mongo.backend).toBe('postgresql');
    const col = client.db().collection('probe');
    await col.createIndex({ t: -1 });
    await col.insertMany(Array.from({ length: 20 }, (_, i) => ({ t: i })));
    const ex = await client.db().command({ explain: { find: 'probe', filter: {}, sort: { t: -1 }, limit: 3 } });
    expect(ex.sortPushdown).toBe(true);
    expect((await col.find({}).sort({ t: -1 }).limit(3).toArray()).map((d) => d.t)).toEqual([19, 18, 17]);
  } finally {
    await client.close();
    await mongo.stop();
  }
});
