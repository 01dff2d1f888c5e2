/**
 * The stand-in for whatsapp-web.js' `Client` at the library boundary: it implements {@link WebjsClient} (the subset of
 * `Client` the engine uses, built from the library's own type definitions) over a {@link StandInWorld}, and speaks
 * the library's events (`qr`, `authenticated`, `ready`, `message_create`, `message_ack`, `unread_count`, …) with
 * WhatsApp-shaped objects. The engine runs with `launchBrowser: false`; `pupPage` is the world's stand-in WhatsApp
 * Web page in a real Chromium (`wa-web.ts`) when the world has one, loaded afresh by each `initialize()` like a new
 * browser's WhatsApp Web.
 */
import { EventEmitter } from 'node:events';
import type { ChatId, ClientOptions, ContactId, Location, MessageMedia, MessageSendOptions } from 'whatsapp-web.js';
import type { WebjsClient, WebjsMediaMessage } from '../../../src/engines/webjs/client.js';
import type { ActionFixture } from './actions.js';
import type { StandInChat } from './chat.js';
import { wid, type MessageFixture } from './fixtures.js';
import type { StandInWorld } from './world.js';

export class StandInClient extends EventEmitter implements WebjsClient {
  info: WebjsClient['info'] = undefined;
  /** whatsapp-web.js' puppeteer page: the world's stand-in WhatsApp Web page, if any. */
  pupPage: WebjsClient['pupPage'] = undefined;
  /** Whether `initialize()` ran and `destroy()` did not. */
  alive = false;

  constructor(
    private readonly world: StandInWorld,
    readonly options: ClientOptions,
  ) {
    super();
  }

  /** Like the library: `qr` until the phone scans, or `authenticated` + `ready` with a stored session. */
  async initialize(): Promise<void> {
    this.alive = true;
    if (this.world.waWeb) {
      await this.world.waWeb.load(this.world.chatIds());
      this.pupPage = this.world.waWeb.page;
    }
    this.world.attach(this);
    if (this.world.linked) this.loggedIn();
    else this.emit('qr', this.world.nextQr());
  }

  /** The session is accepted: `authenticated`, `info` set, `ready`. */
  loggedIn(): void {
    this.emit('authenticated');
    this.info = { wid: wid(this.world.me.id), pushname: this.world.me.pushname };
    this.emit('ready');
  }

  async destroy(): Promise<void> {
    this.alive = false;
    this.world.detach(this);
  }

  async logout(): Promise<void> {
    this.world.linked = false;
    await this.destroy();
  }

  async getNumberId(number: string): Promise<ContactId | null> {
    const id = number.includes('@') ? number : `${number.replace(/\D/g, '')}@c.us`;
    return this.world.accounts.has(id) ? wid(id) : null;
  }

  async getChats(): Promise<StandInChat[]> {
    return [...this.world.chats.values()].sort((a, b) => b.timestamp - a.timestamp);
  }

  /** Like the library: a user on WhatsApp always has a chat (opened on demand); an unknown group throws. */
  async getChatById(chatId: string): Promise<StandInChat> {
    const chat = this.world.chats.get(chatId) ?? (this.world.accounts.has(chatId) ? this.world.openChat(chatId) : undefined);
    if (!chat) throw new Error(`Chat ${chatId} not found`);
    return chat;
  }

  async getContacts() {
    return this.world.contacts();
  }

  /** Like the library: the message from the page's store (its actions, its media download), or undefined. */
  async getMessageById(messageId: string): Promise<(ActionFixture & WebjsMediaMessage) | undefined> {
    const msg = this.world.actions.find(messageId)?.msg;
    return msg && this.world.withDownload(msg);
  }

  /** Like the library: participants must be on WhatsApp (the engine checks first); the account is the creator. */
  async createGroup(title: string, participants: string[]): Promise<{ gid: ChatId } | string> {
    const missing = participants.filter((p) => !this.world.hasUser(p));
    if (missing.length) return `CreateGroupError: ${missing.join(', ')} not on WhatsApp`;
    return { gid: wid(this.world.createGroup(title, participants)) };
  }

  async sendMessage(chatId: string, content: string | MessageMedia | Location, options?: MessageSendOptions): Promise<MessageFixture> {
    return this.world.ownSend(chatId, content, options?.quotedMessageId, options);
  }
}
