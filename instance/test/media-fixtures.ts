/**
 * Small real files for the media tests, each recognisable by its magic bytes the way `file-type` sniffs them: a 1×1
 * PNG, JPEGs (SOI … EOI), a WebP sticker, an Ogg Opus voice note, an MP4 video, a PDF, a GIF (which WhatsApp does
 * not take as an image), and helpers for large and damaged files.
 */
import { createHash, randomBytes } from 'node:crypto';

/** A valid 1×1 PNG (signature, IHDR, IDAT, IEND). */
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

/** A JPEG of `size` bytes: SOI + JFIF APP0 header, filler, EOI. */
export function jpeg(size = 2048): Buffer {
  const head = Buffer.from([
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
  ]);
  const body = randomBytes(Math.max(0, size - head.length - 2));
  // No marker (0xFF) inside the filler, so the only EOI is the last two bytes.
  for (let i = 0; i < body.length; i++) if (body[i] === 0xff) body[i] = 0xfe;
  return Buffer.concat([head, body, Buffer.from([0xff, 0xd9])]);
}

/** A static WebP (RIFF … WEBP VP8 ). */
export function webp(size = 1024): Buffer {
  const data = Buffer.alloc(size);
  data.write('RIFF', 0, 'latin1');
  data.writeUInt32LE(size - 8, 4);
  data.write('WEBPVP8 ', 8, 'latin1');
  data.writeUInt32LE(size - 20, 16);
  return data;
}

/** The first page of an Ogg Opus stream (OggS … OpusHead): a voice note as WhatsApp records it. */
export function oggOpus(size = 4096): Buffer {
  const data = Buffer.alloc(size);
  data.write('OggS', 0, 'latin1');
  data[5] = 0x02; // beginning of stream
  data[26] = 1; // one segment
  data[27] = 19;
  data.write('OpusHead', 28, 'latin1');
  data[36] = 1; // version
  data[37] = 1; // channels
  return data;
}

/** An MP4 (ftyp isom) of `size` bytes. */
export function mp4(size = 4096): Buffer {
  const data = Buffer.alloc(size);
  data.writeUInt32BE(0x18, 0);
  data.write('ftypisom', 4, 'latin1');
  data.writeUInt32BE(0x200, 12);
  data.write('isomiso2', 16, 'latin1');
  return data;
}

/** A minimal PDF. */
export const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n', 'latin1');

/** A GIF header (WhatsApp takes no GIF as an image). */
export const GIF = Buffer.concat([Buffer.from('GIF89a', 'latin1'), Buffer.alloc(64)]);

/** SHA-256 hex of `data`. */
export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
