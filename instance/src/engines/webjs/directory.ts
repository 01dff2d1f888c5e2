/**
 * The webjs engine's reads of the account's address book and chats, and its chat-state indicator, through
 * whatsapp-web.js' `Client` (the engine's working client), mapped to the engine's shapes.
 */
import { EngineError, type ChatState, type EngineChat, type EngineContact } from '../engine.js';
import type { WebjsClient as WClient } from './client.js';
import { toEngineChat, toEngineContact } from './mapping.js';

/** Every contact of the account, groups with their participants' ids (from `getChats()`). */
export async function readContacts(client: WClient): Promise<EngineContact[]> {
  const [contacts, chats] = await Promise.all([client.getContacts(), client.getChats()]);
  const participants = new Map<string, string[]>();
  for (const chat of chats) {
    if (chat.isGroup) {
      participants.set(
        chat.id._serialized,
        (chat.participants ?? []).map((p) => p.id._serialized),
      );
    }
  }
  return contacts.map((c) => toEngineContact(c, participants.get(c.id._serialized)));
}

/** Every chat of the account. */
export async function readChats(client: WClient): Promise<EngineChat[]> {
  return (await client.getChats()).map(toEngineChat);
}

/**
 * Shows `state` in chat `chatId`: `Chat.sendStateTyping()`, `sendStateRecording()` or `clearState()`.
 * @throws EngineError `chat_not_found`.
 */
export async function sendChatState(client: WClient, chatId: string, state: ChatState): Promise<void> {
  const chat = await client.getChatById(chatId).catch(() => undefined);
  if (!chat) throw new EngineError('chat_not_found', `chat ${chatId} does not exist`);
  if (state === 'typing') await chat.sendStateTyping();
  else if (state === 'recording') await chat.sendStateRecording();
  else await chat.clearState();
}
