/**
 * Checks a media file before anything stores it: its type is sniffed from its magic bytes (`file-type`), never taken
 * from the client's word, then held against what WhatsApp takes for the message type ({@link MEDIA_LIMITS}) and
 * against the MIME type the client declared. Images also get a structural check of their ending (a JPEG ends with
 * its EOI marker, a PNG with its IEND chunk), which catches truncated uploads and downloads.
 *
 * Errors (AppError): `media_empty` (400), `media_too_large` (413), `media_type_unsupported` (415: WhatsApp does not
 * take this type for this message type), `media_type_mismatch` (422: the declared MIME type is not what the bytes
 * are), `media_corrupt` (422: the bytes are no file of a type that can be recognised, or a truncated image).
 */
import type * as FileType from 'file-type';
import type { MediaType } from '../../engines/engine-media.js';
import { AppError } from '../../errors.js';
import { MEDIA_LIMITS, STATIC_STICKER_MAX_BYTES } from './limits.js';

/** `file-type`, loaded at the first check (not at start: instance/README.md, "Memory"). */
let fileType: Promise<typeof FileType> | undefined;

/** A file that passed: its MIME type as sniffed (or, for an unrecognisable document, as declared). */
export interface CheckedMedia {
  mimetype: string;
  /** File extension of the sniffed type (e.g. `jpg`), when recognised. */
  ext?: string | undefined;
}

/** `Image/JPEG; charset=x` → `image/jpeg`; aliases WhatsApp and browsers use folded to one name. */
export function normalizeMime(mime: string | undefined): string | undefined {
  const m = mime?.split(';')[0]?.trim().toLowerCase();
  if (!m) return undefined;
  const aliases: Record<string, string> = {
    'image/jpg': 'image/jpeg',
    'image/pjpeg': 'image/jpeg',
    'audio/mp3': 'audio/mpeg',
    'audio/m4a': 'audio/x-m4a',
  };
  return aliases[m] ?? m;
}

/** MIME types treated as "the client did not say" (a generic upload). */
const UNDECLARED = new Set(['application/octet-stream', 'binary/octet-stream', 'application/x-www-form-urlencoded']);

/**
 * Checks `data` as a file for a `type` message; `declared` is the MIME type the client gave (a part's or the URL
 * answer's Content-Type, or the `mimetype` field), if any.
 * @throws AppError as listed in the module comment.
 */
export async function checkMedia(type: MediaType, data: Buffer, declared?: string): Promise<CheckedMedia> {
  const limit = MEDIA_LIMITS[type];
  if (data.length === 0) throw new AppError('media_empty');
  if (data.length > limit.maxBytes) throw tooLarge(type, data.length, limit.maxBytes);
  const { fileTypeFromBuffer, supportedMimeTypes } = await (fileType ??= import('file-type'));
  const sniffed = await fileTypeFromBuffer(data);
  const mime = normalizeMime(sniffed?.mime);
  const said = normalizeMime(declared);
  const saidSomething = said !== undefined && !UNDECLARED.has(said);
  if (!limit.mimetypes) {
    // A document may be anything; but a declared type that file-type knows must be what the bytes are.
    if (saidSomething && supportedMimeTypes.has(said) && mime !== said) {
      throw mime ? mismatch(said, mime) : new AppError('media_corrupt', `The file is declared ${said} but its bytes are not.`);
    }
    return { mimetype: mime ?? (saidSomething ? said : 'application/octet-stream'), ext: sniffed?.ext };
  }
  if (!mime) {
    throw new AppError(
      'media_corrupt',
      `The file is not a recognisable ${type} (${limit.mimetypes.join(', ')}): its bytes match no known format.`,
    );
  }
  if (saidSomething && said !== mime && !sameFamily(said, mime)) throw mismatch(said, mime);
  if (!limit.mimetypes.includes(mime)) {
    throw new AppError('media_type_unsupported', `WhatsApp does not take ${mime} as ${type}; use ${limit.mimetypes.join(', ')}.`, {
      type,
      mimetype: mime,
      accepted: limit.mimetypes,
    });
  }
  if (type === 'sticker' && !isAnimatedWebp(data) && data.length > STATIC_STICKER_MAX_BYTES) {
    throw tooLarge(type, data.length, STATIC_STICKER_MAX_BYTES);
  }
  if (!wellTerminated(mime, data)) throw new AppError('media_corrupt', `The ${mime} file is truncated or damaged.`);
  return { mimetype: mime, ext: sniffed?.ext };
}

/** The 413 error of a file over `maxBytes`. */
export function tooLarge(type: string, size: number | undefined, maxBytes: number): AppError {
  return new AppError('media_too_large', `WhatsApp takes ${type} files of at most ${maxBytes} bytes.`, {
    type,
    maxBytes,
    ...(size === undefined ? {} : { size }),
  });
}

function mismatch(said: string, mime: string): AppError {
  return new AppError('media_type_mismatch', `The file is declared ${said} but its bytes are ${mime}.`, { declared: said, detected: mime });
}

/** MPEG-4 audio may be called audio/mp4, audio/x-m4a or video/mp4 by clients; Ogg Opus audio/ogg or audio/opus. */
function sameFamily(a: string, b: string): boolean {
  const families = [
    ['audio/mp4', 'audio/x-m4a', 'video/mp4'],
    ['audio/ogg', 'audio/opus'],
  ];
  return families.some((f) => f.includes(a) && f.includes(b));
}

/** Whether a WebP carries an animation (`ANIM` chunk after the VP8X header). */
function isAnimatedWebp(data: Buffer): boolean {
  return data.subarray(0, 64).includes('ANIM');
}

/** A JPEG must end with EOI (FF D9, trailing padding allowed), a PNG with its IEND chunk; other types pass. */
function wellTerminated(mime: string, data: Buffer): boolean {
  const tail = data.subarray(Math.max(0, data.length - 64));
  if (mime === 'image/jpeg') return tail.includes(Buffer.from([0xff, 0xd9]));
  if (mime === 'image/png') return tail.includes(Buffer.from('IEND'));
  return true;
}
