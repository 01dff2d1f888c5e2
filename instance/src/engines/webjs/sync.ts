/**
 * The webjs engine's side of the sync after login: the account's groups from whatsapp-web.js' `GroupChat`s
 * (`name` is the subject; `participants` carry `isAdmin` / `isSuperAdmin`), and marking a chat read
 * (`Chat.sendSeen()`).
 */
import { EngineError } from '../engine.js';
import type { EngineGroup } from '../engine-sync.js';
import type { WebjsChat, WebjsClient } from './client.js';
import { widString } from './mapping.js';

/** Maps a group chat to {@link EngineGroup}. */
export function toEngineGroup(chat: WebjsChat): EngineGroup {
  const created = chat.createdAt ? new Date(chat.createdAt).getTime() : NaN;
  return {
    id: chat.id._serialized,
    subject: chat.name ?? '',
    description: chat.description || undefined,
    owner: widString(chat.owner) || undefined,
    createdAt: Number.isFinite(created) ? created : undefined,
    participants: (chat.participants ?? []).map((p) => ({
      id: p.id._serialized,
      isAdmin: Boolean(p.isAdmin || p.isSuperAdmin),
      isSuperAdmin: Boolean(p.isSuperAdmin),
    })),
  };
}

/** Every group the account is in (`Client.getChats()`, the group chats). */
export async function readGroups(client: WebjsClient): Promise<EngineGroup[]> {
  return (await client.getChats()).filter((c) => c.isGroup).map(toEngineGroup);
}

/** `Chat.sendSeen()` on chat `chatId`. @throws EngineError `chat_not_found`. */
export async function markChatRead(client: WebjsClient, chatId: string): Promise<void> {
  const chat = await client.getChatById(chatId).catch(() => undefined);
  if (!chat) throw new EngineError('chat_not_found', `chat ${chatId} does not exist`);
  await chat.sendSeen();
}
