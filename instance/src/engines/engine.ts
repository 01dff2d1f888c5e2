/**
 * The `Engine` interface: the one seam between wacloud's instance service and a WhatsApp implementation.
 *
 * Engines: `webjs/` (whatsapp-web.js driving the system Chromium through puppeteer-core) and `simulated/` (a linked
 * device of the simulated WhatsApp network `@wacloud/simnet`, for tests and demos). The application services only
 * ever talk to this interface; an engine never touches MongoDB or HTTP clients of ours.
 *
 * Ids follow WhatsApp's wire format: a user chat is `<digits>@c.us`, a group `<id>@g.us`; a message id is
 * serialized as `<fromMe>_<chatId>_<key>` like whatsapp-web.js' `id._serialized`.
 */
import type { EventEmitter } from 'node:events';
import type { EngineActions, EngineEdit, EngineReaction, EngineRevoke } from './engine-actions.js';
import type { EngineGroupUpdate, EngineGroups } from './engine-groups.js';
import type { EngineMedia, EngineMessageContent } from './engine-media.js';
import type { EnginePresence } from './engine-presence.js';
import type { EngineGroup } from './engine-groups-model.js';
import type { EngineSync } from './engine-sync.js';

/**
 * Session state as reported by `GET /health` and the event stream:
 * - `STOPPED` — no session runs (after stop, logout, or logged out from the phone: then the next start shows a QR);
 * - `STARTING` — initialising (browser / connection starting, also each reconnect attempt);
 * - `SCAN_QR_CODE` — waiting for the phone to scan the QR (or confirm the pairing code);
 * - `AUTHENTICATING` — the phone linked the device or the stored session was accepted; loading until WORKING;
 * - `WORKING` — connected;
 * - `DISCONNECTED` — the connection was lost (or a start failed); a reconnect with backoff is scheduled, keeping the
 *   stored session (see `reconnect.ts`);
 * - `FAILED` — given up: an unrecoverable error, or the reconnect budget is spent.
 */
