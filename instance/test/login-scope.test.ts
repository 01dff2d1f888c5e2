/**
 * Logging in is a w right, so the login QR (and pairing code) is too: an r token gets 403 on GET /v1/session/qr and
 * no QR or pairing-code events from the live event stream (other events still reach it); w and rw tokens keep them.
 */
import { LiveEvents, type LiveEvent } from '../src/services/live-events.js';
import { withInstanceOnSimnet } from './harness.js';

const env = withInstanceOnSimnet();

test('GET /v1/session/qr: an r token gets 403 forbidden while a QR is pending; w and rw get the QR', async () => {
  const [r, w, rw] = [await env.inst.token('r'), await env.inst.token('w'), await env.inst.token('rw')];
  const login = await env.inst.api('POST', '/v1/session/login', { token: w });
  expect(login.status).toBe(200);
  expect(login.body.qr).toEqual(expect.any(String));
  const asR = await env.inst.api('GET', '/v1/session/qr', { token: r });
  expect([asR.status, asR.body?.error?.code]).toEqual([403, 'forbidden']);
  expect(JSON.stringify(asR.body)).not.toContain(login.body.qr);
  for (const t of [w, rw]) {
    const ok = await env.inst.api('GET', '/v1/session/qr', { token: t });
    expect(ok.status).toBe(200);
    expect(ok.body.qr).toBe(login.body.qr);
  }
});

test('the OpenAPI document lists GET /v1/session/qr with scope w', async () => {
  const doc = (await env.inst.api('GET', '/openapi.json')).body;
  const op = doc.paths['/v1/session/qr'].get;
  expect(op['x-wacloud-scope']).toBe('w');
  expect(op.summary).toMatch(/needs w/);
});

test('live events: subscribers with an r token never receive qr or pairing_code; w and rw do; other events reach all', () => {
  const live = new LiveEvents();
  const got: Record<string, string[]> = { r: [], w: [], rw: [] };
  for (const p of ['r', 'w', 'rw'] as const) live.subscribe((e: LiveEvent) => got[p]!.push(e.event), p);
  live.publish('session.status', { state: 'SCAN_QR_CODE' });
  live.publish('qr', { qr: 'secret-qr', image: 'data:image/png;base64,' });
  live.publish('pairing_code', { code: 'ABCD-EFGH' });
  live.publish('message', { id: 'm1' });
  expect(got.r).toEqual(['session.status', 'message']);
  expect(got.w).toEqual(['session.status', 'qr', 'pairing_code', 'message']);
  expect(got.rw).toEqual(['session.status', 'qr', 'pairing_code', 'message']);
});
