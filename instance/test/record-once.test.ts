/**
 * A message sent through the API is recorded once: one write of one stored record naming the token, one live
 * `message` event and one webhook event, whichever order the engine reports it in (the simulated engine emits its
 * `message` event before `sendText` resolves, whatsapp-web.js may emit it after).
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import WebSocket from 'ws';
import { createSimnetServer, type SimnetServer } from '@wacloud/simnet';
import { eventually, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { loadInstanceConfig } from '../src/config.js';
import type { Engine, EngineEvents, EngineMessage } from '../src/engines/engine.js';
import { startInstanceApp, type InstanceApp } from '../src/instance-app.js';
import { createMetrics } from '../src/metrics.js';
import { EventRecorder } from '../src/services/event-recorder.js';
import { LiveEvents, type LiveEvent } from '../src/services/live-events.js';
import { MessagingService } from '../src/services/messaging.js';
import { Persister, type PersistOp } from '../src/storage/persistence.js';
import { openStore, type Store } from '../src/storage/store.js';
import { WebhookOutbox } from '../src/webhooks/outbox.js';
import { WebhookSettingsService } from '../src/webhooks/settings.js';
import { startReceiver, type WebhookReceiver } from './harness.js';

const logger = pino({ level: 'silent' });
let mongo: MongoServer;

beforeAll(async () => {
  mongo = await startMongo();
});
afterAll(async () => {
  await mongo?.stop();
});

/**
 * Records the writes of message records: direct driver calls on the messages collection and persister operations.
 * Bulk updates (`bulkWrite`, how the persister raises acks) are not records and are left out.
 */
function spyOnMessageWrites(store: Store, persister: Persister) {
  const writes: Array<{ via: string; id: string }> = [];
  const col = store.col.messages as unknown as Record<string, (...args: any[]) => unknown>;
  for (const method of ['updateOne', 'insertOne', 'insertMany', 'bulkWrite', 'replaceOne'] as const) {
    const original = col[method]!.bind(col);
    col[method] = (...args: any[]) => {
      const arg = args[0];
      const ids: string[] =
        method === 'insertMany'
          ? arg.map((d: { _id: string }) => d._id)
          : method === 'bulkWrite'
            ? arg.map((op: any) => op.updateOne?.filter?._id ?? op.insertOne?.document?._id)
            : method === 'insertOne'
              ? [arg._id]
              : [arg._id];
      for (const id of ids) writes.push({ via: `messages.${method}`, id });
      return original(...args);
    };
  }
  const enqueue = persister.enqueue.bind(persister);
  persister.enqueue = (op: PersistOp) => {
    if (op.kind === 'message') writes.push({ via: 'persister', id: op.doc._id });
    enqueue(op);
  };
  return (id: string) => writes.filter((w) => w.id === id && w.via !== 'messages.bulkWrite');
}

