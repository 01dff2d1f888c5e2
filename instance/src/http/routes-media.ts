/**
 * The media routes of the public API: sends of media files (upload or URL), locations and contact cards — all queued
 * by the send queue like texts (202, `Idempotency-Key`, `?wait=true`) — and `GET /v1/messages/:id/media`, the bytes
 * of a message's file. A file is checked (`services/media/validate.ts`) and stored in GridFS before its record is
 * queued, so a queued media send survives a kill -9 like a text; a refused request leaves nothing stored.
 */
import type { Request, Response } from 'express';
import type multer from 'multer';
import { defineRoute, type RouteDef } from '@wacloud/kit';
import { buildVcard, isMediaType } from '../engines/engine-media.js';
import { AppError } from '../errors.js';
import { MAX_MEDIA_BYTES, MEDIA_LIMITS } from '../services/media/limits.js';
import type { MediaService } from '../services/media/media-service.js';
import type { ReceivedMedia } from '../services/media/received.js';
import { tooLarge } from '../services/media/validate.js';
import type { MessagingService, SendText } from '../services/messaging.js';
import type { TokenInfo } from '../services/tokens.js';
import type { StoredMediaRef } from '../storage/media.js';
import { idempotencyKeyOf } from './routes-public.js';
import * as s from './schemas.js';
import * as m from './schemas-media.js';

export interface MediaDeps {
  messaging: MessagingService;
  media: MediaService;
  received: ReceivedMedia;
  /** `?wait=true`: longest wait for sent or failed, ms (default 30 s). */
  sendWaitMs?: number | undefined;
}

const err = (description: string) => ({ description, schema: s.errorResponse });
const authErrors = { 401: err('Missing or invalid token'), 403: err('The token lacks the needed permission') };
const sendResponses = {
  202: { description: 'Queued (or, for a repeated Idempotency-Key, the first message as it is now)', schema: s.outgoingMessageView },
  201: { description: '`?wait=true`: sent', schema: s.outgoingMessageView },
  400: err('Invalid body, form or Idempotency-Key (invalid_request, invalid_json)'),
  404: err('`?wait=true`: chat not found'),
  409: err('Session not logged in (session_not_ready)'),
  422: err('Idempotency-Key used for another message; `?wait=true`: number not on WhatsApp'),
  502: err('`?wait=true`: WhatsApp refused or failed the message'),
  ...authErrors,
};

/**
 * Keeps an uploaded file in memory, up to WhatsApp's limit for the form's `type` when that field came before the file
 * (as forms are usually sent; else up to {@link MAX_MEDIA_BYTES}): a larger file is refused as soon as it passes the
 * limit, not after all of it was read.
 */
const boundedMemory: multer.StorageEngine = {
  _handleFile(req, file, cb) {
    const type = (req.body as { type?: unknown } | undefined)?.type;
    const max = typeof type === 'string' && isMediaType(type) ? MEDIA_LIMITS[type].maxBytes : MAX_MEDIA_BYTES;
    const parts: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | null, info?: Partial<Express.Multer.File>) => {
      if (done) return;
      done = true;
      cb(err, info);
    };
    file.stream.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > max) {
        file.stream.resume(); // drain the rest; the answer is 413 either way
        return finish(tooLarge(typeof type === 'string' ? type : 'media', undefined, max));
      }
      parts.push(chunk);
    });
    file.stream.once('end', () => finish(null, { buffer: Buffer.concat(parts), size }));
    file.stream.once('error', (err: Error) => finish(err));
  },
  _removeFile(_req, file, cb) {
    (file as { buffer?: Buffer }).buffer = undefined;
    cb(null);
  },
};

/**
 * The multipart parser: at most one file (part `file`, bounded by {@link boundedMemory}), a few text fields. multer is
 * loaded at the first upload (not at start: instance/README.md, "Memory").
 */
let multipart: Promise<{ upload: ReturnType<ReturnType<typeof multer>['single']>; MulterError: typeof multer.MulterError }> | undefined;
const uploadParser = () =>
  (multipart ??= import('multer').then(({ default: load }) => ({
    upload: load({
      storage: boundedMemory,
      limits: { fileSize: MAX_MEDIA_BYTES, files: 1, fields: 8, fieldSize: 8 * 1024, parts: 10 },
    }).single('file'),
    MulterError: load.MulterError,
  })));

