/**
 * Media of received messages (and of messages sent from the phone): when the engine reports a message with `media`,
 * its bytes are downloaded (`Engine.downloadMedia`: whatsapp-web.js `Message.downloadMedia()`, simnet's media server)
 * and stored in GridFS under the message's id, a little later and in the background (the message itself is recorded
 * at once; its `media.status` says `pending`, then `stored`, `unavailable` — WhatsApp no longer has it —,
 * `quota_exceeded` or `failed`). Messages still `pending` (the process stopped first, the gap fill or the journal
 * replay recorded them, a download failed for a while) are picked up when the session is WORKING again and every few
 * minutes while it is. `GET /v1/messages/:id/media` of a message whose file is not stored yet downloads it on demand.
 */
import type { Logger } from 'pino';
import { isMediaType } from '../../engines/engine-media.js';
import { EngineError, EngineNotReadyError, type Engine, type EngineMessage } from '../../engines/engine.js';
import { AppError } from '../../errors.js';
import type { OpenedMedia, StoredMediaRef } from '../../storage/media.js';
import { findOutgoing, OUTGOING_ID } from '../../storage/outgoing.js';
import { findMessageById } from '../../storage/queries.js';
import type { Store } from '../../storage/store.js';
import type { MediaService } from './media-service.js';

export interface ReceivedMediaOptions {
  engine: Engine;
  store: Store;
  media: MediaService;
  logger: Logger;
  /** Download received media in the background (MEDIA_DOWNLOAD); off: only on demand. */
  enabled: boolean;
  /** Wait before a background download, ms (lets the message record and, for own sends, the file link land first). */
  delayMs?: number;
}

/** Messages with media still `pending` looked at per WORKING session start. */
const RESUME_BATCH = 500;
/** How often pending media are looked for while WORKING, ms. */
const SWEEP_MS = 5 * 60_000;
/** Downloads waiting at most; more are left `pending` for the next start. */
const QUEUE_MAX = 1_000;

type MediaMessage = Pick<EngineMessage, 'id' | 'chatId' | 'type' | 'media'>;

export class ReceivedMedia {
  readonly #queue: MediaMessage[] = [];
  readonly #queued = new Set<string>();
  #running: Promise<void> | undefined;
  #closed = false;
  #sweep: NodeJS.Timeout | undefined;

  constructor(private readonly o: ReceivedMediaOptions) {}

