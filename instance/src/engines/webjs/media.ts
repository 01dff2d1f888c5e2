/**
 * Media of the webjs engine through whatsapp-web.js: files are sent as `MessageMedia` (base64) with the send options
 * that make a voice note (`sendAudioAsVoice`), a document (`sendMediaAsDocument`) or a sticker
 * (`sendMediaAsSticker`); a location as `Location`; a contact card as a vCard string (`parseVCards`). A received
 * message's media is fetched with `Client.getMessageById(id)` and `Message.downloadMedia()` (whatsapp-web.js
 * downloads and decrypts it in the page). The message fields media adds are read from `Message.location`,
 * `Message.vCards` and `Message.rawData` (mimetype, filename, size: what WhatsApp Web knows before the download).
 */
import wwebjs from 'whatsapp-web.js';
import type { MessageSendOptions } from 'whatsapp-web.js';
import { isMediaType, type DownloadedMedia, type EngineLocation, type EngineMessageContent, type OutgoingMedia } from '../engine-media.js';
import { EngineError, toChatId, type EngineMessage, type SendTextOptions } from '../engine.js';
import type { WebjsClient, WebjsMessage } from './client.js';
import { errorMessage } from './mapping.js';

const { MessageMedia, Location } = wwebjs;

/** The part of whatsapp-web.js' `Client` media needs (the engine passes its `Client`; tests a stand-in). */
export type MediaClient = Pick<WebjsClient, 'getNumberId' | 'getChatById' | 'sendMessage' | 'getMessageById'>;

/** The fields of a `Message` the media mapping reads. */
export type MediaFields = Pick<WebjsMessage, 'hasMedia' | 'location' | 'vCards' | 'rawData' | 'type' | 'body'>;

/**
 * The serialized id to send to for chat `to`.
 * @throws EngineError `number_not_on_whatsapp` (a user without WhatsApp), `chat_not_found` (an unknown group).
 */
export async function sendTarget(client: MediaClient, to: string): Promise<string> {
  const chatId = toChatId(to);
  if (chatId.endsWith('@c.us')) {
    const numberId = await client.getNumberId(chatId);
    if (!numberId) throw new EngineError('number_not_on_whatsapp', `${chatId} is not on WhatsApp`);
    return numberId._serialized;
  }
  const chat = await client.getChatById(chatId).catch(() => undefined);
  if (!chat) throw new EngineError('chat_not_found', `chat ${chatId} does not exist`);
  return chatId;
}

/** Sends `media` to `to` as a `MessageMedia`; resolves with whatsapp-web.js' message. See {@link EngineMedia.sendMedia}. */
export async function sendMediaMessage(
  client: MediaClient,
  to: string,
  media: OutgoingMedia,
  o: SendTextOptions = {},
): Promise<WebjsMessage> {
  if (media.data.length === 0) throw new EngineError('invalid_message', 'the media file is empty');
  const target = await sendTarget(client, to);
  const file = new MessageMedia(media.mimetype, media.data.toString('base64'), media.filename ?? null, media.data.length);
  const options: MessageSendOptions = {
    ...(media.caption ? { caption: media.caption } : {}),
    ...(media.type === 'ptt' ? { sendAudioAsVoice: true } : {}),
    ...(media.type === 'document' ? { sendMediaAsDocument: true } : {}),
    ...(media.type === 'sticker' ? { sendMediaAsSticker: true } : {}),
    ...(o.quotedMessageId ? { quotedMessageId: o.quotedMessageId } : {}),
  };
  try {
    return await client.sendMessage(target, file, options);
  } catch (err) {
    throw new EngineError('media_upload_failed', `WhatsApp did not take the file: ${errorMessage(err)}`);
  }
}

/** Sends a `Location`. See {@link EngineMedia.sendLocation}. */
export async function sendLocationMessage(
  client: MediaClient,
  to: string,
  l: EngineLocation,
  o: SendTextOptions = {},
): Promise<WebjsMessage> {
  if (Math.abs(l.latitude) > 90 || Math.abs(l.longitude) > 180) {
    throw new EngineError('invalid_message', 'latitude must be within ±90 and longitude within ±180 degrees');
  }
  const target = await sendTarget(client, to);
  const location = new Location(l.latitude, l.longitude, {
    ...(l.name ? { name: l.name } : {}),
    ...(l.address ? { address: l.address } : {}),
    ...(l.url ? { url: l.url } : {}),
  });
  return client.sendMessage(target, location, o.quotedMessageId ? { quotedMessageId: o.quotedMessageId } : undefined);
}

/** Sends a vCard as a contact card (`parseVCards`). See {@link EngineMedia.sendContactCard}. */
export async function sendContactCardMessage(
  client: MediaClient,
  to: string,
  vcard: string,
  o: SendTextOptions = {},
): Promise<WebjsMessage> {
  if (!/^BEGIN:VCARD/i.test(vcard)) throw new EngineError('invalid_message', 'not a vCard');
  const target = await sendTarget(client, to);
  return client.sendMessage(target, vcard, { parseVCards: true, ...(o.quotedMessageId ? { quotedMessageId: o.quotedMessageId } : {}) });
}

/** The bytes of message `message.id`'s media: `getMessageById` then `downloadMedia()`. See {@link EngineMedia.downloadMedia}. */
export async function downloadMessageMedia(client: MediaClient, message: Pick<EngineMessage, 'id' | 'media'>): Promise<DownloadedMedia> {
  const msg = await client.getMessageById(message.id).catch(() => undefined);
  if (!msg || !msg.hasMedia) throw new EngineError('media_not_found', `message ${message.id} has no media WhatsApp still knows`);
  let media;
  try {
    media = await msg.downloadMedia();
  } catch (err) {
    throw new EngineError('media_download_failed', `the download failed: ${errorMessage(err)}`);
  }
  // whatsapp-web.js resolves undefined when WhatsApp no longer has the file.
  if (!media?.data) throw new EngineError('media_not_found', `the media of ${message.id} is no longer on WhatsApp's servers`);
  return { data: Buffer.from(media.data, 'base64'), mimetype: media.mimetype, filename: media.filename ?? message.media?.filename };
}

/** The media, location or contact card of `msg`, as {@link EngineMessage} carries them. */
export function contentOf(msg: MediaFields): EngineMessageContent {
  const type = String(msg.type);
  if (isMediaType(type)) {
    const raw = (msg.rawData ?? {}) as { mimetype?: unknown; filename?: unknown; size?: unknown };
    return {
      media: {
        mimetype: typeof raw.mimetype === 'string' ? raw.mimetype : 'application/octet-stream',
        filename: typeof raw.filename === 'string' && raw.filename ? raw.filename : undefined,
        size: typeof raw.size === 'number' ? raw.size : undefined,
      },
    };
  }
  if (type === 'location' && msg.location) {
    const l = msg.location;
    return {
      location: {
        latitude: Number(l.latitude),
        longitude: Number(l.longitude),
        name: l.name || undefined,
        address: l.address || undefined,
        url: l.url || undefined,
      },
    };
  }
  if (type === 'vcard') return { vcard: msg.vCards?.[0] ?? msg.body };
  return {};
}
