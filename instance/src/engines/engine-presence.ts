/**
 * Presence of the {@link Engine}: the typing / recording indicators others show in the account's chats (the account's
 * own are sent with `Engine.sendChatState`). Indicators are ephemeral: an engine that was not connected never hears
 * of them, and WhatsApp clears one after about 25 s.
 */
import type { ChatState } from './engine.js';

/** Someone showed or cleared an indicator in one of the account's chats. */
export interface EnginePresence {
  /** The chat (the peer for 1:1 chats, the group for groups). */
  chatId: string;
  /** Who shows it (`<digits>@c.us`). */
  participant: string;
  state: ChatState;
  /** Epoch ms. */
  timestamp: number;
}
