/**
 * The MongoDB driver's dependencies build their tables at first use, not at load (`src/storage/lazy-driver-deps.ts`,
 * instance/README.md "Memory"): a fresh `node` with the image's flags that imports the service and opens, initializes
 * and uses its store has loaded neither tr46's mapping table nor saslprep's code points; both still work, through the
 * very modules the driver requires, and load then.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { INSTANCE_NODE_FLAGS } from '../src/node-flags.js';

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
