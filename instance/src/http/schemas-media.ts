/** zod schemas of the media routes (`routes-media.ts`): sends of files, locations and contact cards, and their views. */
import { z } from 'zod';
import { MEDIA_TYPES } from '../engines/engine-media.js';
import { describeLimits } from '../services/media/limits.js';
import { chatId, phone } from './schemas.js';

/** WhatsApp's longest media caption, characters. */
export const MAX_CAPTION_CHARS = 1024;

const to = z.union([chatId, phone]).meta({ description: 'Chat id (…@c.us, …@g.us) or a phone number in international digits' });
const quotedMessageId = z.string().min(1).max(256).optional().meta({ description: 'Id of a message to reply to' });
export const mediaType = z.enum(MEDIA_TYPES).meta({
  description:
    'image, video, audio, ptt (a voice note), document or sticker. The file is checked by its bytes (magic numbers), ' +
    `never by its name or declared type. WhatsApp's limits: ${describeLimits()}.`,
});
const caption = z
  .string()
  .max(MAX_CAPTION_CHARS, `must be at most ${MAX_CAPTION_CHARS} characters`)
  .optional()
  .meta({ description: 'Text under an image, video or document (not for audio, ptt or sticker)' });
const filename = z
  .string()
  .min(1)
  .max(255)
  // eslint-disable-next-line no-control-regex -- NUL is what the rule refuses (`\x00`, not `\0`: the fuzzer's regex dialect)
  .regex(/^[^/\\\x00]+$/, 'must be a file name without slashes or NUL')
  .optional()
  .meta({ description: 'File name shown with a document' });

/** No caption on audio, voice notes and stickers (WhatsApp shows none). */
const captionAllowed = (v: { type: string; caption?: string | undefined }) => !v.caption || ['image', 'video', 'document'].includes(v.type);
const captionRule = { message: 'only image, video and document messages take a caption', path: ['caption'] };
/** {@link captionAllowed} as the documents state it (JSON Schema): a caption-taking type, or no caption. */
const captionDoc = {
  anyOf: [{ properties: { type: { enum: ['image', 'video', 'document'] } } }, { not: { required: ['caption'] } }],
};

/** `POST /v1/messages/media` as JSON: the file is fetched from `url`. */
export const sendMediaUrlBody = z
  .object({
    to,
    type: mediaType,
    url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .meta({ description: 'Public http(s) URL of the file; fetched once, with a size cap and a timeout, never from private addresses' }),
    mimetype: z.string().min(3).max(255).optional().meta({ description: "The file's MIME type; default the URL answer's Content-Type" }),
    caption,
    filename,
    quotedMessageId,
  })
  .strict()
  .refine(captionAllowed, captionRule)
  .meta(captionDoc);

/** The text fields of `POST /v1/messages/media` as multipart/form-data (the file is the part `file`). */
export const sendMediaFormFields = z
  .object({ to, type: mediaType, caption, filename, quotedMessageId })
  .strict()
  .refine(captionAllowed, captionRule)
  .meta(captionDoc);

/** The multipart form as documented (the fields and the file part). */
export const sendMediaForm = z
  .object({
    to,
    type: mediaType,
    caption,
    filename,
    quotedMessageId,
    file: z.string().meta({
      format: 'binary',
      description: "The file (one part named `file`); its Content-Type is checked against the file's bytes",
    }),
    // No `captionDoc` on the form: Schemathesis 4.32 cannot evaluate a conditional next to a binary part (it crashes);
    // the caption's description states the rule.
  })
  .strict();

export const sendLocationBody = z
  .object({
    to,
    latitude: z.number().min(-90).max(90).meta({ description: 'Degrees, WGS 84' }),
    longitude: z.number().min(-180).max(180).meta({ description: 'Degrees, WGS 84' }),
    name: z.string().min(1).max(256).optional().meta({ description: 'Name of the place' }),
    address: z.string().min(1).max(1024).optional(),
    url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional()
      .meta({ description: "The place's web page" }),
    quotedMessageId,
  })
  .strict();

export const sendContactBody = z
  .object({
    to,
    contact: z
      .object({ name: z.string().trim().min(1).max(256), phone })
      .strict()
      .optional()
      .meta({ description: 'A person to share: a vCard is built from the name and phone (linked to their WhatsApp)' }),
    vcard: z
      .string()
      .max(65_536)
      .regex(/^BEGIN:VCARD\r?\n[\s\S]*END:VCARD\s*$/, 'must be a vCard (BEGIN:VCARD … END:VCARD)')
      .optional()
      .meta({ description: 'A vCard 3.0 text instead of `contact`' }),
    quotedMessageId,
  })
  .strict()
  .refine((v) => (v.contact === undefined) !== (v.vcard === undefined), {
    message: 'give either "contact" or "vcard"',
    path: ['contact'],
  })
  .meta({ oneOf: [{ required: ['contact'] }, { required: ['vcard'] }] });
