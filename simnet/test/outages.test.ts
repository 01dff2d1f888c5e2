/**
 * Outages on the simulated network, over the wire protocol with bare devices: `ready` after a link or a resume, a
 * dropped connection (`/hooks/disconnect`), a phone that stays offline (resumes closed with 1013) until `/hooks/online`.
 */
import WebSocket from 'ws';
import { createSimnetServer, SIMNET_WS_PATH, type ServerFrame, type SimnetServer } from '../src/index.js';
import { hook, linkedDevice } from './device.js';

let server: SimnetServer;
beforeEach(async () => {
  server = await createSimnetServer({ port: 0 });
});
afterEach(async () => server.close());

/** Opens a socket, sends `resume` with `session` and collects frames until the socket closes or `ready` arrives. */
function resume(session: { deviceId: string; token: string }): Promise<{ frames: string[]; close?: { code: number; reason: string } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}${SIMNET_WS_PATH}`);
    const frames: string[] = [];
    ws.once('open', () => ws.send(JSON.stringify({ type: 'resume', ...session })));
    ws.on('message', (d) => {
      const frame = JSON.parse(String(d)) as ServerFrame;
      frames.push(frame.type);
      if (frame.type === 'ready') {
        ws.close();
        resolve({ frames });
      }
    });
    ws.once('close', (code, reason) => resolve({ frames, close: { code, reason: reason.toString() } }));
    ws.once('error', reject);
  });
}

test('ready follows the link and each resume; a dropped device resumes; an offline phone keeps its devices out', async () => {
  const { device, session } = await linkedDevice(server.url, '15550009001');
  await device.next('ready');
  const closed = new Promise<number>((resolve) => (device as unknown as { ws: WebSocket }).ws.once('close', (code) => resolve(code)));

  expect((await hook(server.url, 'POST', '/disconnect', { phone: '15550009001' })).body).toEqual({ dropped: 1, offline: false });
  expect(await closed).toBe(1006); // no close handshake: a network drop
  expect(await resume(session)).toEqual({ frames: ['resumed', 'ready'] });

  // (the resume above may still be closing: how many connections were dropped does not matter here)
  expect((await hook(server.url, 'POST', '/disconnect', { phone: '15550009001', offline: true })).body.offline).toBe(true);
  expect(await resume(session)).toEqual({ frames: [], close: { code: 1013, reason: 'phone offline' } });
  expect((await hook(server.url, 'POST', '/online', { phone: '15550009001' })).body).toEqual({ offline: false });
  expect(await resume(session)).toEqual({ frames: ['resumed', 'ready'] });

  expect((await hook(server.url, 'POST', '/disconnect', { phone: '15550009999' })).status).toBe(404);
  expect((await hook(server.url, 'POST', '/disconnect', { phone: 'x' })).status).toBe(400);
});
