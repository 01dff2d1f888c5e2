/**
 * The simulated network over its wire protocol: bare WebSocket devices (no engine) against a real server on a
 * loopback port, the HTTP hooks playing the phones.
 */
import { eventually } from '@wacloud/testenv';
import { createSimnetServer, type SimnetServer, type SimnetServerOptions } from '../src/index.js';
import { TestDevice, hook, linkedDevice } from './device.js';

const QR_SHAPE = /^2@[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+$/;
const servers: SimnetServer[] = [];
const devices: TestDevice[] = [];

afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function startServer(options: Partial<SimnetServerOptions> = {}): Promise<SimnetServer> {
  const server = await createSimnetServer({ port: 0, ...options });
  servers.push(server);
  return server;
}

async function linked(server: SimnetServer, phone: string, pushname?: string) {
  const made = await linkedDevice(server.url, phone, pushname);
  devices.push(made.device);
  return made;
}

describe('login', () => {
  it('shows rotating QRs, links the scanning phone and hands out credentials that resume', async () => {
    const server = await startServer({ qrIntervalMs: 500, qrMaxCount: 50 });
    const device = await TestDevice.connect(server.url);
    devices.push(device);
    device.send({ type: 'login' });
    const first = await device.next('qr');
    expect(first.qr).toMatch(QR_SHAPE);
    expect(first.expiresInMs).toBe(500);
    await device.next('qr', (f) => f.qr !== first.qr);
    expect((await hook(server.url, 'POST', '/scan', { qr: first.qr, phone: '15550001001' })).status).toBe(404);
    const logins = (await hook(server.url, 'GET', '/logins')).body.logins as Array<{ qr: string }>;
    expect(logins).toHaveLength(1);

    const scan = await hook(server.url, 'POST', '/scan', { qr: logins[0]!.qr, phone: '+15550001001', pushname: 'Ann' });
    expect(scan).toEqual({ status: 200, body: { account: { id: '15550001001@c.us', phone: '15550001001', pushname: 'Ann' } } });
    const auth = await device.next('authenticated');
    expect(auth.account).toEqual({ id: '15550001001@c.us', phone: '15550001001', pushname: 'Ann' });
    expect(auth.session.deviceId).toBeTruthy();
    await device.close();

    const again = await TestDevice.connect(server.url);
    devices.push(again);
    again.send({ type: 'resume', ...auth.session });
    expect((await again.next('resumed')).account.id).toBe('15550001001@c.us');
    const forged = await TestDevice.connect(server.url);
    devices.push(forged);
    forged.send({ type: 'resume', deviceId: auth.session.deviceId, token: 'not-the-token' });
    expect((await forged.next('session_invalid')).reason).toMatch(/not linked/);
  });

  it('fails a login nobody scans after the configured number of QRs', async () => {
    const server = await startServer({ qrIntervalMs: 50, qrMaxCount: 3 });
    const device = await TestDevice.connect(server.url);
    devices.push(device);
    device.send({ type: 'login' });
    const failed = await device.next('login_failed');
    expect(failed.reason).toMatch(/QR code not scanned in time \(3 codes shown/);
    expect(device.frames.filter((f) => f.type === 'qr')).toHaveLength(3);
  });

  it('links with a pairing code for a phone number', async () => {
    const server = await startServer();
    const device = await TestDevice.connect(server.url);
    devices.push(device);
    device.send({ type: 'login', phone: '15550001002' });
    const { code } = await device.next('pairing_code');
    expect(code).toMatch(/^[1-9A-HJ-NP-TV-Z]{8}$/);
    expect((await hook(server.url, 'POST', '/pair', { code: `${code.slice(0, 4)}-${code.slice(4)}` })).status).toBe(200);
    expect((await device.next('authenticated')).account.phone).toBe('15550001002');
  });

  it('a second connection resuming the same credentials takes over; the first gets conflict', async () => {
    const server = await startServer();
    const { device, session } = await linked(server, '15550001003');
    const other = await TestDevice.connect(server.url);
    devices.push(other);
    other.send({ type: 'resume', ...session });
    await other.next('resumed');
    expect((await device.next('conflict')).reason).toMatch(/another connection/);
  });
});

describe('messages', () => {
  it('delivers between devices: response first, push to the recipient, confirmation = ack 2, read = ack 3', async () => {
    const server = await startServer();
    const alice = await linked(server, '15550002001', 'Alice');
    const bob = await linked(server, '15550002002', 'Bob');
    const res = await alice.device.request({ type: 'send', to: '15550002002@c.us', key: 'ABCDEF0123456789ABCD', body: 'hi bob' });
    expect(res).toMatchObject({
      ok: true,
      result: { message: { id: 'true_15550002002@c.us_ABCDEF0123456789ABCD', fromMe: true, ack: 1, body: 'hi bob' } },
    });
    const atBob = await eventuallyFind(() => bob.device.pushedMessages().find((m) => m.body === 'hi bob'));
    expect(atBob).toMatchObject({
      id: 'false_15550002001@c.us_ABCDEF0123456789ABCD',
      fromMe: false,
      chatId: '15550002001@c.us',
      author: '15550002001@c.us',
    });
    const sentId = 'true_15550002002@c.us_ABCDEF0123456789ABCD';
    await eventuallyFind(() => alice.device.ackOf(sentId) === 2);
    expect(await hook(server.url, 'POST', '/read', { phone: '15550002002', chatId: '15550002001@c.us' })).toEqual({
      status: 200,
      body: { read: 1 },
    });
    await eventuallyFind(() => alice.device.ackOf(sentId) === 3);
    // The same key again is the same message, not a second one.
    const dup = await alice.device.request({ type: 'send', to: '15550002002@c.us', key: 'ABCDEF0123456789ABCD', body: 'hi bob' });
    expect(dup).toMatchObject({ ok: true, result: { message: { id: sentId } } });
  });

  it('pushes not confirmed are sent again on the next connection; confirmed ones are not', async () => {
    const server = await startServer();
    const bob = await linkedDevice(server.url, '15550003002');
    bob.device.autoConfirm = false;
    await hook(server.url, 'POST', '/accounts', { phone: '15550003001' });
    const sent = await hook(server.url, 'POST', '/send', { from: '15550003001', to: '15550003002', text: 'unconfirmed' });
    expect(sent.status).toBe(201);
    const push = await bob.device.next('push', (f) => f.event.kind === 'message');
    await bob.device.close();

    const again = await TestDevice.connect(server.url, false);
    devices.push(again);
    again.send({ type: 'resume', ...bob.session });
    const replay = await again.next('push', (f) => f.event.kind === 'message');
    expect(replay.seq).toBe(push.seq);
    again.send({ type: 'received', seq: replay.seq });
    await again.close();

    const third = await TestDevice.connect(server.url, false);
    devices.push(third);
    third.send({ type: 'resume', ...bob.session });
    await third.next('resumed');
    await new Promise((r) => setTimeout(r, 200));
    expect(third.pushedMessages()).toEqual([]);
  });

  it('answers requests with coded errors: unknown number, unknown group, not linked', async () => {
    const server = await startServer();
    const alice = await linked(server, '15550004001');
    const unknown = await alice.device.request({ type: 'send', to: '19999999999@c.us', key: '00000000000000000001', body: 'x' });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'number_not_on_whatsapp' } });
    const group = await alice.device.request({ type: 'send', to: '120363000000000000@g.us', key: '00000000000000000002', body: 'x' });
    expect(group).toMatchObject({ ok: false, error: { code: 'chat_not_found' } });
    const stranger = await TestDevice.connect(server.url);
    devices.push(stranger);
    expect(await stranger.request({ type: 'chats' })).toMatchObject({ ok: false, error: { code: 'not_authenticated' } });
  });
});

