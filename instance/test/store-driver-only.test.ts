/**
 * The instance's database goes through the MongoDB driver alone (instance/README.md, "Memory": mongoose cost ~5 MiB of
 * the idle process): a fresh `node` with the image's flags that imports the service, opens and initializes its store
 * and uses the token and webhook-settings storage has not loaded mongoose; and the store creates the indexes the
 * queries rely on, under the names mongoose gave them (databases created before keep theirs). And the driver's
 * dependencies build their tables at first use, not at load (`src/storage/lazy-driver-deps.ts`): the same kind of
 * process has loaded neither tr46's mapping table nor saslprep's code points; both still work, through the very
 * modules the driver requires, and load then.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { INSTANCE_NODE_FLAGS } from '../src/node-flags.js';
import { openStore } from '../src/storage/store.js';

const run = promisify(execFile);
const instanceDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p: string) => JSON.stringify(pathToFileURL(path.join(instanceDir, 'dist', p)).href);

let mongo: MongoServer;
beforeAll(async () => {
  mongo = await startMongo();
}, 120_000);
afterAll(async () => {
  await mongo?.stop();
});

test('the service with its store opened and used loads the MongoDB driver, not mongoose', async () => {
  const code = `
    import { createRequire } from 'node:module';
    await import(${dist('instance-app.js')});
    const { openStore } = await import(${dist('storage/store.js')});
    const { insertToken, findToken, updateTokenPermissions, listTokens, deleteToken } = await import(${dist('storage/tokens.js')});
    const { WebhookSettingsService } = await import(${dist('webhooks/settings.js')});
    const store = await openStore(${JSON.stringify(mongo.dbUri(uniqueDbName('driveronly')))});
    await store.init();
    const now = new Date();
    await insertToken(store, { _id: 't1', name: 'n', permissions: 'r', hash: 'h', createdAt: now, updatedAt: now });
    const updated = await updateTokenPermissions(store, 't1', 'rw');
    const found = await findToken(store, 't1');
    const listed = await listTokens(store);
    const settings = new WebhookSettingsService(store, { url: undefined, secret: undefined, events: [] });
    await settings.replace({ url: 'http://example.test/hook', secret: 's', events: ['message'] });
    const again = await new WebhookSettingsService(store, { url: undefined, secret: undefined, events: [] }).get();
    const deleted = await deleteToken(store, 't1');
    await store.close();
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify({
      mongoose: loaded.filter((f) => f.includes('/node_modules/mongoose/')).length,
      driver: loaded.some((f) => f.includes('/node_modules/mongodb/')),
      updated: updated?.permissions, found: found?.permissions, listed: listed.length, again, deleted,
    }));`;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const { stdout } = await run(process.execPath, [...INSTANCE_NODE_FLAGS, '--input-type=module', '-e', code], { cwd: instanceDir, env });
  expect(JSON.parse(stdout.trim())).toEqual({
    mongoose: 0,
    driver: true,
    updated: 'rw',
    found: 'rw',
    listed: 1,
    again: { url: 'http://example.test/hook', secret: 's', events: ['message'] },
    deleted: true,
  });
}, 60_000);

test('init creates the collections and their indexes, idempotently, under their former names', async () => {
  const store = await openStore(mongo.dbUri(uniqueDbName('driverindexes')));
  try {
    await store.init();
    await store.init();
    const names = async (c: string) => (await store.connection.db.collection(c).indexes()).map((i) => i.name).sort();
    expect(await names('messages')).toEqual(
      [
        '_id_',
        'timestamp_-1__id_-1',
        'chatId_1_timestamp_-1__id_-1',
        'author_1_timestamp_-1__id_-1',
        'fromMe_1_timestamp_-1__id_-1',
        'isGroup_1_timestamp_-1__id_-1',
        'day_1_fromMe_1',
        'media.status_1',
      ].sort(),
    );
    expect(await names('chats')).toEqual(['_id_', 'lastMessageAt_-1__id_-1']);
    expect(await names('contacts')).toEqual(['_id_', 'isGroup_1__id_1', 'number_1'].sort());
    expect(await names('outbox')).toEqual(['_id_', 'status_1_nextAttemptAt_1']);
    expect(await names('api_outbox')).toEqual(['_id_', 'status_1_nextAttemptAt_1']);
    expect(await names('outgoing')).toEqual(['_id_', 'status_1_createdAt_1']);
    const collections = (await store.connection.db.listCollections().toArray()).map((c) => c.name);
    expect(collections).toEqual(
      expect.arrayContaining(['messages', 'contacts', 'chats', 'tokens', 'outbox', 'api_outbox', 'settings', 'outgoing']),
    );
  } finally {
    await store.connection.dropDatabase();
    await store.close();
  }
}, 60_000);

test("the service with its store in use has not loaded tr46's table or saslprep's code points; both load when used", async () => {
  const code = `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    const tables = () => Object.keys(require.cache).filter((f) =>
      /\\/node_modules\\/(tr46\\/lib\\/mappingTable\\.json|@mongodb-js\\/saslprep\\/dist\\/code-points-data\\.js)$/.test(f))
      .map((f) => f.split('/node_modules/')[1]).sort();
    await import(${dist('instance-app.js')});
    const { openStore } = await import(${dist('storage/store.js')});
    const { insertToken, findToken } = await import(${dist('storage/tokens.js')});
    const store = await openStore(${JSON.stringify(mongo.dbUri(uniqueDbName('lazydeps')))});
    await store.init();
    const now = new Date();
    await insertToken(store, { _id: 't1', name: 'n', permissions: 'r', hash: 'h', createdAt: now, updatedAt: now });
    const found = (await findToken(store, 't1'))?.permissions;
    await store.connection.dropDatabase();
    await store.close();
    const idle = tables();
    // What the driver requires: its SCRAM code's saslprep, its URI parser's whatwg-url (and so tr46).
    const fromDriver = createRequire(require.resolve('mongodb'));
    const saslprep = fromDriver('@mongodb-js/saslprep');
    const { URL } = createRequire(fromDriver.resolve('mongodb-connection-string-url'))('whatwg-url');
    let prohibited;
    try { saslprep.saslprep('a\\u0007b'); } catch (e) { prohibited = e.message; }
    console.log(JSON.stringify({
      found, idle,
      prepared: [saslprep('I\\u00adX'), saslprep.saslprep('\\u2168'), saslprep.default('user')],
      prohibited,
      host: new URL('http://B\\u00fccher.example/').host,
      used: tables(),
    }));`;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const { stdout } = await run(process.execPath, [...INSTANCE_NODE_FLAGS, '--input-type=module', '-e', code], { cwd: instanceDir, env });
  expect(JSON.parse(stdout.trim())).toEqual({
    found: 'r',
    idle: [],
    prepared: ['IX', 'IX', 'user'],
    prohibited: expect.stringContaining('Prohibited character'),
    host: 'xn--bcher-kva.example',
    used: ['@mongodb-js/saslprep/dist/code-points-data.js', 'tr46/lib/mappingTable.json'],
  });
}, 60_000);
