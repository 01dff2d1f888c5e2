/** A message of the send queue as the API, the live events and the wait of `POST /v1/messages?wait=true` show it. */
import type { EngineLocation } from '../../engines/engine-media.js';
import type { Ack } from '../../engines/engine.js';
import type { OutgoingDoc, OutgoingStatus } from '../../storage/store.js';
import { sentByView } from '../views.js';

export interface OutgoingView {
  /** The queue's id (`out_…`), stable from the 202 answer on. */
  id: string;
  status: OutgoingStatus;
  chatId: string;
  fromMe: true;
  isGroup: boolean;
  /** `chat` (text), a media type (image, video, audio, ptt, document, sticker), `location` or `vcard`. */
  type: NonNullable<OutgoingDoc['type']>;
  /** The text, a media message's caption, or the vCard. */
  body: string;
  /** Media sends: the stored file (its bytes at `GET /v1/messages/{id}/media`). */
  media?: { mimetype: string; filename?: string; size: number; sha256: string };
  location?: EngineLocation;
  quotedMessageId?: string;
  /** A forward: the id of the message forwarded. */
  forwardOf?: string;
  /** Who sends it (`views.ts` sentByView). */
  sentBy: ReturnType<typeof sentByView>;
  /** ISO 8601: when it was queued. */
  createdAt: string;
  /** ISO 8601: when WhatsApp took it (`sent`). */
  sentAt?: string;
  /** The WhatsApp message id (`sent`): the id of the stored message, its acks and its events. */
  messageId?: string;
  /** The stored message's ack (`sent`): 1 server, 2 device, 3 read. */
  ack?: Ack;
  /** Engine attempts so far. */
  attempts: number;
  /** Why it failed (`failed`). */
  error?: { code: string; message: string };
}

/** The view of `d`; `ack` from the stored message when sent. */
export function toOutgoingView(d: OutgoingDoc, ack?: Ack): OutgoingView {
  return {
    id: d._id,
    status: d.status,
    chatId: d.chatId,
    fromMe: true,
    isGroup: d.chatId.endsWith('@g.us'),
    type: d.type ?? 'chat',
    body: d.body,
    ...(d.media
      ? {
          media: {
            mimetype: d.media.mimetype,
            ...(d.media.filename ? { filename: d.media.filename } : {}),
            size: d.media.size,
            sha256: d.media.sha256,
          },
        }
      : {}),
    ...(d.location ? { location: d.location } : {}),
    ...(d.quotedMessageId ? { quotedMessageId: d.quotedMessageId } : {}),
    ...(d.forwardOf ? { forwardOf: d.forwardOf } : {}),
    sentBy: sentByView(d.sentBy),
    createdAt: d.createdAt.toISOString(),
    ...(d.sentAt ? { sentAt: d.sentAt.toISOString() } : {}),
    ...(d.messageId ? { messageId: d.messageId } : {}),
    ...(ack !== undefined && d.status === 'sent' ? { ack } : {}),
    attempts: d.attempts,
    ...(d.status === 'failed' && d.error?.code ? { error: { code: d.error.code, message: d.error.message } } : {}),
  };
}