export const SESSION_STATES = ['STOPPED', 'STARTING', 'SCAN_QR_CODE', 'AUTHENTICATING', 'WORKING', 'DISCONNECTED', 'FAILED'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

/** A streak of reconnect attempts (after a failure, until WORKING again or given up). */
export interface ReconnectStatus {
  /** Retries scheduled or made so far in this streak. */
  attempt: number;
  /** Retries allowed in a row. */
  maxAttempts: number;
  /** When the next retry starts, epoch ms (while one is scheduled). */
  retryAt?: number | undefined;
  /** The budget is spent: the session is FAILED for good (until a new start) and `/health/live` fails. */
  exhausted: boolean;
  /** The last failure. */
  lastReason?: string | undefined;
}

/**
 * Message acknowledgement, WhatsApp's numbering (whatsapp-web.js `MessageAck`):
 * -1 error, 0 pending (clock), 1 server (one tick), 2 device (two ticks), 3 read (blue), 4 played.
 */
export type Ack = -1 | 0 | 1 | 2 | 3 | 4;

export interface EngineMessage extends EngineMessageContent {
  /** Serialized message id, unique per account. */
  id: string;
  /** The chat this message belongs to (the peer for 1:1 chats, the group for group chats). */
  chatId: string;
  /** Sender's user id (`<digits>@c.us`); for fromMe messages, the account's own id. */
  author: string;
  fromMe: boolean;
  isGroup: boolean;
  /** Message type as WhatsApp names it: chat (text), image, video, audio, ptt, document, sticker, location, vcard, … */
  type: string;
  body: string;
  /** Epoch milliseconds. */
  timestamp: number;
  ack: Ack;
  /** Id of the quoted message, when this message is a reply. */
  quotedMessageId?: string | undefined;
  /** The message was forwarded from another chat. */
  isForwarded?: boolean | undefined;
}

export interface EngineContact {
  /** `<digits>@c.us` for users, `<id>@g.us` for groups. */
  id: string;
  /** Phone number in international digits (users only). */
  number?: string | undefined;
  name?: string | undefined;
  pushname?: string | undefined;
  isGroup: boolean;
  isMyContact?: boolean | undefined;
  /** Group participants' ids (groups only). */
  participants?: string[] | undefined;
}

export interface EngineChat {
  id: string;
  name?: string | undefined;
  isGroup: boolean;
  unreadCount: number;
  /** Epoch ms of the last message, when known. */
  lastMessageAt?: number | undefined;
  /** Archived on the phone (sync after login; undefined when the engine does not know). */
  archived?: boolean | undefined;
  /** Pinned to the top of the chat list. */
  pinned?: boolean | undefined;
  /** Notifications muted (for a while or for ever). */
  muted?: boolean | undefined;
  /** The chat's newest message, when the engine has it. */
  lastMessage?: Pick<EngineMessage, 'id' | 'author' | 'fromMe' | 'type' | 'body' | 'timestamp'> | undefined;
}

/** The account the session is logged in as. */
export interface EngineAccount {
  /** `<digits>@c.us` */
  id: string;
  phone: string;
  pushname?: string | undefined;
}

export interface EngineEvents {
  /** Session state changed; `reason` explains it (FAILED, STOPPED, DISCONNECTED, a reconnecting STARTING). */
  state: [state: SessionState, reason?: string];
  /** A new QR string to be shown for scanning (raw string, as WhatsApp gives it). */
  qr: [qr: string];
  /** A pairing code for phone-number login (8 characters). */
  pairing_code: [code: string];
  /** Logged in as this account (the session is WORKING right after). */
  authenticated: [account: EngineAccount];
  /** A message was received or sent (including messages sent from the phone or through this engine). */
  message: [message: EngineMessage];
  /** The ack of a message changed. */
  message_ack: [ack: { id: string; chatId: string; ack: Ack }];
  /** A contact was seen or changed. */
  contact: [contact: EngineContact];
  /** A chat was seen or changed. */
  chat: [chat: EngineChat];
  // Message actions, presence and group administration (engine-actions.ts, engine-presence.ts, engine-groups.ts):
  /** A reaction was put on, changed or taken off a message (by anyone, the account included). */
  message_reaction: [reaction: EngineReaction];
  /** A message was edited by its author (the account included). */
  message_edit: [edit: EngineEdit];
  /** A message was deleted for everyone by its author (the account included). */
  message_revoke: [revoke: EngineRevoke];
  /** Someone showed or cleared the typing / recording indicator in one of the account's chats. */
  presence: [presence: EnginePresence];
  /** A group changed (subject, description, participants, admins, invite link), by anyone (the account included). */
  group_update: [update: EngineGroupUpdate];
  // Sync after login (engine-sync.ts)
  /** A group's metadata changed (subject, description, participants, admins), or the account joined one. */
  group: [group: EngineGroup];
}

export interface SendTextOptions {
  /** Serialized id of the message to quote. */
  quotedMessageId?: string | undefined;
}

/**
 * What the account shows in a chat while composing (whatsapp-web.js `Chat.sendStateTyping()`, `sendStateRecording()`,
 * `clearState()`): `typing`, `recording` (a voice note) or `paused` (neither). WhatsApp clears it on its own after
 * about 25 s, and when a message is sent.
 */
export type ChatState = 'typing' | 'recording' | 'paused';

export interface LoginOptions {
  /** Log in with a pairing code for this phone number (digits) instead of a QR. */
  phone?: string | undefined;
}

/**
 * One WhatsApp session. All methods may be called in any state; those that need WORKING throw
 * `EngineNotReadyError`. Implementations emit {@link EngineEvents} and never throw from event listeners.
 */
export interface Engine extends EventEmitter<EngineEvents>, EngineActions, EngineGroups, EngineSync, EngineMedia {
  readonly kind: 'webjs' | 'simulated';
  /** Current session state. */
  state(): SessionState;
  /** Reason of the current state, if any (always for FAILED, STOPPED and DISCONNECTED). */
  stateReason(): string | undefined;
  /** The current reconnect streak, or undefined when there is none (see `reconnect.ts`). */
  reconnectStatus(): ReconnectStatus | undefined;
  /** The logged-in account, when WORKING. */
  account(): EngineAccount | undefined;
  /**
   * Starts the session (idempotent; a start by a person also forgets a spent reconnect budget). Resolves once the
   * session is WORKING (stored session), waiting for a QR scan (SCAN_QR_CODE, after the first `qr`/`pairing_code`
   * event), DISCONNECTED (the first attempt failed; retries go on in the background) or FAILED. Never rejects for
   * network failures: those are retried with backoff and end in FAILED with a reason once the budget is spent.
   */
  start(options?: LoginOptions): Promise<void>;
  /** Current QR string while SCAN_QR_CODE, else undefined. */
  qr(): string | undefined;
  /** Current pairing code while SCAN_QR_CODE with a phone login, else undefined. */
  pairingCode(): string | undefined;
  /** Logs the account out (removes the stored session) and stops the session. */
  logout(): Promise<void>;
  /** Stops the session keeping the stored session (the next start resumes without a QR). Idempotent. */
  stop(): Promise<void>;
  /**
   * Sends a text message. `to` is a chat id (`…@c.us` / `…@g.us`). Resolves with the message as sent (ack ≥ 0).
   * @throws EngineNotReadyError unless WORKING; EngineError for a chat that does not exist (code `chat_not_found`).
   */
  sendText(to: string, text: string, options?: SendTextOptions): Promise<EngineMessage>;
  /**
   * Shows `state` to the other members of chat `chatId` (`…@c.us` / `…@g.us`): the typing or recording indicator, or
   * clears it (`paused`). Resolves once WhatsApp took it.
   * @throws EngineNotReadyError unless WORKING; EngineError `chat_not_found` / `number_not_on_whatsapp` for a chat the
   *   account cannot write to.
   */
  sendChatState(chatId: string, state: ChatState): Promise<void>;
  /** All contacts (users and groups) the account knows. @throws EngineNotReadyError unless WORKING. */
  contacts(): Promise<EngineContact[]>;
  /** All chats. @throws EngineNotReadyError unless WORKING. */
  chats(): Promise<EngineChat[]>;
  /**
   * Gap fill from the chat history: the messages of chat `chatId` timestamped at or after `sinceMs` (epoch ms), oldest
   * first, taken from the chat's newest `limit` messages (whatsapp-web.js `Chat.fetchMessages({ limit })`, which may
   * load earlier messages from the phone). A gap larger than `limit` is filled for its newest part only. Inclusive
   * because WhatsApp's timestamps are whole seconds: callers drop the ids they already have.
   * @throws EngineNotReadyError unless WORKING; EngineError `chat_not_found` for a chat the account does not have;
   *   RangeError when `limit` is not a positive integer.
   */
  messagesSince(chatId: string, sinceMs: number, limit: number): Promise<EngineMessage[]>;
  /**
   * PNG of what the session shows (the browser page for webjs). @throws EngineNotReadyError when STOPPED (or FAILED
   * for webjs), and one with `retryAfterMs` while the session starts and its screen cannot be captured yet.
   */
  screenshot(): Promise<Buffer>;
  /** Browser memory in bytes (PSS where measurable), or undefined when the engine runs no browser. */
  memoryBytes(): Promise<number | undefined>;
}

/**
 * Thrown by engine methods that need a WORKING (or at least started) session. `retryAfterMs` (ms) is set when the
 * session is on its way (e.g. STARTING) and the same call may succeed when retried after about that long. `cause`, when
 * given, is what made the call not ready (e.g. the browser's refused capture), for logs and tests; clients never see it.
 */
export class EngineNotReadyError extends Error {
  constructor(
    public readonly sessionState: SessionState,
    public readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(`session is ${sessionState}${retryAfterMs === undefined ? '' : `; retry in ${retryAfterMs} ms`}`, options);
    this.name = 'EngineNotReadyError';
  }
}

/** Engine-level failure with a stable code, e.g. `chat_not_found`, `number_not_on_whatsapp`. */
export class EngineError extends Error {
  constructor(
    public readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

/** Most messages one {@link Engine.messagesSince} call may ask for. */
export const MESSAGES_SINCE_MAX = 10_000;

/** @throws RangeError unless `limit` is an integer from 1 to {@link MESSAGES_SINCE_MAX}. */
export function checkHistoryLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MESSAGES_SINCE_MAX) {
    throw new RangeError(`limit must be an integer from 1 to ${MESSAGES_SINCE_MAX}`);
  }
}

/** `15551234567` → `15551234567@c.us`; chat ids pass through unchanged. */
export function toChatId(phoneOrChatId: string): string {
  return phoneOrChatId.includes('@') ? phoneOrChatId : `${phoneOrChatId.replace(/\D/g, '')}@c.us`;
}
