/**
 * The send queue's queued records, one FIFO per chat (ordered by `createdAt`, then by arrival), so that choosing the
 * next send looks at each chat's first record only: the cost of a step grows with the number of chats that have
 * something queued, never with the number of records (a tenant that queued 20,000 messages to one chat paid a scan of
 * all of them on every `POST /v1/messages` before).
 */

/** What the queues need of a record: its id, chat and order (epoch ms). */
export interface Queued {
  id: string;
  chatId: string;
  createdAt: number;
}

export class ChatQueues<T extends Queued> {
  /** Chat id → its records in send order. A chat is removed once it has none. */
  readonly #chats = new Map<string, T[]>();
  #size = 0;

  /** Records queued over all chats. */
  get size(): number {
    return this.#size;
  }

  /** Adds `item` after every record of its chat with the same or an earlier `createdAt` (usually at the end). */
  add(item: T): void {
    const q = this.#chats.get(item.chatId);
    this.#size++;
    if (!q) return void this.#chats.set(item.chatId, [item]);
    let i = q.length;
    while (i > 0 && q[i - 1]!.createdAt > item.createdAt) i--;
    q.splice(i, 0, item);
  }

  /** Removes record `id` of chat `chatId` (the first of its chat when it was just sent); false when not queued. */
  remove(chatId: string, id: string): boolean {
    const q = this.#chats.get(chatId);
    const i = q ? q.findIndex((p) => p.id === id) : -1;
    if (!q || i < 0) return false;
    q.splice(i, 1);
    this.#size--;
    if (q.length === 0) this.#chats.delete(chatId);
    return true;
  }

  /** The first record of every chat that has one, in no particular order. */
  *heads(): IterableIterator<T> {
    for (const q of this.#chats.values()) yield q[0]!;
  }
}
