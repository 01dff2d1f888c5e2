/** WebSocket /v1/events: live session state, messages and acks for r tokens, the QR only with w too; refused without r. */
import WebSocket from 'ws';
import { eventually } from '@wacloud/testenv';
import { withInstanceOnSimnet } from './harness.js';

const env = withInstanceOnSimnet();

function connect(url: string, headers?: Record<string, string>): Promise<{ ws: WebSocket; events: Array<{ event: string; data: any }> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const events: Array<{ event: string; data: any }> = [];
    ws.on('message', (d) => events.push(JSON.parse(d.toString())));
    ws.once('open', () => resolve({ ws, events }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

test('state, QR, messages and acks arrive live (the QR only for rw); tokens without r are refused', async () => {
  const r = await env.inst.token('r');
  const w = await env.inst.token('w');
  const rw = await env.inst.token('rw');
  const wsUrl = env.inst.publicUrl.replace('http', 'ws') + '/v1/events';
  await expect(connect(wsUrl)).rejects.toThrow('HTTP 401');
  await expect(connect(`${wsUrl}?token=${w}`)).rejects.toThrow('HTTP 403');
  const viaHeader = await connect(wsUrl, { authorization: `Bearer ${r}` });
  const { ws, events } = await connect(`${wsUrl}?token=${r}`);
  const asRw = await connect(`${wsUrl}?token=${rw}`);
  await eventually(() => events.some((e) => e.event === 'session.status' && e.data.state === 'STOPPED'));

  const login = await env.inst.api('POST', '/v1/session/login', { token: w });
  const qr = await eventually(() => asRw.events.find((e) => e.event === 'qr'));
  expect(qr.data.qr).toBe(login.body.qr);
  expect(qr.data.image).toMatch(/^data:image\/png;base64,/);
  await eventually(() => events.some((e) => e.event === 'session.status' && e.data.state === 'SCAN_QR_CODE'));
  // A subscriber connecting while the QR is pending gets it first, with w; an r-only one does not.
  const lateRw = await connect(`${wsUrl}?token=${rw}`);
  const lateR = await connect(`${wsUrl}?token=${r}`);
  await eventually(() => lateRw.events.some((e) => e.event === 'qr' && e.data.qr === login.body.qr));
  await env.simnet.hook('/hooks/scan', { qr: login.body.qr, phone: '15550000301' });
  await eventually(() => events.some((e) => e.event === 'session.status' && e.data.state === 'WORKING'));
  await eventually(() => lateR.events.some((e) => e.event === 'session.status' && e.data.state === 'WORKING'));
  for (const e of [...events, ...viaHeader.events, ...lateR.events]) expect(e.event).not.toMatch(/^(qr|pairing_code)$/);
  lateRw.ws.close();
  lateR.ws.close();
  asRw.ws.close();

  await env.simnet.hook('/hooks/accounts', { phone: '15550000302' });
  const sent = await env.inst.api('POST', '/v1/messages?wait=true', { token: w, body: { to: '15550000302', text: 'live' } });
  await eventually(() => events.some((e) => e.event === 'message' && e.data.id === sent.body.messageId && e.data.fromMe));
  await eventually(() => events.some((e) => e.event === 'message.ack' && e.data.id === sent.body.messageId && e.data.ack >= 2));
  await env.simnet.hook('/hooks/send', { from: '15550000302', to: '15550000301', text: 'incoming live' });
  await eventually(() => events.some((e) => e.event === 'message' && e.data.body === 'incoming live' && !e.data.fromMe));
  await eventually(() => viaHeader.events.some((e) => e.event === 'message' && e.data.body === 'incoming live'));
  ws.close();
  viaHeader.ws.close();
});
