/**
 * Message records: the stored shape of an engine message, and the one direct write of a message (a message sent
 * through the API, written at once so the response and an immediate read agree). Every other message is written in
 * batches by the persister.
 */
import type { EngineMessage } from '../engines/engine.js';
import { utcDay, type MessageDoc, type SentBy, type Store } from './store.js';

/** The stored record of `m` (timestamps become Dates, `day` is the UTC day); `sentBy` for messages sent through the API. */
export function toMessageDoc(m: EngineMessage, sentBy?: SentBy): MessageDoc {
  const ts = new Date(m.timestamp);
  return {
    _id: m.id,
    chatId: m.chatId,
    author: m.author,
    fromMe: m.fromMe,
    isGroup: m.isGroup,
    type: m.type,
    body: m.body,
    timestamp: ts,
    day: utcDay(ts),
    ack: m.ack,
    quotedMessageId: m.quotedMessageId,
    ...(m.isForwarded ? { isForwarded: true } : {}),
    sentBy,
    createdAt: new Date(),
    // Media files are downloaded after the message is recorded (services/media/received.ts); a sent file is stored.
    ...(m.media ? { media: { status: 'pending' as const, ...m.media } } : {}),
    ...(m.location ? { location: m.location } : {}),
    ...(m.vcard ? { vcard: m.vcard } : {}),
  };
}

/**
 * Writes a message sent through the API in one idempotent upsert: inserted when new; when a record already exists,
 * its first fields stay, its ack only goes up and `sentBy` is set.
 * @throws the driver's error when the database is unreachable.
 */
export async function writeSentMessage(store: Store, doc: MessageDoc): Promise<void> {
  const { ack, sentBy, ...rest } = doc;
  await store.col.messages.updateOne({ _id: doc._id }, { $setOnInsert: rest, $max: { ack }, $set: { sentBy } }, { upsert: true });
}
