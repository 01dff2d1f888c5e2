/**
 * The `simulated` engine against the simulated WhatsApp network, end to end and without mocks: a real simnet server
 * (`@wacloud/simnet`) on a loopback port, real engines connected over WebSocket, the server's HTTP hooks playing the
 * phones. The network's own tests (hooks, frames, the CLI) live in the simnet workspace.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { eventually, freePort } from '@wacloud/testenv';
import { createSimnetServer } from '@wacloud/simnet';
import { EngineError, EngineNotReadyError, type EngineMessage } from '../src/engines/engine.js';
import { SESSION_FILE } from '../src/engines/simulated/engine.js';
import {
  KEY_SHAPE,
  PNG_SIGNATURE,
  QR_SHAPE,
  ackOf,
  hook,
  keyOf,
  linked,
  makeEngine,
  startServer,
  type Recorded,
} from './simulated-fixtures.js';

describe('login', () => {
  it('shows a WhatsApp-shaped QR, links on scan, stores the session and reports the account', async () => {
    const server = await startServer();
    const { engine, rec, dataDir } = makeEngine(server);
    expect(engine.state()).toBe('STOPPED');
    await engine.start();
    expect(engine.state()).toBe('SCAN_QR_CODE');
    expect(engine.qr()).toMatch(QR_SHAPE);
    expect(rec.qrs).toEqual([engine.qr()]);
    expect(rec.states.map(([s]) => s)).toEqual(['STARTING', 'SCAN_QR_CODE']);
    const png = await engine.screenshot();
    expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);

    const authenticated = new Promise((resolve) => engine.once('authenticated', resolve));
    const scan = await hook(server, 'POST', '/scan', { qr: engine.qr(), phone: '15550000001', pushname: 'Alice' });
    expect(scan).toEqual({ status: 200, body: { account: { id: '15550000001@c.us', phone: '15550000001', pushname: 'Alice' } } });
    expect(await authenticated).toEqual({ id: '15550000001@c.us', phone: '15550000001', pushname: 'Alice' });
    await eventually(() => engine.state() === 'WORKING');
    expect(engine.account()).toEqual({ id: '15550000001@c.us', phone: '15550000001', pushname: 'Alice' });
    expect(engine.qr()).toBeUndefined();
    const stored = JSON.parse(readFileSync(path.join(dataDir, SESSION_FILE), 'utf8')) as { deviceId: string; token: string };
    expect(stored.deviceId).toBeTruthy();
    expect(stored.token).toBeTruthy();
    expect((await engine.screenshot()).subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(await engine.memoryBytes()).toBeUndefined();

    // A scanned QR is spent.
    const again = await hook(server, 'POST', '/scan', { qr: rec.qrs[0], phone: '15550000009' });
    expect(again.status).toBe(404);
    expect(again.body.error?.code).toBe('qr_not_found');
  });

  it('rotates QRs and fails the login after the configured count without a scan', async () => {
    const server = await startServer({ qrIntervalMs: 150, qrMaxCount: 3 });
    const { engine, rec } = makeEngine(server);
    await engine.start();
    await eventually(() => engine.state() === 'FAILED', 5_000, 20);
    expect(rec.qrs).toHaveLength(3);
    expect(new Set(rec.qrs).size).toBe(3);
    for (const qr of rec.qrs) expect(qr).toMatch(QR_SHAPE);
    expect(engine.stateReason()).toMatch(/QR code not scanned in time/);
    expect(rec.states.map(([s]) => s)).toEqual(['STARTING', 'SCAN_QR_CODE', 'FAILED']);
    // Only the QR on screen is scannable; the rotated-away ones are 404.
    expect((await hook(server, 'POST', '/scan', { qr: rec.qrs[0], phone: '15550000001' })).status).toBe(404);
    await expect(engine.screenshot()).resolves.toBeInstanceOf(Buffer);
  });

  it('an old QR is rejected while the current one links', async () => {
    const server = await startServer({ qrIntervalMs: 150, qrMaxCount: 50 });
    const { engine, rec } = makeEngine(server);
    await engine.start();
    await eventually(() => rec.qrs.length >= 2, 5_000, 20);
    expect((await hook(server, 'POST', '/scan', { qr: rec.qrs[0], phone: '15550000001' })).status).toBe(404);
    expect((await hook(server, 'POST', '/scan', { qr: engine.qr(), phone: '15550000001' })).status).toBe(200);
    await eventually(() => engine.state() === 'WORKING');
  });

  it('logs in with a pairing code for a phone number', async () => {
    const server = await startServer();
    const { engine, rec } = makeEngine(server);
    await engine.start({ phone: '+1 555 000 0002' });
    expect(engine.state()).toBe('SCAN_QR_CODE');
    const code = engine.pairingCode();
    expect(code).toMatch(/^[1-9A-HJ-NP-TV-Z]{8}$/);
    expect(rec.codes).toEqual([code]);
    expect(rec.qrs).toEqual([]);
    const wrong = await hook(server, 'POST', '/pair', { code: 'ZZZZ-ZZZZ' });
    expect(wrong.status).toBe(404);
    const pair = await hook(server, 'POST', '/pair', { code: `${code!.slice(0, 4)}-${code!.slice(4).toLowerCase()}`, pushname: 'Bob' });
    expect(pair.status).toBe(200);
    await eventually(() => engine.state() === 'WORKING');
    expect(engine.account()).toEqual({ id: '15550000002@c.us', phone: '15550000002', pushname: 'Bob' });
    expect(engine.pairingCode()).toBeUndefined();
  });

  it('resumes from the stored session without a QR, even in a new engine object', async () => {
    const server = await startServer();
    const first = await linked(server, '15550000003', 'Carol');
    await first.engine.stop();
    expect(first.engine.state()).toBe('STOPPED');
    expect(first.engine.stateReason()).toBe('stopped');

    const second = makeEngine(server, first.dataDir);
    await second.engine.start();
    expect(second.engine.state()).toBe('WORKING');
    expect(second.rec.qrs).toEqual([]);
    expect(second.rec.authenticated).toBe(1);
    expect(second.rec.states.map(([s]) => s)).toEqual(['STARTING', 'AUTHENTICATING', 'WORKING']);
    expect(second.engine.account()?.id).toBe('15550000003@c.us');
  });

  it('logout unlinks the device and deletes the session: the next start needs a new QR', async () => {
    const server = await startServer();
    const { engine, dataDir, rec } = await linked(server, '15550000004');
    const stored = readFileSync(path.join(dataDir, SESSION_FILE), 'utf8');
    await engine.logout();
    expect(engine.state()).toBe('STOPPED');
    expect(engine.stateReason()).toBe('logged out');
    expect(existsSync(path.join(dataDir, SESSION_FILE))).toBe(false);

    await engine.start();
    expect(engine.state()).toBe('SCAN_QR_CODE');
    expect(rec.qrs).toHaveLength(2);
    await engine.stop();

    // The old credentials are dead on the network: a copy of them leads to a fresh QR login.
    writeFileSync(path.join(dataDir, SESSION_FILE), stored);
    await engine.start();
    expect(engine.state()).toBe('SCAN_QR_CODE');
    expect(existsSync(path.join(dataDir, SESSION_FILE))).toBe(false);
  });

  it('unlinking from the phone logs the engine out', async () => {
    const server = await startServer();
    const { engine, dataDir } = await linked(server, '15550000005');
    expect(await hook(server, 'POST', '/unlink', { phone: '15550000005' })).toEqual({ status: 200, body: { unlinked: 1 } });
    await eventually(() => engine.state() === 'STOPPED');
    expect(engine.stateReason()).toBe('logged out');
    expect(existsSync(path.join(dataDir, SESSION_FILE))).toBe(false);
  });

  it('a second connection resuming the same session takes it over; the first stops with a conflict', async () => {
    const server = await startServer();
    const first = await linked(server, '15550000006');
    const second = makeEngine(server, first.dataDir);
    await second.engine.start();
    expect(second.engine.state()).toBe('WORKING');
    await eventually(() => first.engine.state() === 'STOPPED');
    expect(first.engine.stateReason()).toMatch(/^conflict: /);
    expect(existsSync(path.join(first.dataDir, SESSION_FILE))).toBe(true);
  });

  it('start() is idempotent and stop() during STARTING settles it', async () => {
    const server = await startServer();
    const { engine, rec } = makeEngine(server);
    await Promise.all([engine.start(), engine.start(), engine.start()]);
    expect(rec.qrs).toHaveLength(1);
    await engine.stop();
    await engine.stop();
    expect(rec.states.filter(([s]) => s === 'STOPPED')).toHaveLength(1);
  });
});

describe('connection failures', () => {
  it('ends in FAILED with a reason when the network is unreachable at start (never throws)', async () => {
    const port = await freePort();
    const { engine, rec } = makeEngine({ url: `http://127.0.0.1:${port}` }, undefined, {
      reconnect: { initialDelayMs: 20, maxDelayMs: 40, maxAttempts: 2 },
    });
    await expect(engine.start()).resolves.toBeUndefined();
    await eventually(() => engine.state() === 'FAILED');
    expect(engine.stateReason()).toMatch(/unreachable at ws:\/\/127\.0\.0\.1:\d+\/ws.*; gave up after 2 reconnect attempts/);
    expect(rec.states.map(([s]) => s)).toEqual(['STARTING', 'DISCONNECTED', 'STARTING', 'DISCONNECTED', 'STARTING', 'FAILED']);
    expect(engine.reconnectStatus()).toMatchObject({ attempt: 2, maxAttempts: 2, exhausted: true });
  });

  it('reconnects with backoff after the connection drops and resumes the session', async () => {
    const server = await startServer();
    const alice = await linked(server, '15550000011');
    const bob = await linked(server, '15550000012');
    server.disconnectAll();
    const workingCount = (rec: Recorded) => rec.states.filter(([s]) => s === 'WORKING').length;
    await eventually(() => workingCount(alice.rec) === 2 && workingCount(bob.rec) === 2);
    expect(alice.rec.states.slice(-4)).toEqual([
      ['DISCONNECTED', 'connection to the simulated network lost (1006)'],
      ['STARTING', 'reconnecting (attempt 1 of 20)'],
      ['AUTHENTICATING', undefined],
      ['WORKING', undefined],
    ]);
    expect(alice.engine.reconnectStatus()).toBeUndefined();
    expect(alice.rec.qrs).toHaveLength(1);
    const sent = await alice.engine.sendText('15550000012@c.us', 'still here');
    await eventually(() => bob.rec.messages.some((m) => m.id === `false_15550000011@c.us_${keyOf(sent.id)}`));
  });

  it('gets a new QR when the network forgot the device (server restarted)', async () => {
    const port = await freePort();
    const first = await createSimnetServer({ port });
    const made = makeEngine(first, undefined, { reconnect: { initialDelayMs: 20, maxDelayMs: 100 } });
    await made.engine.start();
    await hook(first, 'POST', '/scan', { qr: made.engine.qr(), phone: '15550000013' });
    await eventually(() => made.engine.state() === 'WORKING');
    await first.close();
    await eventually(() => made.engine.state() === 'DISCONNECTED');
    const second = await startServer({ port });
    await eventually(() => made.engine.state() === 'SCAN_QR_CODE');
    expect(made.rec.qrs).toHaveLength(2);
    expect(existsSync(path.join(made.dataDir, SESSION_FILE))).toBe(false);
    expect((await hook(second, 'POST', '/scan', { qr: made.engine.qr(), phone: '15550000013' })).status).toBe(200);
    await eventually(() => made.engine.state() === 'WORKING');
  });
});

describe('messaging', () => {
  it('two engines exchange messages with acks 1 → 2 → 3, shared keys, contacts and chats', async () => {
    const server = await startServer();
    const alice = await linked(server, '15550000021', 'Alice');
    const bob = await linked(server, '15550000022', 'Bob');

    const sent = await alice.engine.sendText('15550000022', 'hello bob');
    expect(sent).toMatchObject({
      chatId: '15550000022@c.us',
      author: '15550000021@c.us',
      fromMe: true,
      isGroup: false,
      type: 'chat',
      body: 'hello bob',
      ack: 1,
    });
    expect(sent.id).toMatch(/^true_15550000022@c\.us_[0-9A-F]{20}$/);
    expect(keyOf(sent.id)).toMatch(KEY_SHAPE);
    expect(Math.abs(sent.timestamp - Date.now())).toBeLessThan(5_000);
    expect(alice.rec.messages).toContainEqual(sent);

    const received = await eventually(() => bob.rec.messages.find((m) => m.body === 'hello bob'));
    expect(received).toMatchObject({
      id: `false_15550000021@c.us_${keyOf(sent.id)}`,
      chatId: '15550000021@c.us',
      author: '15550000021@c.us',
      fromMe: false,
      isGroup: false,
      timestamp: sent.timestamp,
    });
    expect(bob.rec.contacts).toContainEqual(
      expect.objectContaining({ id: '15550000021@c.us', number: '15550000021', pushname: 'Alice', isGroup: false }),
    );
    expect(bob.rec.chats).toContainEqual(
      expect.objectContaining({ id: '15550000021@c.us', name: 'Alice', isGroup: false, unreadCount: 1 }),
    );
    expect(alice.rec.chats).toContainEqual(expect.objectContaining({ id: '15550000022@c.us', name: 'Bob' }));

    await eventually(() => ackOf(alice.rec, sent.id) === 2);
    expect(alice.rec.acks.find((a) => a.id === sent.id)).toEqual({ id: sent.id, chatId: '15550000022@c.us', ack: 2 });
    expect(await hook(server, 'POST', '/read', { phone: '15550000022', chatId: '15550000021@c.us' })).toEqual({
      status: 200,
      body: { read: 1 },
    });
    await eventually(() => ackOf(alice.rec, sent.id) === 3);
    await eventually(() => bob.rec.chats.some((c) => c.id === '15550000021@c.us' && c.unreadCount === 0 && bob.rec.chats.length > 1));

    // A reply quoting the message: each side sees the quote under its own id of that message.
    const reply = await bob.engine.sendText('15550000021@c.us', 'hi alice', { quotedMessageId: received.id });
    expect(reply.quotedMessageId).toBe(received.id);
    const replyAtAlice = await eventually(() => alice.rec.messages.find((m) => m.body === 'hi alice'));
    expect(replyAtAlice.quotedMessageId).toBe(sent.id);
    expect(replyAtAlice.fromMe).toBe(false);

    const chats = await alice.engine.chats();
    expect(chats).toEqual([
      expect.objectContaining({ id: '15550000022@c.us', isGroup: false, unreadCount: 1, lastMessageAt: replyAtAlice.timestamp }),
    ]);
    const contacts = await alice.engine.contacts();
    expect(contacts).toEqual([
      { id: '15550000022@c.us', number: '15550000022', name: 'Bob', pushname: 'Bob', isGroup: false, isMyContact: true },
    ]);
  });

  it('queues messages for an offline device and delivers them when it reconnects', async () => {
    const server = await startServer();
    const alice = await linked(server, '15550000031');
    const bob = await linked(server, '15550000032');
    await bob.engine.stop();

    const sent = await alice.engine.sendText('15550000032@c.us', 'while you were away');
    expect(sent.ack).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(ackOf(alice.rec, sent.id)).toBe(0);

    await bob.engine.start();
    expect(bob.engine.state()).toBe('WORKING');
    expect(bob.rec.qrs).toHaveLength(1);
    const got = await eventually(() => bob.rec.messages.find((m) => m.body === 'while you were away'));
    expect(got.id).toBe(`false_15550000031@c.us_${keyOf(sent.id)}`);
    await eventually(() => ackOf(alice.rec, sent.id) === 2);
    // Delivered exactly once, even across reconnects.
    server.disconnectAll();
    await eventually(() => bob.engine.state() === 'WORKING' && bob.rec.states.filter(([s]) => s === 'WORKING').length === 3);
    await new Promise((r) => setTimeout(r, 200));
    expect(bob.rec.messages.filter((m) => m.body === 'while you were away')).toHaveLength(1);
  });

  it('plain phone users send to and receive from an engine; ack 2 is immediate for an online phone', async () => {
    const server = await startServer();
    const alice = await linked(server, '15550000041', 'Alice');
    expect(await hook(server, 'POST', '/accounts', { phone: '15550000042', pushname: 'Dave' })).toEqual({
      status: 201,
      body: { account: { id: '15550000042@c.us', phone: '15550000042', pushname: 'Dave' } },
    });

    const fromDave = await hook(server, 'POST', '/send', { from: '15550000042', to: '15550000041', text: 'hi from a phone' });
    expect(fromDave.status).toBe(201);
    const daveMsg = fromDave.body.message as EngineMessage;
    const atAlice = await eventually(() => alice.rec.messages.find((m) => m.body === 'hi from a phone'));
    expect(atAlice).toMatchObject({
      fromMe: false,
      chatId: '15550000042@c.us',
      author: '15550000042@c.us',
      id: `false_15550000042@c.us_${keyOf(daveMsg.id)}`,
    });
    expect(alice.rec.contacts).toContainEqual(expect.objectContaining({ id: '15550000042@c.us', pushname: 'Dave' }));

    const sent = await alice.engine.sendText('15550000042@c.us', 'hi dave');
    await eventually(() => ackOf(alice.rec, sent.id) === 2);
    const inbox = await hook(server, 'GET', '/accounts/15550000042/messages');
    expect(inbox.body.messages).toEqual([
      expect.objectContaining({
        id: `false_15550000041@c.us_${keyOf(sent.id)}`,
        body: 'hi dave',
        fromMe: false,
        chatId: '15550000041@c.us',
        ack: 2,
      }),
    ]);
    await hook(server, 'POST', '/read', { phone: '15550000042', chatId: '15550000041' });
    await eventually(() => ackOf(alice.rec, sent.id) === 3);
  });

  it("messages sent from the account's own phone reach its engine as fromMe (multi-device)", async () => {
    const server = await startServer();
    const alice = await linked(server, '15550000051');
    const bob = await linked(server, '15550000052');
    const fromPhone = await hook(server, 'POST', '/send', { from: '15550000051', to: '15550000052@c.us', text: 'typed on the phone' });
    expect(fromPhone.status).toBe(201);
    const mine = await eventually(() => alice.rec.messages.find((m) => m.body === 'typed on the phone'));
    expect(mine).toMatchObject({
      fromMe: true,
      chatId: '15550000052@c.us',
      author: '15550000051@c.us',
      id: (fromPhone.body.message as EngineMessage).id,
    });
    await eventually(() => bob.rec.messages.some((m) => m.body === 'typed on the phone' && !m.fromMe));
    await eventually(() => ackOf(alice.rec, mine.id) === 2);

    // A second linked device of the same account gets what the first one sends.
    const aliceLaptop = await linked(server, '15550000051');
    const sent = await alice.engine.sendText('15550000052', 'from device one');
    const copy = await eventually(() => aliceLaptop.rec.messages.find((m) => m.body === 'from device one'));
    expect(copy).toMatchObject({ id: sent.id, fromMe: true });
    expect(alice.rec.messages.filter((m) => m.body === 'from device one')).toHaveLength(1);
  });

  it('rejects unknown numbers, unknown groups and sending before WORKING', async () => {
    const server = await startServer();
    const { engine, rec } = makeEngine(server);
    await expect(engine.sendText('15550000061', 'x')).rejects.toBeInstanceOf(EngineNotReadyError);
    await expect(engine.contacts()).rejects.toBeInstanceOf(EngineNotReadyError);
    await expect(engine.screenshot()).rejects.toBeInstanceOf(EngineNotReadyError);
    await engine.start();
    await expect(engine.sendText('15550000061', 'x')).rejects.toThrow(EngineNotReadyError);
    await hook(server, 'POST', '/scan', { qr: engine.qr(), phone: '15550000062' });
    await eventually(() => engine.state() === 'WORKING');

    const unknown = await engine.sendText('19999999999', 'x').catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(EngineError);
    expect((unknown as EngineError).code).toBe('number_not_on_whatsapp');
    const noGroup = await engine.sendText('120363000000000000@g.us', 'x').catch((e: unknown) => e);
    expect((noGroup as EngineError).code).toBe('chat_not_found');
    await expect(engine.sendText('15550000062', '')).rejects.toMatchObject({ code: 'invalid_message' });
    expect(rec.messages).toEqual([]);
  });
});
