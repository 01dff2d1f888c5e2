/**
 * The webjs side of `Engine.messagesSince` (the gap fill's one engine call) beyond the engine contract suite
 * (`contract/messaging.contract.test.ts` runs the shared contract on both engines): the history code drops status
 * broadcasts, protocol noise and messages before the time, against a stand-in for whatsapp-web.js' `Client` at the
 * library boundary only, typed with the library's own definitions (`Chat.fetchMessages`, `Message`).
 */
import type { MessageSearchOptions } from 'whatsapp-web.js';
import type { EngineError } from '../src/engines/engine.js';
import { fetchMessagesSince, type HistoryChat, type HistoryClient, type HistoryMessage } from '../src/engines/webjs/history.js';

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
