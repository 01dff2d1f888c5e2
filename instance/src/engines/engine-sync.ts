/**
 * Sync after login: what an engine offers for the instance to store the account's groups and keep its chats current
 * (contacts, chats and the history come from `Engine.contacts()`, `chats()` and `messagesSince()`). The chats'
 * archived / pinned / muted flags and last message are fields of `EngineChat`; changes arrive as `chat`, `contact`
 * and `group` events.
 */
import type { EngineGroup } from './engine-groups-model.js';

export type { EngineGroup, EngineGroupParticipant } from './engine-groups-model.js';

export interface EngineSync {
  /**
   * Every group the account is a member of, with subject, description, owner and participants (admin flags).
   * @throws EngineNotReadyError unless WORKING.
   */
  groups(): Promise<EngineGroup[]>;
  /**
   * Marks chat `chatId` read (whatsapp-web.js `Chat.sendSeen()`): its unread count goes to 0 (a `chat` event follows)
   * and the senders see blue ticks.
   * @throws EngineNotReadyError unless WORKING; EngineError `chat_not_found` for a chat the account does not have.
   */
  markChatRead(chatId: string): Promise<void>;
}
