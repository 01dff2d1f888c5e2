/**
 * The media part of the {@link Engine} interface: sending images, videos, audio and voice notes, documents, stickers,
 * locations and contact cards, and downloading the media of a message.
 *
 * Kinds follow whatsapp-web.js' message types: `image`, `video`, `audio`, `ptt` (a voice note, sent with
 * `sendAudioAsVoice`), `document` (`sendMediaAsDocument`), `sticker` (`sendMediaAsSticker`), `location`
 * (`Location`) and `vcard` (a contact card: a vCard string sent with `parseVCards`). Size and type limits are the
 * instance's business (`services/media/limits.ts`); engines send what they are given.
 */
import type { EngineMessage, SendTextOptions } from './engine.js';

/** Message types that carry a media file. */
export const MEDIA_TYPES = ['image', 'video', 'audio', 'ptt', 'document', 'sticker'] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];

/** Whether `type` (a WhatsApp message type) carries a media file. */
export function isMediaType(type: string): type is MediaType {
  return (MEDIA_TYPES as readonly string[]).includes(type);
}

/** What a message's media file is, as the engine reports it (the bytes are fetched with {@link EngineMedia.downloadMedia}). */
export interface EngineMediaInfo {
  mimetype: string;
  /** The file name a document carries (others may have none). */
  filename?: string | undefined;
  /** Size in bytes, when WhatsApp says. */
  size?: number | undefined;
  /**
   * The engine's own handle to fetch the bytes later (simnet: its media id; whatsapp-web.js: unused, the message id
   * is enough). Opaque to the instance, stored with the message.
   */
  ref?: string | undefined;
}

/** A shared location (whatsapp-web.js `Location`). Degrees, WGS 84. */
export interface EngineLocation {
  latitude: number;
  longitude: number;
  name?: string | undefined;
  address?: string | undefined;
  url?: string | undefined;
}

/** A media file to send. */
export interface OutgoingMedia {
  type: MediaType;
  data: Buffer;
  mimetype: string;
  filename?: string | undefined;
  /** Text shown under an image, video or document (the message's body). */
  caption?: string | undefined;
}

/** The bytes of a message's media. */
export interface DownloadedMedia {
  data: Buffer;
  mimetype: string;
  filename?: string | undefined;
}

/** The message fields media messages add to {@link EngineMessage}. */
export interface EngineMessageContent {
  /** Media messages (`type` one of {@link MEDIA_TYPES}): what the file is. */
  media?: EngineMediaInfo | undefined;
  /** `type: location`. */
  location?: EngineLocation | undefined;
  /** `type: vcard`: the contact card (also the body, as WhatsApp gives it). */
  vcard?: string | undefined;
}

export interface EngineMedia {
  /**
   * Sends a media file to chat `to` (`…@c.us` / `…@g.us`); the caption is the message's body. Resolves with the
   * message as sent (its `media` filled).
   * @throws EngineNotReadyError unless WORKING; EngineError `chat_not_found`, `number_not_on_whatsapp`,
   *   `invalid_message` (empty file), `media_upload_failed` (WhatsApp's media server refused it).
   */
  sendMedia(to: string, media: OutgoingMedia, options?: SendTextOptions): Promise<EngineMessage>;
  /**
   * Sends a location. @throws EngineNotReadyError unless WORKING; EngineError `chat_not_found`,
   * `number_not_on_whatsapp`, `invalid_message` (coordinates out of range).
   */
  sendLocation(to: string, location: EngineLocation, options?: SendTextOptions): Promise<EngineMessage>;
  /**
   * Sends a contact card (`vcard`: a vCard 3.0 text, `BEGIN:VCARD` … `END:VCARD`).
   * @throws EngineNotReadyError unless WORKING; EngineError `chat_not_found`, `number_not_on_whatsapp`, `invalid_message`.
   */
  sendContactCard(to: string, vcard: string, options?: SendTextOptions): Promise<EngineMessage>;
  /**
   * The bytes of the media of `message` (a message this engine reported, with its `media`).
   * @throws EngineNotReadyError unless WORKING; EngineError `media_not_found` (no media, or WhatsApp no longer has
   *   it), `media_download_failed`.
   */
  downloadMedia(message: Pick<EngineMessage, 'id' | 'chatId' | 'media'>): Promise<DownloadedMedia>;
}

/** A vCard 3.0 for a person's name and phone (international digits), with the `waid` WhatsApp uses to link it. */
export function buildVcard(name: string, phone: string): string {
  const digits = phone.replace(/\D/g, '');
  const esc = (v: string) =>
    v
      .replace(/\\/g, '\\\\')
      .replace(/[,;]/g, (c) => `\\${c}`)
      .replace(/\r?\n/g, '\\n');
  return ['BEGIN:VCARD', 'VERSION:3.0', `FN:${esc(name)}`, `TEL;type=CELL;waid=${digits}:+${digits}`, 'END:VCARD'].join('\n');
}