const route = defineRoute<TokenInfo | undefined>();

export function mediaRoutes({ messaging, media, received, sendWaitMs }: MediaDeps): RouteDef[] {
  const waitMs = sendWaitMs ?? 30_000;

  /**
   * Queues what `build` prepares (storing a file first when it has one) and answers like `POST /v1/messages`. A file
   * stored for a request that is refused, or that repeats an Idempotency-Key, is removed again.
   */
  const queue = async (req: Request, res: Response, token: TokenInfo, wait: boolean, build: () => Promise<SendText>) => {
    const idempotencyKey = idempotencyKeyOf(req.header('idempotency-key'));
    messaging.assertCanSend();
    const request = await build();
    const stored: StoredMediaRef | undefined = request.media;
    try {
      const { view, created } = await messaging.send(
        request,
        { tokenId: token.id, tokenName: token.name },
        { idempotencyKey, waitMs: wait ? waitMs : 0 },
      );
      if (!created && stored) await media.discard(stored);
      res.status(wait && view.status === 'sent' ? 201 : 202).json(view);
    } catch (e) {
      // Refused before a record referenced the file (else the record keeps it).
      const before = !(e instanceof AppError) || e.code === 'session_not_ready' || e.code === 'idempotency_key_reused';
      if (stored && before) await media.discard(stored);
      throw e;
    }
  };

  return [
    route({
      method: 'post',
      path: '/v1/messages/media',
      operationId: 'sendMedia',
      tags: ['messages'],
      scope: 'w',
      summary: 'Queue a media message (image, video, audio, voice note, document, sticker): an upload or a URL',
      description:
        'multipart/form-data with the file in the part `file` and the fields `to`, `type`, `caption`, `filename`, ' +
        '`quotedMessageId`; or JSON with a `url` the instance fetches (public http(s) addresses only, bounded in size and ' +
        'time, at most 3 redirects). The file is checked by its bytes and stored in the instance database (GridFS) before ' +
        'the message is queued; then it goes like POST /v1/messages (202, Idempotency-Key, ?wait=true). ' +
        `WhatsApp's limits: ${m.mediaType.description ?? ''}`,
      query: s.sendMessageQuery,
      body: m.sendMediaUrlBody,
      multipart: { schema: m.sendMediaForm },
      responses: {
        ...sendResponses,
        400: err('Invalid body or form, no file part (media_missing), an empty file (media_empty), a bad Idempotency-Key'),
        413: err('The file is larger than WhatsApp takes for this type (media_too_large; details maxBytes)'),
        415: err('WhatsApp does not take this kind of file for this type (media_type_unsupported), or a body neither JSON nor multipart'),
        422: err(
          'Declared MIME type ≠ the bytes (media_type_mismatch), damaged file (media_corrupt), URL refused (media_url_refused) or not answering (media_url_unreachable), Idempotency-Key reused',
        ),
        507: err("The instance's media quota is used up (media_quota_exceeded)"),
      },
      handler: ({ req, res, query, body, auth }) =>
        queue(req, res, auth!, Boolean(query.wait), async () => {
          if (body) {
            const ref = await media.ingestUrl(body.type, body.url, body.mimetype, body.filename);
            return { to: body.to, type: body.type, text: body.caption, quotedMessageId: body.quotedMessageId, media: ref };
          }
          const file = await parseUpload(req, res);
          const fields = parseFields(req.body);
          const ref = await media.ingest({
            type: fields.type,
            data: file.buffer,
            declared: file.mimetype,
            filename: fields.filename ?? file.originalname,
          });
          return { to: fields.to, type: fields.type, text: fields.caption, quotedMessageId: fields.quotedMessageId, media: ref };
        }),
    }),
    route({
      method: 'post',
      path: '/v1/messages/location',
      operationId: 'sendLocation',
      tags: ['messages'],
      scope: 'w',
      summary: 'Queue a location message (coordinates, optional name, address and URL)',
      description: 'Goes like POST /v1/messages: 202 with the queued message, Idempotency-Key, ?wait=true.',
      query: s.sendMessageQuery,
      body: m.sendLocationBody,
      responses: sendResponses,
      handler: ({ req, res, query, body, auth }) =>
        queue(req, res, auth!, Boolean(query.wait), async () => {
          const { to, quotedMessageId, ...location } = body;
          return { to, type: 'location', location, quotedMessageId };
        }),
    }),
    route({
      method: 'post',
      path: '/v1/messages/contact',
      operationId: 'sendContact',
      tags: ['messages'],
      scope: 'w',
      summary: 'Queue a contact card: a name and phone (a vCard is built), or a vCard',
      description: 'Goes like POST /v1/messages: 202 with the queued message, Idempotency-Key, ?wait=true.',
      query: s.sendMessageQuery,
      body: m.sendContactBody,
      responses: sendResponses,
      handler: ({ req, res, query, body, auth }) =>
        queue(req, res, auth!, Boolean(query.wait), async () => {
          const vcard = body.vcard ?? buildVcard(body.contact!.name, body.contact!.phone);
          return { to: body.to, type: 'vcard', vcard, quotedMessageId: body.quotedMessageId };
        }),
    }),
    route({
      method: 'get',
      path: '/v1/messages/:id/media',
      operationId: 'getMessageMedia',
      tags: ['messages'],
      scope: 'r',
      summary: "The bytes of a message's media file (a stored message's WhatsApp id, or a queued one's out_… id)",
      description:
        'Streams the file with its Content-Type and Content-Length, as an attachment. A received file not stored yet is ' +
        'downloaded from WhatsApp first (while the session is WORKING).',
      params: s.messageIdParams,
      responses: {
        200: { description: 'The file', contentType: 'application/octet-stream' },
        404: err('No such message (message_not_found), or no media stored for it (media_not_found)'),
        ...authErrors,
      },
      handler: async ({ params, res }) => {
        const file = await received.open(params.id);
        res.status(200).set({
          'content-type': file.mimetype,
          'content-length': String(file.length),
          'content-disposition': contentDisposition(file.filename),
          'x-content-type-options': 'nosniff',
          'content-security-policy': "sandbox; default-src 'none'",
          'cache-control': 'private, max-age=3600',
        });
        await new Promise<void>((resolve, reject) => {
          file.stream.once('error', reject).once('end', resolve);
          res.once('close', resolve);
          file.stream.pipe(res);
        }).catch((e: unknown) => {
          // Headers are out: the connection is cut so the client sees a short body, never a silent truncation.
          res.destroy(e instanceof Error ? e : undefined);
        });
      },
    }),
  ];
}

