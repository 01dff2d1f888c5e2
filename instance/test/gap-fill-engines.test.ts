/**
 * `Engine.messagesSince`, the gap fill's one engine call, on both engines with the same contract: the chat's newest
 * `limit` messages, oldest first, those at or after `sinceMs`; `chat_not_found` for a chat the account lacks.
 * - simulated: a real simnet server and a real engine linked over WebSocket (the network's `history` request);
 * - webjs: the engine's history code against a stand-in for whatsapp-web.js' `Client` at the library boundary only,
 *   typed with the library's own definitions (`Chat.fetchMessages`, `Message`), fed with WhatsApp-shaped messages.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually } from '@wacloud/testenv';
import { createSimnetServer, type SimnetServer } from '@wacloud/simnet';
import type { MessageSearchOptions } from 'whatsapp-web.js';
import { EngineError, EngineNotReadyError } from '../src/engines/engine.js';
import { SimulatedEngine } from '../src/engines/simulated/engine.js';
import { fetchMessagesSince, type HistoryChat, type HistoryClient, type HistoryMessage } from '../src/engines/webjs/history.js';

const tmpRoot = mkdtempSync(path.join(tmpdir(), 'wacloud-history-'));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

async function hook(server: SimnetServer, route: string, body: unknown) {
  const res = await fetch(`${server.url}/hooks${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { message?: { id: string; timestamp: number }; ids?: string[] } };
}

describe('simulated engine', () => {
  let server: SimnetServer;
  let engine: SimulatedEngine;
  beforeAll(async () => {
    server = await createSimnetServer({ port: 0 });
    engine = new SimulatedEngine({ simnetUrl: server.url, dataDir: mkdtempSync(path.join(tmpRoot, 'sim-')) });
    await expect(engine.messagesSince('15550093002@c.us', 0, 10)).rejects.toBeInstanceOf(EngineNotReadyError);
    await engine.start();
    expect((await hook(server, '/scan', { qr: engine.qr(), phone: '15550093001' })).status).toBe(200);
    await eventually(() => engine.state() === 'WORKING');
    await hook(server, '/accounts', { phone: '15550093002' });
  });
  afterAll(async () => {
    await engine?.stop();
    await server?.close();
  });

  test('the newest `limit` messages of the chat, oldest first, filtered by time; unknown chat and bad limit refused', async () => {
    const burst = await hook(server, '/burst', { from: '15550093002', to: '15550093001', text: 'h', count: 30 });
    expect(burst.status).toBe(201);
    const all = await engine.messagesSince('15550093002', 0, 100);
    expect(all.map((m) => m.body)).toEqual(Array.from({ length: 30 }, (_, i) => `h ${i}`));
    expect(all.every((m) => !m.fromMe && m.chatId === '15550093002@c.us' && m.author === '15550093002@c.us')).toBe(true);
    // A bound smaller than the gap: its newest part only.
    expect((await engine.messagesSince('15550093002@c.us', 0, 5)).map((m) => m.body)).toEqual(['h 25', 'h 26', 'h 27', 'h 28', 'h 29']);
    // Inclusive lower bound on the timestamp.
    const since = all[20]!.timestamp;
    const newer = await engine.messagesSince('15550093002@c.us', since, 100);
    expect(newer.length).toBeGreaterThanOrEqual(10);
    expect(newer.every((m) => m.timestamp >= since)).toBe(true);
    expect(newer.at(-1)!.body).toBe('h 29');
    const err = await engine.messagesSince('15550099999@c.us', 0, 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe('chat_not_found');
    await expect(engine.messagesSince('15550093002@c.us', 0, 0)).rejects.toBeInstanceOf(RangeError);
  });
});

describe('webjs engine history code (stand-in Client at the library boundary)', () => {
  const ME = '15550094001@c.us';
  const PEER = '15550094002@c.us';

  /** A received text message as whatsapp-web.js gives it (timestamps in seconds). */
  function received(key: string, t: number, over: Partial<HistoryMessage> = {}): HistoryMessage {
    return {
      id: { fromMe: false, remote: PEER, id: key, _serialized: `false_${PEER}_${key}` },
      fromMe: false,
      from: PEER,
      to: ME,
      type: 'chat' as HistoryMessage['type'],
      body: `body ${key}`,
      timestamp: t,
      ack: 1 as HistoryMessage['ack'],
      hasQuotedMsg: false,
      isStatus: false,
      getQuotedMessage: () => Promise.reject(new Error('no quoted message')),
      ...over,
    };
  }

  /** The stand-in: one chat whose `fetchMessages` behaves like the library's (newest `limit`, earliest first). */
  function client(messages: HistoryMessage[], calls: MessageSearchOptions[]): HistoryClient {
    const chat: HistoryChat = {
      async fetchMessages(options) {
        calls.push(options);
        return options.limit ? messages.slice(-options.limit) : messages;
      },
    };
    return {
      async getChatById(id) {
        if (id !== PEER) throw new Error('Chat not found');
        return chat;
      },
    };
  }

  test('maps the fetched messages, drops status and protocol noise and those before the time; unknown chat → chat_not_found', async () => {
    const msgs = [
      received('A1', 1_700_000_000),
      received('A2', 1_700_000_010),
      received('A3', 1_700_000_010, { type: 'e2e_notification' as HistoryMessage['type'] }),
      received('A4', 1_700_000_020, { isStatus: true }),
      received('A5', 1_700_000_030, { ack: 3 as HistoryMessage['ack'] }),
    ];
    const calls: MessageSearchOptions[] = [];
    const got = await fetchMessagesSince(client(msgs, calls), PEER, 1_700_000_010_000, 50, ME);
    expect(calls).toEqual([{ limit: 50 }]);
    expect(got).toEqual([
      {
        id: `false_${PEER}_A2`,
        chatId: PEER,
        author: PEER,
        fromMe: false,
        isGroup: false,
        type: 'chat',
        body: 'body A2',
        timestamp: 1_700_000_010_000,
        ack: 1,
        quotedMessageId: undefined,
      },
      expect.objectContaining({ id: `false_${PEER}_A5`, ack: 3, timestamp: 1_700_000_030_000 }),
    ]);
    const err = await fetchMessagesSince(client(msgs, calls), '15550099999@c.us', 0, 10, ME).catch((e: unknown) => e);
    expect((err as EngineError).code).toBe('chat_not_found');
  });
});
