/**
 * `node:tls` and `node:https` load at their first use, not at start (`src/lazy-builtins.ts`; instance/README.md,
 * "Memory"): a fresh `node` with the image's flags runs the service with the simulated engine up to a logged-in
 * session answering the API and has loaded neither; then a `wss:` WebSocket of `ws` and an `https:` request of
 * `src/node-http.ts` reach the real modules through the stand-ins the dependencies required, and `require('tls')`
 * is the builtin itself from then on. And the stand-in behaves as the module it stands for.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createSimnetServer, type SimnetServer } from '@wacloud/simnet';
import { startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { lazyModule } from '../src/lazy-builtins.js';
import { INSTANCE_NODE_FLAGS } from '../src/node-flags.js';

const run = promisify(execFile);
const instanceDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p: string) => JSON.stringify(pathToFileURL(path.join(instanceDir, 'dist', p)).href);

let mongo: MongoServer;
let simnet: SimnetServer;
beforeAll(async () => {
  [mongo, simnet] = await Promise.all([startMongo(), createSimnetServer({ port: 0, host: '127.0.0.1' })]);
}, 120_000);
afterAll(async () => {
  await Promise.allSettled([simnet?.close(), mongo?.stop()]);
});

test('the logged-in service loads tls and https only at their first use, through the modules its dependencies required', async () => {
  const key = 'lazy-builtins-internal-key';
  const code = `
    import { once } from 'node:events';
    import { createRequire } from 'node:module';
    import net from 'node:net';
    const require = createRequire(${dist('main.js')});
    const { startInstanceApp } = await import(${dist('instance-app.js')});
    const { loadInstanceConfig } = await import(${dist('config.js')});
    const { pino } = await import('pino');
    const loaded = () => process.moduleLoadList.filter((m) => /^NativeModule (tls|https)$/.test(m)).map((m) => m.slice(13)).sort();
    const app = await startInstanceApp(loadInstanceConfig({
      PORT: '0', INTERNAL_PORT: '0', HOST: '127.0.0.1', ENGINE: 'simulated', SIMNET_URL: ${JSON.stringify(simnet.url)},
      MONGODB_URI: ${JSON.stringify(mongo.dbUri(uniqueDbName('lazybuiltins')))}, INTERNAL_API_KEY: ${JSON.stringify(key)},
      DATA_DIR: ${JSON.stringify(mkdtempSync(path.join(os.tmpdir(), 'wacloud-lazy-builtins-')))},
    }), pino({ level: 'silent' }));
    // Requests through node:http, not fetch: Node's fetch (its own undici) loads tls when it is first used.
    const http = require('node:http');
    const call = (base, method, p, auth, body) => new Promise((resolve, reject) => {
      const req = http.request(base + p, { method, headers: { authorization: 'Bearer ' + auth, 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c) => (text += c)).on('end', () => resolve(text ? JSON.parse(text) : {}));
      });
      req.once('error', reject).end(body && JSON.stringify(body));
    });
    const { token } = await call(app.internalUrl, 'POST', '/internal/v1/tokens', ${JSON.stringify(key)}, { name: 't', permissions: 'rw' });
    const { qr } = await call(app.publicUrl, 'POST', '/v1/session/login', token);
    await call(${JSON.stringify(simnet.url)}, 'POST', '/hooks/scan', '', { qr, phone: '15550003333', pushname: 'Lazy' });
    let state;
    for (let i = 0; i < 200 && state !== 'WORKING'; i++) {
      state = (await call(app.publicUrl, 'GET', '/health', token)).session?.state;
      if (state !== 'WORKING') await new Promise((r) => setTimeout(r, 50));
    }
    const messages = Array.isArray((await call(app.publicUrl, 'GET', '/v1/messages', token)).items);
    const idle = loaded();
    // A plain TCP server that hangs up: a TLS handshake with it fails once the real tls module made the attempt.
    const plain = net.createServer((s) => s.destroy()).listen(0, '127.0.0.1');
    await once(plain, 'listening');
    const at = '127.0.0.1:' + plain.address().port;
    const WebSocket = require('ws');
    const wss = await new Promise((resolve) => new WebSocket('wss://' + at).once('error', (e) => resolve(e.code ?? e.message)));
    const afterWss = loaded();
    const { https } = await import(${dist('node-http.js')});
    const httpsGet = await new Promise((resolve) => https.get('https://' + at, () => resolve('response')).once('error', (e) => resolve(e.code ?? e.message)));
    const driverTls = createRequire(require.resolve('mongodb'))('tls');
    const builtin = process.getBuiltinModule('tls');
    console.log(JSON.stringify({
      state, messages, idle, wss, afterWss, httpsGet,
      driverConnect: driverTls.connect === builtin.connect,
      requireNow: require('tls') === builtin,
    }));
    plain.close();
    await app.close();`;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const { stdout } = await run(process.execPath, [...INSTANCE_NODE_FLAGS, '--input-type=module', '-e', code], { cwd: instanceDir, env });
  expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({
    state: 'WORKING',
    messages: true,
    idle: [],
    wss: 'ECONNRESET',
    afterWss: ['https', 'tls'],
    httpsGet: 'ECONNRESET',
    driverConnect: true,
    requireNow: true,
  });
}, 60_000);

test('the stand-in reads, writes, lists and describes the real module, loaded at the first of them', () => {
  class Agent {}
  let loads = 0;
  const real: Record<string | symbol, unknown> = { Agent, connect: () => 'connected' };
  Object.defineProperty(real, 'fixed', { value: 1, enumerable: true }); // non-configurable, as a builtin's constants
  const m = lazyModule(() => (loads++, real));
  expect(loads).toBe(0);
  expect((m.connect as () => string)()).toBe('connected');
  expect(new (m.Agent as typeof Agent)()).toBeInstanceOf(Agent);
  expect(Object.keys(m)).toEqual(['Agent', 'connect', 'fixed']);
  expect({ ...m }).toEqual(real);
  expect('fixed' in m && !('missing' in m)).toBe(true);
  expect(Object.getOwnPropertyDescriptor(m, 'fixed')).toEqual({ value: 1, writable: false, enumerable: true, configurable: true });
  m.extra = 2;
  expect(real.extra).toBe(2);
  delete m.extra;
  expect('extra' in real).toBe(false);
  expect(loads).toBe(1);
});
