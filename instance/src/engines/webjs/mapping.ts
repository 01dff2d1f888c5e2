/**
 * Mapping whatsapp-web.js objects to the engine's shapes ({@link EngineMessage}, {@link EngineContact},
 * {@link EngineChat}): ids normalized to strings, acks clamped, seconds turned into epoch ms.
 */
import type { Message as WMessage } from 'whatsapp-web.js';
import type { Ack, EngineChat, EngineContact, EngineMessage } from '../engine.js';
import type { WebjsChat, WebjsContact, WebjsMessage } from './client.js';
import { contentOf } from './media.js';

/** The fields of whatsapp-web.js' `Message` the mapping reads (a `Message` is one; so is a stand-in in tests). */
export type MappedMessage = Omit<WebjsMessage, 'isStatus'>;

/** Message types that are protocol noise rather than conversation; not emitted as `message`. */
export const IGNORED_MESSAGE_TYPES = new Set(['e2e_notification', 'notification_template', 'protocol', 'ciphertext', 'gp2']);

/** whatsapp-web.js ids are usually strings but may arrive as `{ _serialized }` objects (Wid); normalize. */
export function widString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && '_serialized' in value) return String(value._serialized);
  return '';
}

/** The chat a message belongs to: `id.remote`, else the peer (`to` for own messages, `from` otherwise). */
export function chatIdOf(msg: Pick<WMessage, 'id' | 'fromMe' | 'from' | 'to'>): string {
  return widString(msg.id?.remote) || widString(msg.fromMe ? msg.to : msg.from);
}

/** Clamps WhatsApp's ack number to {@link Ack}. */
export function toAck(ack: unknown): Ack {
  const n = typeof ack === 'number' && Number.isFinite(ack) ? Math.trunc(ack) : 0;
  return Math.max(-1, Math.min(4, n)) as Ack;
}

/**
 * Maps a message; `me` is the account's own id (the author of own messages). Looks the quoted message up in the page
 * when there is one (one evaluate).
 */
export async function toEngineMessage(msg: MappedMessage, me: string): Promise<EngineMessage> {
  const chatId = chatIdOf(msg);
  const isGroup = chatId.endsWith('@g.us');
  const author = msg.fromMe ? me || widString(msg.from) : isGroup ? widString(msg.author) : widString(msg.from);
  let quotedMessageId: string | undefined;
  if (msg.hasQuotedMsg) {
    const quoted = await msg.getQuotedMessage().catch(() => undefined);
    quotedMessageId = quoted?.id?._serialized;
  }
  return {
    id: msg.id._serialized,
    chatId,
    author,
    fromMe: msg.fromMe,
    isGroup,
    type: String(msg.type),
    body: msg.body ?? '',
    timestamp: (msg.timestamp ?? 0) * 1000,
    ack: toAck(msg.ack),
    quotedMessageId,
    ...(msg.isForwarded ? { isForwarded: true } : {}),
    ...contentOf(msg),
  };
}

/** Maps a contact; `participants` are the group's member ids (groups only). */
export function toEngineContact(c: WebjsContact, participants: string[] | undefined): EngineContact {
  return {
    id: c.id._serialized,
    number: c.isGroup ? undefined : c.number || c.id.user || undefined,
    name: c.name || undefined,
    pushname: c.pushname || undefined,
    isGroup: c.isGroup,
    isMyContact: c.isMyContact,
    participants: c.isGroup ? (participants ?? []) : undefined,
  };
}

/** Maps a chat. */
export function toEngineChat(c: WebjsChat): EngineChat {
  return {
    id: c.id._serialized,
    name: c.name || undefined,
    isGroup: c.isGroup,
    unreadCount: c.unreadCount ?? 0,
    lastMessageAt: c.timestamp ? c.timestamp * 1000 : undefined,
    archived: Boolean(c.archived),
    pinned: Boolean(c.pinned),
    muted: Boolean(c.isMuted),
    lastMessage: lastMessageOf(c.lastMessage),
  };
}

/** The summary of a chat's last message (no quoted-message lookup). */
function lastMessageOf(m: WebjsMessage | undefined): EngineChat['lastMessage'] {
  if (!m?.id?._serialized) return undefined;
  const chatId = chatIdOf(m);
  return {
    id: m.id._serialized,
    author: m.fromMe ? widString(m.from) : chatId.endsWith('@g.us') ? widString(m.author) : widString(m.from),
    fromMe: m.fromMe,
    type: String(m.type),
    body: m.body ?? '',
    timestamp: (m.timestamp ?? 0) * 1000,
  };
}

/** Error text of anything thrown (whatsapp-web.js sometimes throws plain strings). */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}
