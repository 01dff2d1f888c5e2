/**
 * Wire protocol between a simulated engine (a "linked device") and the simulated WhatsApp network server:
 * JSON text frames over one WebSocket at {@link SIMNET_WS_PATH}.
 *
 * Flow:
 * 1. The device opens the socket and sends `resume` (stored session) or `login` (new link; `phone` asks for a
 *    pairing code instead of a QR).
 * 2. Login: the server sends `qr` frames (rotating) or one `pairing_code`, then `authenticated` once the phone
 *    links the device (test hooks), or `login_failed` when nobody did in time.
 *    Resume: the server answers `resumed` or `session_invalid` (unknown/unlinked device; the device logs in anew);
 *    while the account's phone is offline (test hook) it closes the connection with code 1013 instead.
 *    After `authenticated` / `resumed` and the pushes queued meanwhile comes `ready`.
 * 3. Linked: the server sends `push` frames (messages, acks, chats, contacts), numbered per device; the device
 *    confirms each with `received {seq}` (unconfirmed pushes are sent again on the next connection, so delivery
 *    is at-least-once and a confirmed message push is the delivery receipt, ack 2). Requests (`send`, `contacts`,
 *    `chats`, `history`, `chatstate`, `logout`) carry a `reqId` answered by one `response`.
 *
 * 4. The server may end a linked session with `logged_out` (unlinked from the phone: forget the credentials) or
 *    `conflict` (another connection resumed the same credentials: stop, keep them).
 *
 * Message ids are `<fromMe>_<chatId>_<KEY>` from the receiving account's view (also in groups, where
 * whatsapp-web.js would append `_<participant>`); KEY is the sender's 20-hex key, shared by all sides.
 * Client frames are untrusted input on the server and are validated with {@link clientFrameSchema}; an invalid
 * frame gets an `error` frame, or a failed `response` when it carried a numeric `reqId`.
 */
import { z } from 'zod';
import { actionFrameSchemas, type ActionPushEvent, type WireEdit, type WireGroupInfo, type WireRevoke } from './protocol-actions.js';

export type * from './protocol-actions.js';

/**
 * Message acknowledgement, WhatsApp's numbering: -1 error, 0 pending, 1 server (one tick), 2 device (two ticks),
 * 3 read (blue), 4 played.
 */
export type Ack = -1 | 0 | 1 | 2 | 3 | 4;

/** A message as one account sees it. Ids are serialized `<fromMe>_<chatId>_<KEY>`. */
export interface WireMessage {
  /** Serialized message id, unique per account. */
  id: string;
  /** The chat the message belongs to (the peer for 1:1 chats, the group for group chats). */
  chatId: string;
  /** Sender's user id (`<digits>@c.us`). */
  author: string;
  fromMe: boolean;
  isGroup: boolean;
  /** `chat` (text), or a media / location / contact card type: see {@link CONTENT_TYPES}. */
  type: string;
  /** The text, a media message's caption, or a contact card's vCard. */
  body: string;
  /** Epoch milliseconds. */
  timestamp: number;
  ack: Ack;
  /** Id of the quoted message (as this account sees it), when the message is a reply. */
  quotedMessageId?: string | undefined;
  /** Forwarded from another chat. */
  isForwarded?: boolean | undefined;
  /** Media messages: the file on the network's media server (`GET /media/:id`). */
  media?: WireMedia | undefined;
  /** `type: location`. */
  location?: WireLocation | undefined;
  /** `type: vcard`: the contact card (also the body). */
  vcard?: string | undefined;
}

/** A media file uploaded to the network's media server (`POST /media`), as messages reference it. */
export interface WireMedia {
  /** The media server's id (WhatsApp's direct path, in spirit). */
  id: string;
  mimetype: string;
  filename?: string | undefined;
  /** Bytes. */
  size: number;
  /** SHA-256 of the bytes, hex. */
  sha256: string;
}

/** A shared location, degrees (WGS 84). */
export interface WireLocation {
  latitude: number;
  longitude: number;
  name?: string | undefined;
  address?: string | undefined;
  url?: string | undefined;
}

/** Message types other than text that the network carries (whatsapp-web.js' names; `ptt` is a voice note). */
export const MEDIA_CONTENT_TYPES = ['image', 'video', 'audio', 'ptt', 'document', 'sticker'] as const;
export const CONTENT_TYPES = [...MEDIA_CONTENT_TYPES, 'location', 'vcard'] as const;

/** Path of the media server: `POST` uploads raw bytes (Content-Type = the MIME type), `GET /:id` downloads. */
export const SIMNET_MEDIA_PATH = '/media';