describe('through the service with the simulated engine', () => {
  let simnet: SimnetServer;
  let app: InstanceApp;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    simnet = await createSimnetServer({ port: 0, host: '127.0.0.1' });
    receiver = await startReceiver();
    const config = loadInstanceConfig({
      PORT: '0',
      INTERNAL_PORT: '0',
      HOST: '127.0.0.1',
      MONGODB_URI: mongo.dbUri(uniqueDbName('once')),
      INTERNAL_API_KEY: 'record-once-internal-key',
      ENGINE: 'simulated',
      SIMNET_URL: simnet.url,
      DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'wacloud-once-')),
      PERSIST_FLUSH_MS: '20',
      WEBHOOK_URL: receiver.url,
      WEBHOOK_EVENTS: '*',
      WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8', // the receiver is on loopback, refused by the SSRF guard unless opened
    });
    app = await startInstanceApp(config, logger);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await Promise.allSettled([simnet?.close(), receiver?.close()]);
  });

  test('POST /v1/messages: one write, one record with the token, one live event, one webhook per event type', async () => {
    const internal = (method: string, p: string, body?: unknown) =>
      fetch(app.internalUrl + p, {
        method,
        headers: { authorization: 'Bearer record-once-internal-key', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((r) => r.json() as Promise<any>);
    const token = (await internal('POST', '/internal/v1/tokens', { name: 'once-bot', permissions: 'rw' })).token as string;
    const api = (method: string, p: string, body?: unknown) =>
      fetch(app.publicUrl + p, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const login = (await (await api('POST', '/v1/session/login')).json()) as { qr: string };
    await fetch(`${simnet.url}/hooks/scan`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ qr: login.qr, phone: '15550005001' }),
    });
    await eventually(() => app.session.state() === 'WORKING');
    await fetch(`${simnet.url}/hooks/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone: '15550005002' }),
    });

    const live: LiveEvent[] = [];
    const ws = new WebSocket(`${app.publicUrl.replace('http', 'ws')}/v1/events?token=${token}`);
    ws.on('message', (d) => live.push(JSON.parse(String(d)) as LiveEvent));
    await new Promise((resolve) => ws.once('open', resolve));
    const writesOf = spyOnMessageWrites(app.store, app.persister);

    const res = await api('POST', '/v1/messages', { to: '15550005002', text: 'exactly once' });
    expect(res.status).toBe(201);
    const sent = (await res.json()) as { id: string; sentBy: { tokenName: string } };
    expect(sent.sentBy.tokenName).toBe('once-bot');
    // The read right after the response finds the record, naming the token.
    const read = (await (await api('GET', `/v1/messages/${encodeURIComponent(sent.id)}`)).json()) as { sentBy: { tokenName: string } };
    expect(read.sentBy.tokenName).toBe('once-bot');

    await eventually(
      () => receiver.received.some((r) => r.body.event === 'message.ack' && r.body.payload.id === sent.id && r.body.payload.ack === 2),
      15_000,
    );
    await app.persister.flush();
    await new Promise((r) => setTimeout(r, 300));
    expect(writesOf(sent.id)).toEqual([{ via: 'messages.updateOne', id: sent.id }]);
    expect(await app.store.col.messages.countDocuments({ _id: sent.id })).toBe(1);
    expect((await app.store.col.messages.findOne({ _id: sent.id }))?.ack).toBe(2);
    expect(live.filter((e) => e.event === 'message' && (e.data as { id: string }).id === sent.id)).toHaveLength(1);
    expect(await app.store.col.outbox.countDocuments({ event: 'message.any', 'payload.id': sent.id })).toBe(1);
    expect(await app.store.col.outbox.countDocuments({ event: 'message', 'payload.id': sent.id })).toBe(0); // own messages are not `message`
    expect(receiver.received.filter((r) => r.body.event === 'message.any' && r.body.payload.id === sent.id)).toHaveLength(1);
    ws.close();
  });
});

/** An engine whose sends the test completes by hand, emitting its own `message` event before or after. */
class ScriptedEngine extends EventEmitter<EngineEvents> {
  next: { resolve(m: EngineMessage): void } | undefined;
  sendText(): Promise<EngineMessage> {
    return new Promise((resolve) => (this.next = { resolve }));
  }
}

const message = (key: string, over: Partial<EngineMessage> = {}): EngineMessage => ({
  id: `true_15550006002@c.us_${key}`,
  chatId: '15550006002@c.us',
  author: '15550006001@c.us',
  fromMe: true,
  isGroup: false,
  type: 'chat',
  body: key,
  timestamp: Date.now(),
  ack: 1,
  ...over,
});

describe('event order of the engine', () => {
  let store: Store;
  let persister: Persister;
  let engine: ScriptedEngine;
  let messaging: MessagingService;
  let recorder: EventRecorder;
  let live: LiveEvent[];
  let writesOf: (id: string) => Array<{ via: string; id: string }>;

  beforeEach(async () => {
    store = await openStore(mongo.dbUri(uniqueDbName('order')));
    await store.init();
    const metrics = createMetrics({ outboxDepth: async () => 0, browserMemoryBytes: async () => undefined });
    persister = new Persister({
      store,
      logger,
      metrics,
      batchSize: 100,
      flushMs: 10,
      bufferLimit: 1_000,
      spillFile: path.join(mkdtempSync(path.join(os.tmpdir(), 'wacloud-order-')), 'spill'),
    });
    const webhooks = new WebhookSettingsService(store, { url: 'http://127.0.0.1:9/hook', secret: undefined, events: ['*'] });
    const events = new LiveEvents();
    live = [];
    events.subscribe((e) => live.push(e));
    engine = new ScriptedEngine();
    recorder = new EventRecorder({
      engine: engine as unknown as Engine,
      store,
      persister,
      outbox: new WebhookOutbox(webhooks, persister),
      live: events,
      metrics,
      logger,
    });
    messaging = new MessagingService(engine as unknown as Engine, store, recorder);
    writesOf = spyOnMessageWrites(store, persister);
  });
  afterEach(async () => {
    recorder.close();
    await persister.close();
    await store.connection.dropDatabase();
    await store.close();
  });

  async function expectRecordedOnce(id: string, tokenName: string, ack = 1) {
    await persister.flush();
    expect(writesOf(id)).toEqual([{ via: 'messages.updateOne', id }]);
    const stored = await store.col.messages.find({ _id: id }).toArray();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ sentBy: { tokenName }, ack });
    expect(live.filter((e) => e.event === 'message' && (e.data as { id: string }).id === id)).toHaveLength(1);
    expect(await store.col.outbox.countDocuments({ event: 'message.any', 'payload.id': id })).toBe(1);
  }

  test('event before the send resolves (the simulated engine), with an ack meanwhile', async () => {
    const m = message('A0000000000000000001');
    const sending = messaging.send({ to: '15550006002', text: 'a' }, { tokenId: 't1', tokenName: 'bot' });
    engine.emit('message', m);
    engine.emit('message_ack', { id: m.id, chatId: m.chatId, ack: 2 });
    engine.next!.resolve(m);
    const view = await sending;
    expect(view.sentBy).toEqual({ tokenId: 't1', tokenName: 'bot' });
    await expectRecordedOnce(m.id, 'bot', 2);
    expect(live.map((e) => e.event)).toEqual(['message', 'message.ack']);
  });

  test('event after the send resolved (whatsapp-web.js may do this)', async () => {
    const m = message('A0000000000000000002');
    const sending = messaging.send({ to: '15550006002', text: 'b' }, { tokenId: 't1', tokenName: 'bot' });
    engine.next!.resolve(m);
    await sending;
    engine.emit('message', m);
    await expectRecordedOnce(m.id, 'bot');
  });

  test('a message from the phone during a send is held, then recorded through the persister once the send ended', async () => {
    const fromPhone = message('B0000000000000000001');
    const m = message('A0000000000000000003');
    const sending = messaging.send({ to: '15550006002', text: 'c' }, { tokenId: 't1', tokenName: 'bot' });
    engine.emit('message', fromPhone);
    expect(live).toEqual([]);
    engine.next!.resolve(m);
    await sending;
    await eventually(() => live.some((e) => e.event === 'message' && (e.data as { id: string }).id === fromPhone.id));
    await persister.flush();
    expect(writesOf(fromPhone.id)).toEqual([
      { via: 'persister', id: fromPhone.id },
      { via: 'messages.insertMany', id: fromPhone.id },
    ]);
    expect((await store.col.messages.findOne({ _id: fromPhone.id }))?.sentBy).toBeUndefined();
    await expectRecordedOnce(m.id, 'bot');
  });

  test('a failed send releases what it held', async () => {
    const fromPhone = message('B0000000000000000002');
    engine.sendText = () => Promise.reject(new Error('boom'));
    const sending = messaging.send({ to: '15550006002', text: 'd' }, { tokenId: 't1', tokenName: 'bot' });
    engine.emit('message', fromPhone);
    await expect(sending).rejects.toThrow('boom');
    await eventually(() => live.some((e) => e.event === 'message' && (e.data as { id: string }).id === fromPhone.id));
  });
});
