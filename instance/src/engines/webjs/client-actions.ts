/**
 * The part of whatsapp-web.js the webjs engine's message actions and group administration use (`features.ts`), as
 * types built from the library's own definitions, like `client.ts`: a `Message` with its actions, a `GroupChat` with
 * its administration, and the `Client` methods for both. The `…Proof` functions below prove at compile time that
 * the library's objects are these, so an upgrade that changes one breaks the build. Stand-ins implement them.
 */
import type { AddParticipantsOptions, ChatId, Client as WClient, GroupChat as WGroupChat, Message as WMessage } from 'whatsapp-web.js';
import type { WebjsChat, WebjsMediaMessage, WebjsMessage } from './client.js';

/** A `Message` with the actions the engine takes on it. */
export type WebjsActionMessage = WebjsMessage &
  Pick<WMessage, 'react' | 'isForwarded'> & {
    /** `Message.edit(content)`: the edited message, or null when WhatsApp refused. */
    edit(content: string): Promise<unknown>;
    /** `Message.delete(everyone)`: `true` deletes for everyone. */
    delete(everyone?: boolean): Promise<void>;
    /** `Message.forward(chatId)`. */
    forward(chat: string): Promise<void>;
  };

/** A `GroupChat` with the administration the engine does. */
export type WebjsGroupChat = WebjsChat &
  Pick<
    WGroupChat,
    'participants' | 'description' | 'owner' | 'setSubject' | 'setDescription' | 'getInviteCode' | 'revokeInvite' | 'leave'
  > & {
    addParticipants(participantIds: string[], options?: AddParticipantsOptions): Promise<unknown>;
    removeParticipants(participantIds: string[]): Promise<{ status: number }>;
    promoteParticipants(participantIds: string[]): Promise<{ status: number }>;
    demoteParticipants(participantIds: string[]): Promise<{ status: number }>;
  };

/** The `Client` methods of message actions and group administration. */
export interface WebjsActionsClient {
  /**
   * `Client.getMessageById`: the message (its actions, and its media download for `media.ts`), or null/undefined when
   * the page does not have it.
   */
  getMessageById(messageId: string): Promise<(WebjsActionMessage & WebjsMediaMessage) | null | undefined>;
  /** `Client.createGroup(title, participants)`: the new group's id, or an error text. */
  createGroup(title: string, participants: string[]): Promise<{ gid: ChatId } | string>;
}

/** Compile-time proofs that whatsapp-web.js' own objects are the types above. */
export const clientIsActionsClient = (client: WClient): WebjsActionsClient => client;
export const messageIsActionMessage = (message: WMessage): WebjsActionMessage => message;
export const groupIsWebjsGroupChat = (group: WGroupChat): WebjsGroupChat => group;