/** Largest media file the network's media server takes, bytes (WhatsApp's document limit). */
export const MAX_MEDIA_BYTES = 100 * 1024 * 1024;

/** A user (`<digits>@c.us`) or a group (`<id>@g.us`) as one account sees it. */
export interface WireContact {
  id: string;
  /** Phone number in international digits (users only). */
  number?: string | undefined;
  name?: string | undefined;
  pushname?: string | undefined;
  isGroup: boolean;
  isMyContact?: boolean | undefined;
  /** Participants' user ids (groups only). */
  participants?: string[] | undefined;
}

/** A chat as one account sees it. */
export interface WireChat {
  id: string;
  name?: string | undefined;
  isGroup: boolean;
  unreadCount: number;
  /** Epoch ms of the last message, when there is one. */
  lastMessageAt?: number | undefined;
  archived?: boolean | undefined;
  pinned?: boolean | undefined;
  muted?: boolean | undefined;
  /** The newest message (in `chats` responses; pushes leave it out). */
  lastMessage?: Pick<WireMessage, 'id' | 'author' | 'fromMe' | 'type' | 'body' | 'timestamp'> | undefined;
}

/** A group's metadata as its members see it (whatsapp-web.js `GroupChat`). */
export interface WireGroup {
  /** `<id>@g.us` */
  id: string;
  subject: string;
  description?: string | undefined;
  /** The creator's user id. */
  owner: string;
  /** Epoch ms. */
  createdAt?: number | undefined;
  participants: Array<{ id: string; isAdmin: boolean; isSuperAdmin: boolean }>;
}

/** The account a device is linked to. */
export interface WireAccount {
  /** `<digits>@c.us` */
  id: string;
  /** International digits. */
  phone: string;
  pushname?: string | undefined;
}

/** Path of the WebSocket endpoint on the simnet server. */
export const SIMNET_WS_PATH = '/ws';

