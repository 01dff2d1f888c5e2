/**
 * The media checks before anything is stored (`services/media/validate.ts`): sniffed by magic bytes with file-type,
 * WhatsApp's types and sizes per message type, declared vs. real MIME types, damaged files.
 */
import { AppError } from '../src/errors.js';
import { MEDIA_LIMITS } from '../src/services/media/limits.js';
import { checkMedia } from '../src/services/media/validate.js';
import { GIF, jpeg, mp4, oggOpus, PDF, PNG, webp } from './media-fixtures.js';

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof AppError) return `${err.status} ${err.code}`;
    throw err;
  }
};

test('files WhatsApp takes pass, with the MIME type sniffed from the bytes', async () => {
  expect(await checkMedia('image', PNG, 'image/png')).toEqual({ mimetype: 'image/png', ext: 'png' });
  expect(await checkMedia('image', jpeg(), 'image/jpg')).toMatchObject({ mimetype: 'image/jpeg' });
  expect(await checkMedia('image', jpeg(), 'application/octet-stream')).toMatchObject({ mimetype: 'image/jpeg' });
  expect(await checkMedia('video', mp4())).toMatchObject({ mimetype: 'video/mp4' });
  expect(await checkMedia('ptt', oggOpus(), 'audio/ogg; codecs=opus')).toMatchObject({
    mimetype: expect.stringMatching(/^audio\/(ogg|opus)$/),
  });
  expect(await checkMedia('sticker', webp())).toMatchObject({ mimetype: 'image/webp' });
  expect(await checkMedia('document', PDF, 'application/pdf')).toMatchObject({ mimetype: 'application/pdf' });
  // A document file-type cannot recognise (plain text) keeps its declared type.
  expect(await checkMedia('document', Buffer.from('a,b\n1,2\n'), 'text/csv')).toEqual({ mimetype: 'text/csv', ext: undefined });
});

test('refusals have stable codes: empty, oversize, unsupported type, declared ≠ real, damaged', async () => {
  expect(await codeOf(checkMedia('image', Buffer.alloc(0)))).toBe('400 media_empty');
  expect(await codeOf(checkMedia('image', jpeg(MEDIA_LIMITS.image.maxBytes + 1)))).toBe('413 media_too_large');
  expect(await codeOf(checkMedia('sticker', webp(150 * 1024)))).toBe('413 media_too_large');
  expect(await codeOf(checkMedia('image', GIF, 'image/gif'))).toBe('415 media_type_unsupported');
  expect(await codeOf(checkMedia('image', PNG, 'image/jpeg'))).toBe('422 media_type_mismatch');
  expect(await codeOf(checkMedia('document', PNG, 'application/pdf'))).toBe('422 media_type_mismatch');
  expect(await codeOf(checkMedia('image', Buffer.from('not an image at all, just text'), 'image/png'))).toBe('422 media_corrupt');
  // A JPEG cut short (no EOI marker) and a PNG without its IEND chunk.
  const cut = jpeg(4096).subarray(0, 3000);
  expect(await codeOf(checkMedia('image', cut, 'image/jpeg'))).toBe('422 media_corrupt');
  expect(await codeOf(checkMedia('image', PNG.subarray(0, PNG.length - 12), 'image/png'))).toBe('422 media_corrupt');
});
