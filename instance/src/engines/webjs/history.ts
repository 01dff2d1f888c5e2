/**
 * The webjs side of the gap fill: a chat's newest messages through whatsapp-web.js' `Chat.fetchMessages({ limit })`
 * (sorted earliest to latest; it loads earlier messages from the phone until `limit` is reached or none are left),
 * mapped like live messages and filtered to those at or after a time.
 */
import type { Chat as WChat, Client as WClient } from 'whatsapp-web.js';
import { EngineError, type EngineMessage } from '../engine.js';
import { IGNORED_MESSAGE_TYPES, errorMessage, toEngineMessage } from './mapping.js';

/** The part of whatsapp-web.js' `Client` the gap fill uses. */
export type HistoryClient = Pick<WClient, 'getChatById'>;

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
  let chat: WChat;
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
