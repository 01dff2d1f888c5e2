/**
 * What WhatsApp takes per message type, as Meta documents it for the WhatsApp Business Platform ("Supported media
 * types"): the MIME types and the largest file, bytes. WhatsApp's own apps allow larger documents (up to 2 GB), but
 * whatsapp-web.js passes files through the browser as base64, so the instance keeps to the documented platform limits.
 *
 * | type       | MIME types                                                     | largest   |
 * | ---------- | -------------------------------------------------------------- | --------- |
 * | `image`    | image/jpeg, image/png                                          | 5 MB      |
 * | `video`    | video/mp4, video/3gpp                                          | 16 MB     |
 * | `audio`    | audio/aac, audio/mp4, audio/mpeg, audio/amr, audio/ogg (opus)  | 16 MB     |
 * | `ptt`      | (voice note) audio/ogg (opus), audio/mpeg, audio/mp4, audio/aac, audio/amr | 16 MB |
 * | `document` | any                                                            | 100 MB    |
 * | `sticker`  | image/webp                                                     | 100 KB static, 500 KB animated |
 *
 * (MB = 1,048,576 bytes.)
 */
import type { MediaType } from '../../engines/engine-media.js';

const MB = 1024 * 1024;

export interface MediaLimit {
  /** Accepted MIME types (as sniffed from the bytes); undefined: any. */
  mimetypes?: readonly string[];
  maxBytes: number;
}

const AUDIO = ['audio/aac', 'audio/mp4', 'audio/x-m4a', 'audio/mpeg', 'audio/amr', 'audio/ogg', 'audio/opus'] as const;

export const MEDIA_LIMITS: Record<MediaType, MediaLimit> = {
  image: { mimetypes: ['image/jpeg', 'image/png'], maxBytes: 5 * MB },
  video: { mimetypes: ['video/mp4', 'video/3gpp'], maxBytes: 16 * MB },
  audio: { mimetypes: AUDIO, maxBytes: 16 * MB },
  ptt: { mimetypes: AUDIO, maxBytes: 16 * MB },
  document: { maxBytes: 100 * MB },
  // Animated stickers may be up to 500 KB: the larger bound here, the static one checked after sniffing.
  sticker: { mimetypes: ['image/webp'], maxBytes: 500 * 1024 },
};

/** A static (not animated) sticker's largest size, bytes. */
export const STATIC_STICKER_MAX_BYTES = 100 * 1024;

/** The largest file any type takes, bytes (the upload parser's bound). */
export const MAX_MEDIA_BYTES = Math.max(...Object.values(MEDIA_LIMITS).map((l) => l.maxBytes));

/** One line per type for the API documentation. */
export function describeLimits(): string {
  return Object.entries(MEDIA_LIMITS)
    .map(([t, l]) => {
      const max =
        t === 'sticker' ? `${formatBytes(STATIC_STICKER_MAX_BYTES)} (animated ${formatBytes(l.maxBytes)})` : formatBytes(l.maxBytes);
      return `${t}: ${l.mimetypes ? l.mimetypes.join(', ') : 'any type'}, at most ${max}`;
    })
    .join('; ');
}

function formatBytes(n: number): string {
  return n >= MB ? `${n / MB} MB` : `${n / 1024} KB`;
}