/** Largest accepted frame, bytes. */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** Longest text message body, characters (WhatsApp's limit). */
export const MAX_BODY_CHARS = 65_536;

/** Most messages one `history` request may return. */
export const MAX_HISTORY = 10_000;

/** A phone number in international digits, without `+` (E.164 allows up to 15). */
export const phoneDigits = z.string().regex(/^\d{6,15}$/, 'must be 6 to 15 digits');

/** Message key as assigned by the sender: 20 uppercase hex characters. */
export const messageKey = z.string().regex(/^[0-9A-F]{20}$/, 'must be 20 uppercase hex characters');

/** What a `send` carries besides the text: a media file (uploaded first), a location or a contact card. */
export const messageContentSchema = z.object({
  type: z.enum(CONTENT_TYPES),
  media: z
    .object({ id: z.string().min(1).max(100), mimetype: z.string().min(1).max(255), filename: z.string().min(1).max(255).optional() })
    .optional(),
  location: z
    .object({
      latitude: z.number().min(-90).max(90),
      longitude: z.number().min(-180).max(180),
      name: z.string().max(1000).optional(),
      address: z.string().max(1000).optional(),
      url: z.string().max(2048).optional(),
    })
    .optional(),
  vcard: z.string().min(1).max(MAX_BODY_CHARS).optional(),
});
export type MessageContent = z.infer<typeof messageContentSchema>;

const reqId = z.number().int().nonnegative();

/** Every frame a device may send. */
export const clientFrameSchema = z.discriminatedUnion('type', [
  /** Start a new link: QR login, or pairing-code login for `phone`. */
  z.object({ type: z.literal('login'), phone: phoneDigits.optional() }),
  /** Resume a stored session. */
  z.object({ type: z.literal('resume'), deviceId: z.string().min(1).max(200), token: z.string().min(1).max(200) }),
  /** Confirms push `seq` was processed. */
  z.object({ type: z.literal('received'), seq: z.number().int().nonnegative() }),
  /**
   * Send a message to a chat id (`…@c.us` / `…@g.us`): a text (`body` not empty), or with `content` a media file
   * (uploaded to the media server first; `body` is the caption), a location or a contact card.
   */
  z.object({
    type: z.literal('send'),
    reqId,
    to: z.string().min(1).max(100),
    key: messageKey,
    body: z.string().max(MAX_BODY_CHARS),
    quotedMessageId: z.string().min(1).max(300).optional(),
    content: messageContentSchema.optional(),
  }),
  z.object({ type: z.literal('contacts'), reqId }),
  /** Show the typing / recording indicator in a chat, or clear it (`paused`): whatsapp-web.js `Chat.sendStateTyping()`. */
  z.object({
    type: z.literal('chatstate'),
    reqId,
    chatId: z.string().min(1).max(100),
    state: z.enum(['typing', 'recording', 'paused']),
  }),
  /** The newest `limit` messages of one of the account's chats, oldest first (WhatsApp Web's `fetchMessages`). */
  z.object({ type: z.literal('history'), reqId, chatId: z.string().min(1).max(100), limit: z.number().int().min(1).max(MAX_HISTORY) }),
  z.object({ type: z.literal('chats'), reqId }),
  /** The groups the account is in, with their metadata. */
  z.object({ type: z.literal('groups'), reqId }),
  /** Mark a chat read from this device (whatsapp-web.js `Chat.sendSeen()`). */
  z.object({ type: z.literal('read'), reqId, chatId: z.string().min(1).max(100) }),
  /** Unlink this device. */
  z.object({ type: z.literal('logout'), reqId }),
  ...actionFrameSchemas,
]);

export type ClientFrame = z.infer<typeof clientFrameSchema>;

/** Client frames that expect a `response`. */
export type RequestFrame = Extract<ClientFrame, { reqId: number }>;
export type RequestType = RequestFrame['type'];

/** Result carried by a successful `response`, per request type. */
export interface ResultMap {
  /** The message as sent, from the sender's view, ack 1 (the server accepted it). */
  send: { message: WireMessage };
  contacts: { contacts: WireContact[] };
  chatstate: Record<string, never>;
  /** The chat's newest messages as the account sees them, oldest first. */
  history: { messages: WireMessage[] };
  chats: { chats: WireChat[] };
  groups: { groups: WireGroup[] };
  read: Record<string, never>;
  logout: Record<string, never>;
  react: Record<string, never>;
  edit: { edit: WireEdit };
  revoke: { revoke: WireRevoke };
  /** The new message, from the sender's view. */
  forward: { message: WireMessage };
  group_create: { group: WireGroupInfo };
  group_info: { group: WireGroupInfo };
  group_subject: { group: WireGroupInfo };
  group_description: { group: WireGroupInfo };
  group_participants: { group: WireGroupInfo };
  group_invite: { code: string };
  group_leave: Record<string, never>;
}

/** Stable error shape in responses and `error` frames. */
export interface WireError {
  code: string;
  message: string;
}

/** Credentials of a linked device, stored by the engine like whatsapp-web.js' LocalAuth. */
export interface DeviceSession {
  deviceId: string;
  token: string;
}

/** Something that happened for the account, delivered to each of its linked devices. */
export type PushEvent =
  | { kind: 'message'; message: WireMessage }
  | { kind: 'ack'; id: string; chatId: string; ack: Ack }
  | { kind: 'chat'; chat: WireChat }
  | { kind: 'contact'; contact: WireContact }
  /** A group's metadata changed (or the account joined it). */
  | { kind: 'group'; group: WireGroup }
  | ActionPushEvent;

export type ResponseFrame =
  | { type: 'response'; reqId: number; ok: true; result: ResultMap[RequestType] }
  | { type: 'response'; reqId: number; ok: false; error: WireError };

/** Every frame the server sends. */
export type ServerFrame =
  /** A QR string to show; valid for `expiresInMs` ms, then replaced by the next one. */
  | { type: 'qr'; qr: string; expiresInMs: number }
  /** An 8-character pairing code to type on the phone; valid for `expiresInMs` ms. */
  | { type: 'pairing_code'; code: string; expiresInMs: number }
  /** Nobody scanned/confirmed in time; the login is over. */
  | { type: 'login_failed'; reason: string }
  /** The phone linked this device: store `session` to resume later. */
  | { type: 'authenticated'; account: WireAccount; session: DeviceSession }
  | { type: 'resumed'; account: WireAccount }
  /** After `authenticated` or `resumed` and the pushes queued meanwhile: the session is usable (WhatsApp Web's ready). */
  | { type: 'ready' }
  /** The stored session is not (or no longer) linked; log in anew. */
  | { type: 'session_invalid'; reason: string }
  /** The device was unlinked from the phone; forget the stored session. */
  | { type: 'logged_out'; reason: string }
  /** Another connection resumed this device's session; this one is closed (WhatsApp's CONFLICT). */
  | { type: 'conflict'; reason: string }
  | { type: 'push'; seq: number; event: PushEvent }
  | ResponseFrame
  /** A frame the server could not accept (malformed JSON, unknown type, bad fields). */
  | { type: 'error'; error: WireError };

/** A request frame the server could not accept still gets a `response` when it carried a numeric `reqId`. */
export function requestIdOf(json: unknown): number | undefined {
  if (typeof json !== 'object' || json === null || !('reqId' in json)) return undefined;
  const { reqId } = json;
  return typeof reqId === 'number' && Number.isInteger(reqId) ? reqId : undefined;
}
