/**
 * What a send queue record sends, by its `type`: a text (`chat`), a media file (read back from GridFS, where it was
 * stored before the record was queued), a location or a contact card; and how an interrupted send's copy is recognised
 * in the chat's history for each.
 */
import { isMediaType } from '../../engines/engine-media.js';
import { EngineError, type Engine, type EngineMessage } from '../../engines/engine.js';
import type { StoredMediaRef } from '../../storage/media.js';
import type { OutgoingDoc } from '../../storage/store.js';

/** What the send queue needs of media storage. */
export interface MediaAccess {
  /** The bytes of a stored file. @throws the driver's error (FileNotFound when it is gone). */
  read(fileId: string): Promise<Buffer>;
  /** Records that file `ref` was sent as message `messageId`. */
  linkSent(ref: StoredMediaRef, messageId: string): Promise<void>;
}

export type ContentFields = Pick<
  OutgoingDoc,
  'chatId' | 'body' | 'quotedMessageId' | 'forwardOf' | 'type' | 'media' | 'location' | 'vcard'
>;

/**
 * Sends `doc` through the engine by its type (a forward, `forwardOf`, whatever the forwarded message is).
 * @throws what the engine's send throws; EngineError `media_missing` when the stored file is gone or no media
 *   storage is given, `invalid_message` for a record that lacks its content.
 */
export async function sendContent(engine: Engine, doc: ContentFields, media?: MediaAccess): Promise<EngineMessage> {
  // A field the database gave back as null is absent.
  if (doc.forwardOf) return engine.forwardMessage(doc.forwardOf, doc.chatId);
  const options = { quotedMessageId: doc.quotedMessageId ?? undefined };
  const type = doc.type ?? 'chat';
  if (type === 'chat') return engine.sendText(doc.chatId, doc.body, options);
  if (isMediaType(type)) {
    if (!doc.media || !media) throw new EngineError('media_missing', 'the record has no stored media file');
    let data: Buffer;
    try {
      data = await media.read(doc.media.fileId);
    } catch (err) {
      throw new EngineError('media_missing', `the stored media file could not be read: ${(err as Error).message}`);
    }
    const caption = doc.body || undefined;
    return engine.sendMedia(
      doc.chatId,
      { type, data, mimetype: doc.media.mimetype, filename: doc.media.filename ?? undefined, caption },
      options,
    );
  }
  if (type === 'location' && doc.location) return engine.sendLocation(doc.chatId, doc.location, options);
  if (type === 'vcard' && doc.vcard) return engine.sendContactCard(doc.chatId, doc.vcard, options);
  throw new EngineError('invalid_message', `a ${type} message without its content`);
}

/**
 * Whether history message `m` (from this account) is a copy of record `doc`: the same type and text for texts and
 * media (the caption; and the size when both are known), the same coordinates for a location, any contact card for a
 * contact card (WhatsApp may rewrite the vCard), a forwarded message with the same body for a forward (of any type).
 */
export function isCopyOf(m: EngineMessage, doc: ContentFields): boolean {
  if (doc.forwardOf) return !!m.isForwarded && m.body === doc.body;
  const type = doc.type ?? 'chat';
  if ((m.type || 'chat') !== type) return false;
  if (type === 'location') {
    return (
      !!m.location && !!doc.location && m.location.latitude === doc.location.latitude && m.location.longitude === doc.location.longitude
    );
  }
  if (type === 'vcard') return true;
  if (m.body !== doc.body) return false;
  return !(doc.media && m.media?.size !== undefined && m.media.size !== doc.media.size);
}
