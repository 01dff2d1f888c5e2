/**
 * KubeTransport's watch and request edges that a healthy kube-apiserver does not produce on demand (the informer's
 * watches against a real apiserver are in runtime-cluster.test.ts): a server on loopback that streams events in
 * awkward chunks, breaks a line, hangs up mid-stream, refuses the watch, or stops sending.
 */
import http from 'node:http';
import type net from 'node:net';
import { ApiServerError, isUnreachable } from '../src/client/errors.js';
import type { KubeConfigLike } from '../src/client/kubeconfig.js';
import { KubeTransport } from '../src/client/transport.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
let handler: Handler = (_req, res) => res.end();
let server: http.Server;
let transport: KubeTransport;
const sockets = new Set<net.Socket>();

beforeAll(async () => {
  server = http.createServer((req, res) => handler(req, res));
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const kc: KubeConfigLike = { getCurrentCluster: () => ({ server: url }), getCurrentUser: () => ({}) };
  transport = KubeTransport.for(kc);
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a watch of `/w` to its end: the events seen and how it ended. */
async function watchAll(idleTimeoutMs = 5_000): Promise<{ events: [string, unknown][]; error?: unknown }> {
  const events: [string, unknown][] = [];
  try {
    await transport.watch('/w?watch=true', { signal: new AbortController().signal, idleTimeoutMs }, (t, o) => events.push([t, o]));
    return { events };
  } catch (error) {
    return { events, error };
  }
}

/** Writes `parts` one by one, each after the previous one was flushed and a pause. */
async function writeSlowly(res: http.ServerResponse, parts: (string | Buffer)[]): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json' });
  for (const p of parts) {
    await new Promise<void>((r) => res.write(p, () => r()));
    await sleep(15);
  }
}

test('events cut anywhere — inside a line, between lines, inside a UTF-8 character — arrive whole and in order', async () => {
  const line = (n: number, name: string) => JSON.stringify({ type: 'ADDED', object: { n, name } }) + '\n';
  const all = Buffer.from(line(1, 'café') + line(2, 'ünïcødé ✓') + '\n' + line(3, 'plain'));
  const e = all.indexOf(Buffer.from('é')); // cut the 2-byte é of "café" in two
  handler = (_req, res) => {
    void writeSlowly(res, [all.subarray(0, e + 1), all.subarray(e + 1, e + 30), all.subarray(e + 30)]).then(() => res.end());
  };
  const r = await watchAll();
  expect(r.error).toBeUndefined();
  expect(r.events).toEqual([
    ['ADDED', { n: 1, name: 'café' }],
    ['ADDED', { n: 2, name: 'ünïcødé ✓' }],
    ['ADDED', { n: 3, name: 'plain' }],
  ]);
});

test('a line that is not JSON ends the watch as `unreachable`, after the events before it', async () => {
  handler = (_req, res) => {
    void writeSlowly(res, ['{"type":"ADDED","object":{"n":1}}\n', 'not json\n', '{"type":"ADDED","object":{"n":2}}\n']).then(() =>
      res.end(),
    );
  };
  const r = await watchAll();
  expect(r.events).toEqual([['ADDED', { n: 1 }]]);
  expect(isUnreachable(r.error)).toBe(true);
  expect((r.error as ApiServerError).message).toMatch(/^WATCH \/w\?watch=true/);
});

test('a server hanging up mid-stream ends the watch like its own end (the informer watches again)', async () => {
  handler = (req, res) => {
    void writeSlowly(res, ['{"type":"ADDED","object":{"n":1}}\n', '{"type":"MOD']).then(() => req.socket.destroy());
  };
  const r = await watchAll();
  expect(r.error).toBeUndefined();
  expect(r.events).toEqual([['ADDED', { n: 1 }]]);
});

test('a refused watch is `rejected` with the Status of its body', async () => {
  handler = (_req, res) => {
    res.writeHead(410, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', reason: 'Expired', message: 'too old resource version: 1 (42)', code: 410 }));
  };
  const r = await watchAll();
  expect(r.events).toEqual([]);
  expect(r.error).toBeInstanceOf(ApiServerError);
  expect(r.error).toMatchObject({ code: 'rejected', status: 410, reason: 'Expired' });
});

test('a watch with no byte for its idle time ends (the connection is taken for dead); no head in that time is `unreachable`', async () => {
  handler = (_req, res) => void writeSlowly(res, ['{"type":"BOOKMARK","object":{}}\n']); // then silence
  const idle = await watchAll(300);
  expect(idle.error).toBeUndefined();
  expect(idle.events).toEqual([['BOOKMARK', {}]]);

  handler = () => undefined; // never answers
  const silent = await watchAll(300);
  expect(isUnreachable(silent.error)).toBe(true);
  expect((silent.error as Error).message).toMatch(/no response within 300 ms/);
});

test('a request whose body stops is `unreachable`; the caller aborting a request in flight gets its AbortError', async () => {
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.write('{"partial":');
  };
  const stalled = await transport.request({ method: 'GET', path: '/x', timeoutMs: 300 }).catch((e: unknown) => e);
  expect(isUnreachable(stalled)).toBe(true);
  expect((stalled as Error).message).toMatch(/no byte of the body within 300 ms/);

  handler = () => undefined;
  const ctl = new AbortController();
  const pending = transport.request({ method: 'POST', path: '/y', body: { a: 1 }, signal: ctl.signal }).catch((e: unknown) => e);
  await sleep(50);
  ctl.abort();
  const aborted = await pending;
  expect((aborted as Error).name).toBe('AbortError');
  expect(aborted).not.toBeInstanceOf(ApiServerError);
});

test('a request sends its JSON body with its length and reads the answer whole', async () => {
  let seen: { method?: string; type?: string; length?: string; body?: string } = {};
  handler = (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen = { method: req.method, type: req.headers['content-type'], length: req.headers['content-length'], body };
      res.writeHead(201, { 'content-type': 'application/json' });
      // An answer in several chunks (chunked encoding).
      res.write('{"metadata":{"name":"ü');
      setTimeout(() => res.end('"}}'), 10);
    });
  };
  const out = await transport.request<{ metadata: { name: string } }>({
    method: 'PATCH',
    path: '/z',
    body: { spec: { note: 'é' } },
    contentType: 'application/merge-patch+json',
  });
  expect(out).toEqual({ metadata: { name: 'ü' } });
  expect(seen).toEqual({
    method: 'PATCH',
    type: 'application/merge-patch+json',
    length: String(Buffer.byteLength('{"spec":{"note":"é"}}')),
    body: '{"spec":{"note":"é"}}',
  });
});