describe('server robustness', () => {
  it('answers /health and rejects bad hook input with 400 and unknown things with 404', async () => {
    const server = await startServer();
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', accounts: 0 });

    const cases: Array<[string, unknown]> = [
      ['/scan', { phone: '15550000081' }],
      ['/scan', { qr: 'x', phone: 'not-a-number' }],
      ['/accounts', { phone: '123' }],
      ['/send', { from: '15550000081', to: '15550000082' }],
      ['/groups', { name: 'G', owner: '15550000081', participants: 'nope' }],
      ['/read', {}],
      ['/pair', { code: 'short' }],
      ['/send', '{"not json'],
    ];
    for (const [route, body] of cases) {
      const res = await hook(server.url, 'POST', route, body);
      expect([route, res.status]).toEqual([route, 400]);
      expect(res.body.error?.code).toMatch(/^invalid_(request|json)$/);
      expect(typeof res.body.error?.message).toBe('string');
    }
    expect((await hook(server.url, 'POST', '/scan', { qr: '2@nope', phone: '15550000081' })).status).toBe(404);
    expect((await hook(server.url, 'POST', '/send', { from: '15550000081', to: '15550000082', text: 'x' })).body.error?.code).toBe(
      'account_not_found',
    );
    expect((await hook(server.url, 'GET', '/accounts/15550000081/messages')).status).toBe(404);
    expect((await hook(server.url, 'POST', '/groups', { name: 'G', owner: '15550000081', participants: [] })).status).toBe(404);
    await hook(server.url, 'POST', '/accounts', { phone: '15550000081' });
    const notOnWa = await hook(server.url, 'POST', '/send', { from: '15550000081', to: '15550000082', text: 'x' });
    expect([notOnWa.status, notOnWa.body.error?.code]).toEqual([404, 'number_not_on_whatsapp']);
  });

  it('survives malformed WebSocket frames and answers them with an error frame', async () => {
    const server = await startServer();
    const device = await TestDevice.connect(server.url);
    devices.push(device);
    const raw = (device as unknown as { ws: { send(d: unknown, o?: unknown): void } }).ws;
    raw.send('not json');
    raw.send(JSON.stringify({ type: 'nope' }));
    raw.send(JSON.stringify({ type: 'send', reqId: 1, to: 'x', key: 'bad', body: '' }));
    raw.send(Buffer.from([1, 2, 3]), { binary: true });
    raw.send(JSON.stringify({ type: 'contacts', reqId: 7 }));
    await eventuallyFind(() => device.frames.length === 5);
    expect(device.frames.map((f) => [f.type, 'reqId' in f ? f.reqId : undefined, 'error' in f ? f.error.code : undefined])).toEqual([
      ['error', undefined, 'bad_frame'],
      ['error', undefined, 'bad_frame'],
      ['response', 1, 'invalid_request'], // a request with a reqId is answered, so its sender never hangs
      ['error', undefined, 'bad_frame'],
      ['response', 7, 'not_authenticated'],
    ]);
    device.send({ type: 'login' });
    await device.next('qr');
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });
});

/** Waits for a truthy value (5 s). */
function eventuallyFind<T>(fn: () => T | Promise<T>): Promise<NonNullable<T>> {
  return eventually(fn, 5_000, 10);
}
