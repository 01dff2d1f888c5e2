/**
 * The webjs side of the gap fill: a chat's newest messages through whatsapp-web.js' `Chat.fetchMessages({ limit })`
 * (sorted earliest to latest; it loads earlier messages from the phone until `limit` is reached or none are left),
 * mapped like live messages and filtered to those at or after a time.
 */
import type { Message as WMessage, MessageSearchOptions } from 'whatsapp-web.js';
import { EngineError, type EngineMessage } from '../engine.js';
import { IGNORED_MESSAGE_TYPES, errorMessage, toEngineMessage, type MappedMessage } from './mapping.js';

/** The fields of a fetched `Message` the gap fill reads. */
export type HistoryMessage = MappedMessage & Pick<WMessage, 'isStatus'>;

/** The part of a whatsapp-web.js `Chat` the gap fill uses. */
export interface HistoryChat {
  fetchMessages(searchOptions: MessageSearchOptions): Promise<HistoryMessage[]>;
}

/**
 * The part of whatsapp-web.js' `Client` the gap fill uses. The engine passes its `Client` as one, so a whatsapp-web.js
 * upgrade that changes these shapes breaks the build.
 */
export interface HistoryClient {
  getChatById(chatId: string): Promise<HistoryChat>;
}

/**
 * Messages of chat `chatId` timestamped at or after `sinceMs` (epoch ms), oldest first, out of its newest `limit`;
 * status broadcasts and protocol noise are left out, as for live messages. `me` is the account's own id.
 * @throws EngineError `chat_not_found` when whatsapp-web.js knows no such chat.
 */
export async function fetchMessagesSince(
  client: HistoryClient,
  chatId: string,
  sinceMs: number,
  limit: number,
  me: string,
): Promise<EngineMessage[]> {
  let chat: HistoryChat;
  try {
    chat = await client.getChatById(chatId);
  } catch (err) {
    throw new EngineError('chat_not_found', `chat ${chatId} does not exist: ${errorMessage(err)}`);
  }
  if (!chat) throw new EngineError('chat_not_found', `chat ${chatId} does not exist`);
  const messages = await chat.fetchMessages({ limit });
  const out: EngineMessage[] = [];
  for (const msg of messages) {
    if (msg.isStatus || IGNORED_MESSAGE_TYPES.has(msg.type) || (msg.timestamp ?? 0) * 1000 < sinceMs) continue;
    out.push(await toEngineMessage(msg, me));
  }
  return out;
}