  /**
   * Listens to the engine: new media messages, and WORKING (resume what is pending); while WORKING, looks for pending
   * ones every {@link SWEEP_MS} too (messages recorded by the gap fill or the journal replay, transient failures).
   */
  start(): void {
    if (!this.o.enabled) return;
    this.o.engine.on('message', (m) => {
      if (m.media && isMediaType(m.type)) this.#schedule(m);
    });
    this.o.engine.on('state', (state) => {
      if (state === 'WORKING') void this.#resume();
    });
    this.#sweep = setInterval(() => {
      if (this.o.engine.state() === 'WORKING' && this.#queue.length === 0) void this.#resume();
    }, SWEEP_MS);
    this.#sweep.unref();
  }

  /** Stops taking downloads and waits for the one in flight. */
  async close(): Promise<void> {
    clearInterval(this.#sweep);
    this.#closed = true;
    this.#queue.length = 0;
    await this.#running;
  }

  /**
   * The media of message `id` (a WhatsApp id, or a send queue `out_…` id) opened for streaming; downloaded now when
   * the message has media that is not stored yet.
   * @throws AppError `message_not_found`, `media_not_found` (no media, or it cannot be had now).
   */
  async open(id: string): Promise<OpenedMedia> {
    let ref: StoredMediaRef | undefined;
    if (OUTGOING_ID.test(id)) {
      const out = await findOutgoing(this.o.store, id);
      if (!out) throw new AppError('message_not_found');
      ref = out.media;
    } else {
      ref = await this.o.media.ofMessage(id);
      if (!ref) {
        const doc = await findMessageById(this.o.store, id);
        if (!doc) throw new AppError('message_not_found');
        if (!doc.media || !isMediaType(doc.type)) throw new AppError('media_not_found', 'This message carries no media file.');
        // A file sent through the API is named in the record while the file's own link to the message may still be on
        // its way (services/outgoing/sender.ts writes both at once).
        const stored = doc.media.status === 'stored' && doc.media.fileId ? await this.o.media.open(doc.media.fileId) : undefined;
        if (stored) return stored;
        ref = await this.fetch({ id, chatId: doc.chatId, type: doc.type, media: doc.media }).catch((err: Error) => {
          throw new AppError('media_not_found', `The media is not stored and could not be downloaded now: ${err.message}`);
        });
      }
    }
    const opened = ref && (await this.o.media.open(ref.fileId));
    if (!opened) throw new AppError('media_not_found');
    return opened;
  }

  /**
   * Downloads and stores message `m`'s media unless stored already; sets the message record's `media.status`.
   * @throws EngineError / AppError of the download or the store.
   */
  async fetch(m: MediaMessage): Promise<StoredMediaRef> {
    const existing = await this.o.media.ofMessage(m.id);
    if (existing) return existing;
    let status = 'failed';
    try {
      const file = await this.o.engine.downloadMedia(m);
      const type = isMediaType(m.type) ? m.type : 'document';
      const ref = await this.o.media.store(file.data, {
        type,
        mimetype: file.mimetype,
        filename: file.filename,
        direction: 'in',
        messageId: m.id,
      });
      await this.#setStatus(m.id, 'stored', ref);
      return ref;
    } catch (err) {
      if (err instanceof AppError && err.code === 'media_quota_exceeded') status = 'quota_exceeded';
      else if (err instanceof EngineError && err.code === 'media_not_found') status = 'unavailable';
      // Not WORKING: tried again later. Other failures stay `failed` (a GET of the media tries once more).
      else if (err instanceof EngineNotReadyError) status = 'pending';
      await this.#setStatus(m.id, status).catch(() => undefined);
      throw err;
    }
  }

  #schedule(m: MediaMessage): void {
    if (this.#closed || this.#queued.has(m.id) || this.#queue.length >= QUEUE_MAX) return;
    this.#queued.add(m.id);
    this.#queue.push({ id: m.id, chatId: m.chatId, type: m.type, media: m.media });
    this.#running ??= this.#drain().finally(() => (this.#running = undefined));
  }

  async #drain(): Promise<void> {
    await new Promise((r) => setTimeout(r, this.o.delayMs ?? 1_000));
    for (let m = this.#queue.shift(); m && !this.#closed; m = this.#queue.shift()) {
      try {
        await this.fetch(m);
      } catch (err) {
        this.o.logger.warn({ err, id: m.id }, 'could not store the media of a message');
      } finally {
        this.#queued.delete(m.id);
      }
    }
  }

  async #resume(): Promise<void> {
    try {
      const pending = await this.o.store.col.messages.find({ 'media.status': 'pending' }).limit(RESUME_BATCH).toArray();
      for (const d of pending) if (d.media) this.#schedule({ id: d._id, chatId: d.chatId, type: d.type, media: d.media });
    } catch (err) {
      this.o.logger.warn({ err }, 'could not look for messages whose media is pending');
    }
  }

  /** Sets a message record's `media.status` (a failure never overwrites `stored`). */
  async #setStatus(id: string, status: string, ref?: StoredMediaRef): Promise<void> {
    await this.o.store.col.messages.updateOne(ref ? { _id: id } : { _id: id, 'media.status': { $ne: 'stored' } }, {
      $set: { 'media.status': status, ...(ref ? { 'media.fileId': ref.fileId, 'media.size': ref.size } : {}) },
    });
  }
}
