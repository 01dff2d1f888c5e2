/**
 * Media in the webjs stand-in, shaped as whatsapp-web.js 1.34 hands it over (`src/structures/Message.js`): a media
 * message has `hasMedia: true`, `type` image / video / audio / ptt / document / sticker (`sendAudioAsVoice`,
 * `sendMediaAsDocument`, `sendMediaAsSticker` choose the last three), its caption as `body`, and WhatsApp Web's raw
 * fields `mimetype`, `filename`, `size` in `rawData`; `downloadMedia()` resolves with a `MessageMedia` (base64), or
 * undefined once WhatsApp no longer has the file. A location has `type: location` and a `Location` (its `body` is a
 * JPEG thumbnail in base64 on WhatsApp Web; empty here); a contact card `type: vcard`, the vCard as `body` and in
 * `vCards`.
 */
import wwebjs from 'whatsapp-web.js';
import type { Location, MessageMedia, MessageSendOptions } from 'whatsapp-web.js';
import type { WebjsMediaMessage } from '../../../src/engines/webjs/client.js';
import type { MessageFixture } from './fixtures.js';

const { MessageTypes } = wwebjs;

/** What a message carries besides text. */
export type StandInContent =
  | { kind: 'media'; media: MessageMedia; type: string; caption?: string | undefined }
  | { kind: 'location'; location: Location }
  | { kind: 'vcard'; vcard: string };

/** The content of a `Client.sendMessage(chatId, content, options)` call, as the library would send it. */
export function contentOfSend(content: string | MessageMedia | Location, options?: MessageSendOptions): StandInContent | undefined {
  if (typeof content === 'string') {
    return options?.parseVCards !== false && /^BEGIN:VCARD/.test(content) ? { kind: 'vcard', vcard: content } : undefined;
  }
  if (content instanceof wwebjs.Location) return { kind: 'location', location: content };
  const media = content as MessageMedia;
  const family = media.mimetype.split('/')[0];
  const type = options?.sendMediaAsSticker
    ? MessageTypes.STICKER
    : options?.sendMediaAsDocument
      ? MessageTypes.DOCUMENT
      : family === 'audio'
        ? options?.sendAudioAsVoice
          ? MessageTypes.VOICE
          : MessageTypes.AUDIO
        : family === 'image'
          ? MessageTypes.IMAGE
          : family === 'video'
            ? MessageTypes.VIDEO
            : MessageTypes.DOCUMENT;
  return { kind: 'media', media, type, caption: options?.caption };
}

/** Gives `msg` (a text fixture) the content `c`: type, body and the fields whatsapp-web.js fills. */
export function applyContent(msg: MessageFixture, c: StandInContent): MessageFixture {
  if (c.kind === 'media') {
    msg.type = c.type as MessageFixture['type'];
    msg.body = c.caption ?? '';
    msg.hasMedia = true;
    msg.rawData = { mimetype: c.media.mimetype, filename: c.media.filename ?? undefined, size: Buffer.from(c.media.data, 'base64').length };
  } else if (c.kind === 'location') {
    msg.type = MessageTypes.LOCATION;
    msg.body = '';
    msg.hasMedia = false;
    msg.location = c.location;
  } else {
    msg.type = MessageTypes.CONTACT_CARD;
    msg.body = c.vcard;
    msg.hasMedia = false;
    msg.vCards = [c.vcard];
  }
  return msg;
}

/**
 * `msg` with `hasMedia` and `downloadMedia()` (as `Client.getMessageById(id)` returns it): the file `file()` gives,
 * undefined once WhatsApp no longer has it.
 */
export function withDownload<M extends MessageFixture>(msg: M, file: () => MessageMedia | undefined): M & WebjsMediaMessage {
  const m = msg as M & WebjsMediaMessage;
  m.hasMedia ??= false;
  m.downloadMedia = async () => file();
  return m;
}
