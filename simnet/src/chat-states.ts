/**
 * Chat states (typing / recording indicators) the linked devices of each account showed, kept in memory so tests can
 * read them through `GET /hooks/accounts/:phone/chatstates` (oldest first, at most {@link CHAT_STATES_MAX} per
 * account).
 */

/** Most chat states remembered per account (the oldest go first). */
export const CHAT_STATES_MAX = 1_000;

/** One indicator change: in chat `chatId` (as the account sees it), `state`, at `timestamp` (epoch ms). */
export interface ChatStateRecord {
  chatId: string;
  state: 'typing' | 'recording' | 'paused';
  timestamp: number;
}

export class ChatStates {
  readonly #byPhone = new Map<string, ChatStateRecord[]>();

  /** Remembers that account `phone` showed `state` in chat `chatId` now. */
  record(phone: string, chatId: string, state: ChatStateRecord['state']): void {
    const list = this.#byPhone.get(phone) ?? [];
    list.push({ chatId, state, timestamp: Date.now() });
    if (list.length > CHAT_STATES_MAX) list.shift();
    this.#byPhone.set(phone, list);
  }

  /** What account `phone` showed, oldest first. */
  list(phone: string): ChatStateRecord[] {
    return [...(this.#byPhone.get(phone) ?? [])];
  }
}
