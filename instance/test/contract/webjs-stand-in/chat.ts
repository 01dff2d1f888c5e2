/**
 * A stand-in for whatsapp-web.js' `Chat` / `GroupChat` as far as the engine uses it ({@link WebjsChat}): its fields
 * as the library fills them, `fetchMessages({ limit })` (the newest `limit`, earliest first) and the chat-state
 * indicators, which the world records.
 */
import type { ChatId, GroupParticipant, MessageSearchOptions } from 'whatsapp-web.js';
import type { ChatState } from '../../../src/engines/engine.js';
import type { WebjsChat } from '../../../src/engines/webjs/client.js';
import { wid, type MessageFixture } from './fixtures.js';

export class StandInChat implements WebjsChat {
  readonly id: ChatId;
  readonly isGroup: boolean;
  name: string;
  unreadCount = 0;
  /** Unix seconds of the last activity (0: none). */
  timestamp = 0;
  participants?: GroupParticipant[] | undefined;
  /** Every message of the chat, oldest first. */
  readonly messages: MessageFixture[] = [];

  constructor(
    id: string,
    name: string,
    private readonly onState: (chatId: string, state: ChatState) => void,
  ) {
    this.id = wid(id);
    this.isGroup = id.endsWith('@g.us');
    this.name = name;
  }

  async fetchMessages(searchOptions: MessageSearchOptions): Promise<MessageFixture[]> {
    const mine = searchOptions.fromMe === undefined ? this.messages : this.messages.filter((m) => m.fromMe === searchOptions.fromMe);
    return searchOptions.limit && Number.isFinite(searchOptions.limit) ? mine.slice(-searchOptions.limit) : [...mine];
  }

  async sendStateTyping(): Promise<void> {
    this.onState(this.id._serialized, 'typing');
  }

  async sendStateRecording(): Promise<void> {
    this.onState(this.id._serialized, 'recording');
  }

  async clearState(): Promise<boolean> {
    this.onState(this.id._serialized, 'paused');
    return true;
  }

  /** Appends a message and advances the chat's time (and its unread count for a received one). */
  add(msg: MessageFixture): void {
    this.messages.push(msg);
    this.timestamp = Math.max(this.timestamp, msg.timestamp);
    if (!msg.fromMe) this.unreadCount++;
  }
}
