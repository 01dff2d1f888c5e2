/**
 * The gateway's WebSocket relay under a burst, at the Gateway's own seam: a real WebSocket server stands where an
 * instance's `/v1/events` would be and sends a burst of frames at once; a client connected through the gateway must
 * get every one, in order, as they were sent (text and binary). The relay sends the frames of one burst to the client
 * in one write (its socket corked for that turn of the event loop) — a frame left behind by that would never arrive.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { pino } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { Gateway } from '../src/gateway.js';
import type { InstanceEndpoints } from '../src/providers/index.js';
import { INSTANCE_TOKEN as token, answerTokenCheck, listen as listenOn } from './gateway-stand-in.js';

const BURST = 2_000;
let upstream: http.Server;
let gatewayServer: http.Server;
let gatewayUrl: string;
/** Every TCP connection either server accepted (upgraded ones too), destroyed at the end. */
const sockets = new Set<Socket>();

const listen = (s: http.Server) => listenOn(s.on('connection', (c) => sockets.add(c)));

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    if (!answerTokenCheck(req, res)) res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ server: upstream, path: '/v1/events' });
  wss.on('connection', (ws) => {
    // Frames one by one in one turn (as an instance sends a backlog), then a burst of later ones on the next turns.
    for (let i = 0; i < BURST / 2; i++) ws.send(JSON.stringify({ i }));
    setTimeout(() => {
      for (let i = BURST / 2; i < BURST; i++) ws.send(i % 10 === 0 ? Buffer.from([i & 0xff, i >> 8]) : JSON.stringify({ i }));
    }, 20);
  });
  const upstreamUrl = await listen(upstream);
  const ep: InstanceEndpoints = { publicUrl: upstreamUrl, internalUrl: upstreamUrl, internalKey: 'test-internal-key' };
  const gateway = new Gateway({} as never, { endpoints: async () => ep }, {} as never, pino({ level: 'silent' }));
  gatewayServer = http.createServer(); // upgrades only
  gateway.attachWebSocket(gatewayServer);
  gatewayUrl = await listen(gatewayServer);
});

afterAll(async () => {
  for (const c of sockets) c.destroy();
  await Promise.all([gatewayServer, upstream].map((s) => new Promise((r) => s?.close(r))));
});

test('a burst of frames reaches the client whole and in order through the relay', async () => {
  const ws = new WebSocket(`${gatewayUrl.replace('http', 'ws')}/v1/instances/i-aaaaaaaaaaaa/api/v1/events`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const got: number[] = [];
  const all = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${BURST} frames arrived`)), 20_000);
    ws.on('message', (data: Buffer, isBinary) => {
      got.push(isBinary ? data[0]! + (data[1]! << 8) : (JSON.parse(String(data)) as { i: number }).i);
      if (got.length === BURST) {
        clearTimeout(timer);
        resolve();
      }
    });
    ws.on('error', reject);
  });
  await all.finally(() => ws.terminate());
  expect(got).toEqual(Array.from({ length: BURST }, (_, i) => i));
});
