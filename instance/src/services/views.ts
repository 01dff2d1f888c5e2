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
  /** Who sent it: through the API (a member, a token, the platform) or from the phone; absent on incoming messages. */
  sentBy?: SentByView | undefined;
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
    ...(d.sentBy?.tokenId ? { sentBy: sentByView(d.sentBy) } : d.fromMe ? { sentBy: { kind: 'phone' as const } } : {}),
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

/** The name of the main backend's gateway token (`http/sender.ts`): its sends without a member are the platform's. */
const GATEWAY_TOKEN_NAME = 'wacloud-gateway';

/**
 * Who sent an outgoing message: `member` (a team member, through the main backend's gateway; only its token can name
 * one), `token` (an instance token, by its name), `system` (the main backend itself, no member) or `phone` (sent from
 * the phone or another linked device, not through the API).
 */
export type SentByView =
  { kind: 'member' | 'token' | 'system'; tokenId: string; tokenName: string; member?: { id: string; name: string } } | { kind: 'phone' };

/** The view of a message's sender sent through the API: its kind, the token, and the member the gateway sent it for. */
export function sentByView(b: SentBy): Extract<SentByView, { tokenId: string }> {
  const member = b.member?.id ? { id: b.member.id, name: b.member.name } : undefined;
  return {
    kind: member ? 'member' : b.tokenName === GATEWAY_TOKEN_NAME ? 'system' : 'token',
    tokenId: b.tokenId,
    tokenName: b.tokenName,
    ...(member ? { member } : {}),
  };
}
