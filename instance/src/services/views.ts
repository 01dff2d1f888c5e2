/**
 * Messages and contacts as the instance shows them: in API responses, on the live event stream and in webhook
 * payloads. Timestamps are ISO 8601 strings; absent optional fields are left out.
 */
import type { EngineContact, EngineMessage } from '../engines/engine.js';
import type { ContactDoc, MediaStatus, MessageDoc, SentBy } from '../storage/store.js';

/** Message as the API shows it: the engine's message with an ISO 8601 timestamp and, when sent through the API, its token. */
export interface MessageView extends Omit<EngineMessage, 'timestamp' | 'media'> {
  /** ISO 8601 */
  timestamp: string;
  sentBy?: SentBy | undefined;
  /** ISO 8601: when its author last edited it. */
  editedAt?: string | undefined;
  /** ISO 8601: when its author deleted it for everyone (type `revoked`, body empty). */
  revokedAt?: string | undefined;
  /** Reactions, one per sender (ISO 8601 timestamps). */
  reactions?: Array<{ sender: string; reaction: string; timestamp: string }> | undefined;
  /** Media messages: the file (its bytes at `GET /v1/messages/{id}/media`) and whether it is stored. */
  media?: { mimetype: string; filename?: string; size?: number; status?: MediaStatus } | undefined;
}

/** Contact (user or group) as the API shows it: the engine's contact with the time it was last written. */
export interface ContactView extends EngineContact {
  /** ISO 8601 */
  updatedAt: string;
}

export function toMessageView(d: MessageDoc): MessageView {
  return {
    id: d._id,
    chatId: d.chatId,
    author: d.author,
    fromMe: d.fromMe,
    isGroup: d.isGroup,
    type: d.type,
    body: d.body,
    timestamp: d.timestamp.toISOString(),
    ack: d.ack,
    ...(d.quotedMessageId ? { quotedMessageId: d.quotedMessageId } : {}),
    ...(d.sentBy?.tokenId ? { sentBy: sentByView(d.sentBy) } : {}),
    ...(d.isForwarded ? { isForwarded: true } : {}),
    ...(d.editedAt ? { editedAt: new Date(d.editedAt).toISOString() } : {}),
    ...(d.revokedAt ? { revokedAt: new Date(d.revokedAt).toISOString() } : {}),
    ...(d.reactions?.length
      ? { reactions: d.reactions.map((r) => ({ sender: r.sender, reaction: r.reaction, timestamp: new Date(r.timestamp).toISOString() })) }
      : {}),
    ...(d.media
      ? {
          media: {
            mimetype: d.media.mimetype,
            ...(d.media.filename ? { filename: d.media.filename } : {}),
            ...(typeof d.media.size === 'number' ? { size: d.media.size } : {}),
            ...(d.media.status ? { status: d.media.status } : {}),
          },
        }
      : {}),
    ...(d.location ? { location: d.location } : {}),
    ...(d.vcard ? { vcard: d.vcard } : {}),
  };
}

export function toContactView(d: ContactDoc): ContactView {
  return {
    id: d._id,
    ...(d.number ? { number: d.number } : {}),
    ...(d.name ? { name: d.name } : {}),
    ...(d.pushname ? { pushname: d.pushname } : {}),
    isGroup: d.isGroup,
    ...(d.isMyContact !== undefined && d.isMyContact !== null ? { isMyContact: d.isMyContact } : {}),
    ...(d.participants ? { participants: d.participants } : {}),
    updatedAt: new Date(d.updatedAt).toISOString(),
  };
}

/** The view of a message's sender: the token, and the member when the main backend's gateway sent it for one. */
export function sentByView(b: SentBy): { tokenId: string; tokenName: string; member?: { id: string; name: string } } {
  return {
    tokenId: b.tokenId,
    tokenName: b.tokenName,
    ...(b.member?.id ? { member: { id: b.member.id, name: b.member.name } } : {}),
  };
}
