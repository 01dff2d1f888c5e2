/**
 * The instance's public port under hostile clients: TCP resets during a `/v1/events` upgrade (while the token is being
 * looked up in the database) must not end the process; `/health` without a token shows the state, never the linked
 * account; the internal token check answers valid / invalid with the permissions.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import WebSocket from 'ws';
import { eventually } from '@wacloud/testenv';
import { withInstanceOnSimnet } from './harness.js';

const env = withInstanceOnSimnet();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends a WebSocket upgrade for /v1/events with `token`, waits `delayMs`, then resets the TCP connection (RST). */
async function resetDuringUpgrade(token: string, delayMs: number): Promise<void> {
  const s = net.connect(Number(new URL(env.inst.publicUrl).port), '127.0.0.1');
  s.on('error', () => {});
  await once(s, 'connect');
  s.write(
    `GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nAuthorization: Bearer ${token}\r\n\r\n`,
  );
  await sleep(delayMs);
  s.resetAndDestroy();
}

test('TCP resets during /v1/events upgrades (bogus and well-formed tokens) leave the instance answering', async () => {
  const wellFormed = `wai_${randomBytes(8).toString('hex')}_${'A'.repeat(43)}`;
  for (const delayMs of [0, 1, 2, 3, 5, 8, 12, 20, 40]) for (const token of ['wai_x', wellFormed]) await resetDuringUpgrade(token, delayMs);
  await sleep(300);
  expect((await env.inst.api('GET', '/health')).status).toBe(200);
  const r = await env.inst.token('r');
  const ws = new WebSocket(`${env.inst.publicUrl.replace('http', 'ws')}/v1/events`, { headers: { authorization: `Bearer ${r}` } });
  const first = await new Promise<{ event: string }>((resolve, reject) => {
    ws.once('message', (d) => resolve(JSON.parse(d.toString())));
    ws.once('error', reject);
  });
  expect(first.event).toBe('session.status');
  ws.close();
});

test('/health without a token shows the session state, not the linked account', async () => {
  const w = await env.inst.token('w');
  const login = await env.inst.api('POST', '/v1/session/login', { token: w });
  expect(login.status).toBe(200);
  expect((await env.simnet.hook('/hooks/scan', { qr: login.body.qr, phone: '15550008001' })).status).toBe(200);
  await eventually(async () => (await env.inst.api('GET', '/health')).body.session.state === 'WORKING', 15_000);
  const health = await env.inst.api('GET', '/health');
  expect(health.body).toEqual({ status: 'ok', session: { state: 'WORKING' }, uptimeMs: expect.any(Number) });
});

test('POST /internal/v1/tokens/verify: valid with permissions, invalid for unknown, malformed or deleted tokens', async () => {
  const created = await env.inst.internal<{ id: string; token: string }>('POST', '/internal/v1/tokens', {
    name: 'checked',
    permissions: 'rw',
  });
  expect(await env.inst.internal('POST', '/internal/v1/tokens/verify', { token: created.body.token })).toEqual({
    status: 200,
    body: { valid: true, permissions: 'rw' },
  });
  for (const token of ['wai_x', `wai_${created.body.id}_${'A'.repeat(43)}`])
    expect(await env.inst.internal('POST', '/internal/v1/tokens/verify', { token })).toEqual({ status: 200, body: { valid: false } });
  expect((await env.inst.internal('POST', '/internal/v1/tokens/verify', { token: created.body.token }, 'wrong-key')).status).toBe(401);
  expect((await env.inst.internal('DELETE', `/internal/v1/tokens/${created.body.id}`)).status).toBe(204);
  expect(await env.inst.internal('POST', '/internal/v1/tokens/verify', { token: created.body.token })).toEqual({
    status: 200,
    body: { valid: false },
  });
});
