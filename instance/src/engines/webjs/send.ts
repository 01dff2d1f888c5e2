/** The webjs engine's text send through whatsapp-web.js' `Client.sendMessage`, with the target checked first. */
import type { MessageSendOptions } from 'whatsapp-web.js';
import { EngineError, toChatId, type EngineMessage, type SendTextOptions } from '../engine.js';
import type { WebjsClient } from './client.js';
import { toEngineMessage } from './mapping.js';

/**
 * Sends `text` to `to` (phone or chat id) as account `me`: a user must be on WhatsApp (`Client.getNumberId`), a
 * group must be one of the account's chats (`Client.getChatById`).
 * @throws EngineError `number_not_on_whatsapp`, `chat_not_found`.
 */
export async function sendTextMessage(
  client: WebjsClient,
  to: string,
  text: string,
  options: SendTextOptions,
  me: string,
): Promise<EngineMessage> {
  const chatId = toChatId(to);
  let target = chatId;
  if (chatId.endsWith('@c.us')) {
    const numberId = await client.getNumberId(chatId);
    if (!numberId) throw new EngineError('number_not_on_whatsapp', `${chatId} is not on WhatsApp`);
    target = numberId._serialized;
  } else {
    const chat = await client.getChatById(chatId).catch(() => undefined);
    if (!chat) throw new EngineError('chat_not_found', `chat ${chatId} does not exist`);
  }
  const sendOptions: MessageSendOptions | undefined = options.quotedMessageId ? { quotedMessageId: options.quotedMessageId } : undefined;
  return toEngineMessage(await client.sendMessage(target, text, sendOptions), me);
}
