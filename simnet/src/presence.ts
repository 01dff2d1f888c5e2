/**
 * Presence on the simulated network: a typing / recording indicator shown (or cleared) in a chat reaches the
 * connected devices of the chat's other members at once and is never queued (WhatsApp's presence is ephemeral).
 */
import type { NetworkCore } from './core.js';
import { userId } from './model.js';

export class Presence {
  constructor(private readonly core: NetworkCore) {}

  /**
   * Account `phone` shows `state` in chat `to` (a phone, user id or group id).
   * @throws SimnetError `account_not_found`, `chat_not_found`, `number_not_on_whatsapp` (404).
   */
  broadcast(phone: string, to: string, state: 'typing' | 'recording' | 'paused'): void {
    this.core.views.requireAccount(phone);
    const chat = to.includes('@') ? to : `${to.replace(/\D/g, '')}@c.us`;
    const timestamp = Date.now();
    for (const p of this.core.views.recipients(phone, chat)) {
      const chatId = chat.endsWith('@g.us') ? chat : userId(phone);
      this.core.pushLive(p, { kind: 'presence', presence: { chatId, participant: userId(phone), state, timestamp } });
    }
  }
}
