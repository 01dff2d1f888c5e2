/** The account's typing / recording indicators through the API (`Engine.sendChatState`). */
import type { ChatState, Engine } from '../engines/engine.js';
import { callEngine } from './engine-errors.js';

export class PresenceService {
  constructor(private readonly engine: Engine) {}

  /**
   * Shows `state` in chat `chatId` (typing, recording, or paused to clear it).
   * @throws AppError `chat_not_found`, `number_not_on_whatsapp`, `session_not_ready`, `engine_error`.
   */
  async show(chatId: string, state: ChatState): Promise<{ chatId: string; state: ChatState }> {
    await callEngine(() => this.engine.sendChatState(chatId, state));
    return { chatId, state };
  }
}