/** Runs multer on `req`. @throws AppError `media_too_large` (413), `media_missing` / `invalid_request` (400). */
async function parseUpload(req: Request, res: Response): Promise<Express.Multer.File> {
  const { upload, MulterError } = await uploadParser();
  await new Promise<void>((resolve, reject) => upload(req, res, (e: unknown) => (e ? reject(e) : resolve()))).catch((e: unknown) => {
    if (e instanceof MulterError) {
      if (e.code === 'LIMIT_FILE_SIZE') throw tooLarge('media', undefined, MAX_MEDIA_BYTES);
      throw new AppError('invalid_request', `Invalid multipart form: ${e.message}${e.field ? ` (${e.field})` : ''}.`);
    }
    if (e instanceof AppError) throw e;
    throw new AppError('invalid_request', `Invalid multipart form: ${(e as Error).message}.`);
  });
  if (!req.file) throw new AppError('media_missing');
  return req.file;
}

/** The form's text fields. @throws AppError `invalid_request` (400) naming the first problem. */
function parseFields(fields: unknown): ReturnType<typeof m.sendMediaFormFields.parse> {
  const r = m.sendMediaFormFields.safeParse({ ...(fields as object) });
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => ({ in: 'body', field: i.path.join('.') || undefined, problem: i.message }));
  throw new AppError(
    'invalid_request',
    `Invalid form field${problems[0]!.field ? ` "${problems[0]!.field}"` : ''}: ${problems[0]!.problem}`,
    problems,
  );
}

/** `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266), or plain `attachment`. */
function contentDisposition(filename: string | undefined): string {
  if (!filename) return 'attachment';
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}
