/**
 * kit's idle keep-alive time (keep-alive.ts): a client that pauses longer than Node's default 5 s finds its
 * connection still open on a server with `holdIdleConnections`, and has to open a new one on a server without — the
 * client is Node's fetch (undici, as the api's gateway), which keeps a connection as long as the server's
 * `Keep-Alive: timeout=…` answer allows. Both servers are paused against at once (one wait of 5.5 s).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { IDLE_KEEP_ALIVE_MS, holdIdleConnections } from '../src/index.js';

interface Counted {
  server: http.Server;
  url: string;
  connections: () => number;
}

async function start(hold: boolean): Promise<Counted> {
  let n = 0;
  const server = http.createServer((_req, res) => res.end('ok'));
  if (hold) holdIdleConnections(server);
  server.on('connection', () => n++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, connections: () => n };
}

const servers: http.Server[] = [];
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

test('a connection idle for 5.5 s is reused with holdIdleConnections (65 s), not with Node’s default (5 s)', async () => {
  const [held, plain] = await Promise.all([start(true), start(false)]);
  servers.push(held.server, plain.server);
  expect(held.server.keepAliveTimeout).toBe(IDLE_KEEP_ALIVE_MS);
  const get = async (s: Counted) => {
    const res = await fetch(s.url);
    await res.text();
    return res.headers.get('keep-alive');
  };
  expect(await get(held)).toBe(`timeout=${IDLE_KEEP_ALIVE_MS / 1000}`);
  expect(await get(plain)).toBe('timeout=5');
  await new Promise((r) => setTimeout(r, 5_500));
  await Promise.all([get(held), get(plain)]);
  expect({ held: held.connections(), plain: plain.connections() }).toEqual({ held: 1, plain: 2 });
}, 20_000);
