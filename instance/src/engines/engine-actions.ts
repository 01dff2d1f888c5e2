/**
 * Message actions of the {@link Engine}: react, edit, delete for everyone (revoke) and forward, and the events that
 * report them (own actions too: WhatsApp reports them back, as whatsapp-web.js' `message_reaction`, `message_edit` and
 * `message_revoke_everyone` do). Message ids are serialized ids as in `engine.ts`.
 */
import type { EngineMessage } from './engine.js';

/** How long after sending a message may still be edited (WhatsApp's 15 minutes), ms. */
export const EDIT_WINDOW_MS = 15 * 60_000;

/** A reaction put on, changed or taken off a message. */
export interface EngineReaction {
  /** The message reacted to. */
  messageId: string;
  /** Its chat. */
  chatId: string;
  /** Who reacted (`<digits>@c.us`). */
  sender: string;
  /** The emoji; empty when the sender took the reaction off. */
  reaction: string;
  /** Epoch ms. */
  timestamp: number;
  /** The account itself reacted. */
  fromMe: boolean;
}

/** A message's text was edited by its author. */
export interface EngineEdit {
  messageId: string;
  chatId: string;
  /** The author (only authors edit). */
  author: string;
  /** The new text. */
  body: string;
  /** Epoch ms. */
  editedAt: number;
}

/** A message was deleted for everyone by its author. */
export interface EngineRevoke {
  messageId: string;
  chatId: string;
  author: string;
  /** Epoch ms. */
  revokedAt: number;
}

/** The message actions every engine offers. All need WORKING (else `EngineNotReadyError`). */
export interface EngineActions {
  /**
   * Reacts to message `messageId` with `reaction` (one emoji); an empty string takes the account's reaction off.
   * @throws EngineError `message_not_found` (not in any chat of the account).
   */
  react(messageId: string, reaction: string): Promise<void>;
  /**
   * Replaces the text of the account's own message `messageId`; resolves with the edit.
   * @throws EngineError `message_not_found`, `not_own_message`, `message_revoked`, `edit_window_passed`
   *   ({@link EDIT_WINDOW_MS}), `invalid_message` (empty or too long).
   */
  editMessage(messageId: string, text: string): Promise<EngineEdit>;
  /**
   * Deletes the account's own message `messageId` for everyone; resolves with the revoke.
   * @throws EngineError `message_not_found`, `not_own_message`, `message_revoked`.
   */
  revokeMessage(messageId: string): Promise<EngineRevoke>;
  /**
   * Forwards message `messageId` to chat `to` (`…@c.us` / `…@g.us`); resolves with the new message (as `sendText`,
   * emitted as a `message` too).
   * @throws EngineError `message_not_found`, `message_revoked`, `chat_not_found`, `number_not_on_whatsapp`.
   */
  forwardMessage(messageId: string, to: string): Promise<EngineMessage>;
}
