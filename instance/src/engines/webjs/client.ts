/**
 * The part of whatsapp-web.js the `webjs` engine uses, as types: {@link WebjsClient} (a subset of `Client`) and the
 * subsets of `Chat`, `GroupChat`, `Contact` and `Message` it reads. They are built from the installed library's own
 * definitions (`Pick`), and {@link clientIsWebjsClient} proves at compile time that whatsapp-web.js' `Client` is one,
 * so a whatsapp-web.js upgrade that changes a shape the engine relies on breaks the build. Stand-ins for tests
 * (`test/contract/webjs-stand-in/`) implement these same types at the library boundary.
 */
import type {
  Chat as WChat,
  Client as WClient,
  ClientInfo as WClientInfo,
  Contact as WContact,
  GroupChat as WGroupChat,
  GroupNotification as WGroupNotification,
  Location,
  Message as WMessage,
  MessageMedia,
  MessageSearchOptions,
  MessageSendOptions,
} from 'whatsapp-web.js';
import type { WebjsActionsClient } from './client-actions.js';

/** The fields of a `Message` the engine maps (see `mapping.ts`). */
export type WebjsMessage = Pick<
  WMessage,
  'id' | 'fromMe' | 'from' | 'to' | 'author' | 'type' | 'body' | 'timestamp' | 'ack' | 'hasQuotedMsg' | 'isStatus'
> &
  // `isForwarded` (message actions) and media messages (`media.ts`); optional, as WhatsApp Web leaves them out of some
  // messages.
  Partial<Pick<WMessage, 'isForwarded' | 'hasMedia' | 'location' | 'vCards' | 'rawData'>> & {
    /** `Message.getQuotedMessage()`: the quoted message, when `hasQuotedMsg`. */
    getQuotedMessage(): Promise<Pick<WMessage, 'id'>>;
  };

/** A message looked up to download its media (`Client.getMessageById`, see `client-actions.ts`; `Message.downloadMedia()`). */
export type WebjsMediaMessage = Pick<WMessage, 'hasMedia'> & {
  /** The file, or undefined (or a rejection) when WhatsApp no longer has it. */
  downloadMedia(): Promise<Pick<MessageMedia, 'data' | 'mimetype' | 'filename'> | undefined>;
};

/** The fields and methods of a `Chat` (or `GroupChat`) the engine uses. */
export type WebjsChat = Pick<
  WChat,
  | 'id'
  | 'name'
  | 'isGroup'
  | 'unreadCount'
  | 'timestamp'
  | 'archived'
  | 'pinned'
  | 'isMuted'
  | 'sendStateTyping'
  | 'sendStateRecording'
  | 'clearState'
  | 'sendSeen'
> &
  Partial<Pick<WGroupChat, 'participants' | 'description' | 'owner' | 'createdAt'>> & {
    /** `Chat.lastMessage` (absent in a chat without messages). */
    lastMessage?: WebjsMessage | undefined;
    /** `Chat.fetchMessages({ limit })`: the newest `limit` messages, earliest first. */
    fetchMessages(searchOptions: MessageSearchOptions): Promise<WebjsMessage[]>;
  };

/** The fields of a `GroupNotification` (events `group_join`, `group_leave`, `group_update`, `group_admin_changed`) the engine reads. */
export type WebjsGroupNotification = Pick<WGroupNotification, 'chatId' | 'type'>;

/** The fields of a `Contact` the engine maps. */
export type WebjsContact = Pick<WContact, 'id' | 'number' | 'name' | 'pushname' | 'isGroup' | 'isMyContact'>;

/**
 * The part of whatsapp-web.js' `Client` the engine uses. Its events come through `on` (an EventEmitter's); the
 * listeners in `client-events.ts` type their arguments with the library's types.
 */
export type WebjsClient = Pick<WClient, 'initialize' | 'destroy' | 'logout' | 'getNumberId' | 'pupPage'> &
  WebjsActionsClient & {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- EventEmitter's own listener type
    on(event: string, listener: (...args: any[]) => void): unknown;
    /** `Client.info` (set once ready). */
    info: Pick<WClientInfo, 'wid' | 'pushname'> | undefined;
    getChats(): Promise<WebjsChat[]>;
    getChatById(chatId: string): Promise<WebjsChat>;
    getContacts(): Promise<WebjsContact[]>;
    /** A text, a vCard (`parseVCards`), a `MessageMedia` or a `Location` (see `send.ts`, `media.ts`). */
    sendMessage(chatId: string, content: string | MessageMedia | Location, options?: MessageSendOptions): Promise<WebjsMessage>;
  };

/** Compile-time proof that whatsapp-web.js' own `Client` is a {@link WebjsClient} (used as the default factory). */
export const clientIsWebjsClient = (client: WClient): WebjsClient => client;
