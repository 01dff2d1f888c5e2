/**
 * Media files of the instance: checked ({@link checkMedia}), counted against the per-instance quota
 * (`MEDIA_QUOTA_BYTES`, metric `wacloud_media_stored_bytes`) and stored in GridFS (`storage/media.ts`) before any
 * record references them; read back for the send queue and streamed by `GET /v1/messages/:id/media`.
 *
 * Quota: the bytes stored are counted at start (one aggregation) and kept in memory; a file that would pass the quota
 * is refused (`media_quota_exceeded`, 507). Concurrent uploads are reserved before their write, so together they
 * cannot pass it either.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { MediaType } from '../../engines/engine-media.js';
import { AppError } from '../../errors.js';
import {
  deleteMedia,
  findMediaOfMessage,
  initMediaStorage,
  linkMediaToMessage,
  mediaBytes,
  openMedia,
  orphanedUploads,
  putMedia,
  readMedia,
  type OpenedMedia,
  type StoredMediaRef,
} from '../../storage/media.js';
import type { Store } from '../../storage/store.js';
import type { WebhookGuard } from '../../webhooks/ssrf.js';
import { fetchMedia } from './fetch-url.js';
import { MEDIA_LIMITS } from './limits.js';
import { createMediaMetrics, type MediaMetrics } from './media-metrics.js';
import { checkMedia, tooLarge } from './validate.js';

export interface MediaServiceOptions {
  store: Store;
  registry: Registry;
  logger: Logger;
  /** The SSRF guard media URLs are fetched through (the webhooks' one: same allow and deny lists). */
  guard: WebhookGuard;
  /** Bytes of media the instance may store; 0: no quota. */
  quotaBytes: number;
  /** Bound of one media URL fetch, ms. */
  urlTimeoutMs: number;
}

/** A file to store for a send: the bytes and what the client said about them. */
export interface MediaInput {
  type: MediaType;
  data: Buffer;
  /** The MIME type the client declared (multipart part, `mimetype` field or the URL answer's Content-Type). */
  declared?: string | undefined;
  filename?: string | undefined;
}

/** An upload no record references is removed at start once it is this old, ms (a request in flight is younger). */
const ORPHAN_GRACE_MS = 60 * 60 * 1000;

/** Bytes of just-stored outgoing files kept in memory for the send queue (saves reading them back from GridFS). */
const RECENT_MAX_BYTES = 64 * 1024 * 1024;

export class MediaService {
  readonly metrics: MediaMetrics;
  #used = 0;
  #reserved = 0;
  /** Outgoing files stored in this process and not sent yet, by file id (oldest first; bounded by {@link RECENT_MAX_BYTES}). */
  readonly #recent = new Map<string, Buffer>();
  #recentBytes = 0;

  constructor(private readonly o: MediaServiceOptions) {
    this.metrics = createMediaMetrics(o.registry);
    this.metrics.quotaBytes.set(o.quotaBytes);
  }

  /**
   * Creates the GridFS indexes, removes the uploads a crash left unreferenced (stored, but the process died before
   * their send was queued; older than {@link ORPHAN_GRACE_MS}) and counts the bytes stored. @throws the driver's error.
   */
  async init(): Promise<void> {
    await initMediaStorage(this.o.store);
    const orphans = await orphanedUploads(this.o.store, new Date(Date.now() - ORPHAN_GRACE_MS));
    for (const o of orphans) await deleteMedia(this.o.store, o.fileId);
    if (orphans.length) this.o.logger.info({ files: orphans.length }, 'removed media files no send referenced (left by a crash)');
    this.#setUsed(await mediaBytes(this.o.store));
  }

  /**
   * Checks and stores a file for a send (direction `out`).
   * @throws AppError from {@link checkMedia}, `media_quota_exceeded`; the driver's error.
   */
  async ingest(input: MediaInput): Promise<StoredMediaRef> {
    let checked;
    try {
      checked = await checkMedia(input.type, input.data, input.declared);
    } catch (err) {
      if (err instanceof AppError) this.metrics.files.inc({ direction: 'out', result: err.code });
      throw err;
    }
    const ext = checked.ext ? `.${checked.ext}` : '';
    const filename = input.filename ?? (input.type === 'document' ? `document${ext}` : undefined);
    return this.store(input.data, { type: input.type, mimetype: checked.mimetype, filename, direction: 'out' });
  }

  /**
   * Fetches `url` (SSRF guard, size cap, timeout) and stores it like {@link ingest}; `declared` overrides the answer's
   * Content-Type as the declared type.
   * @throws AppError `media_url_refused`, `media_url_unreachable`, `media_too_large` and those of {@link ingest}.
   */
  async ingestUrl(type: MediaType, url: string, declared?: string, filename?: string): Promise<StoredMediaRef> {
    const maxBytes = MEDIA_LIMITS[type].maxBytes;
    let fetched;
    try {
      fetched = await fetchMedia(url, {
        guard: this.o.guard,
        timeoutMs: this.o.urlTimeoutMs,
        maxBytes,
        tooLarge: (size) => tooLarge(type, size, maxBytes),
      });
    } catch (err) {
      if (err instanceof AppError) this.metrics.files.inc({ direction: 'out', result: err.code });
      throw err;
    }
    return this.ingest({ type, data: fetched.data, declared: declared ?? fetched.contentType, filename: filename ?? fetched.filename });
  }

  /**
   * Stores `data` as is (after the quota check). `in` files are a received message's.
   * @throws AppError `media_quota_exceeded`; the driver's error.
   */
  async store(
    data: Buffer,
    meta: { type: MediaType; mimetype: string; filename?: string | undefined; direction: 'in' | 'out'; messageId?: string },
  ): Promise<StoredMediaRef> {
    const quota = this.o.quotaBytes;
    if (quota > 0 && this.#used + this.#reserved + data.length > quota) {
      this.metrics.files.inc({ direction: meta.direction, result: 'media_quota_exceeded' });
      throw new AppError(
        'media_quota_exceeded',
        `The instance's media quota (${quota} bytes) is used up; ${this.#used} bytes are stored.`,
        {
          quotaBytes: quota,
          usedBytes: this.#used,
          size: data.length,
        },
      );
    }
    this.#reserved += data.length;
    try {
      const ref = await putMedia(this.o.store, data, meta);
      this.#setUsed(this.#used + data.length);
      if (meta.direction === 'out') this.#remember(ref.fileId, data);
      this.metrics.files.inc({ direction: meta.direction, result: 'stored' });
      return ref;
    } finally {
      this.#reserved -= data.length;
    }
  }

  /** Removes a file nothing references any more (a refused or repeated send). Never throws; failures are logged. */
  async discard(ref: StoredMediaRef): Promise<void> {
    this.#forget(ref.fileId);
    try {
      await deleteMedia(this.o.store, ref.fileId);
      this.#setUsed(Math.max(0, this.#used - ref.size));
    } catch (err) {
      this.o.logger.warn({ err, fileId: ref.fileId }, 'could not remove an unreferenced media file');
    }
  }

  /**
   * The bytes of file `fileId`: from memory when this process stored it and nobody read it yet, else from GridFS.
   * @throws the driver's error (FileNotFound for a missing file).
   */
  async read(fileId: string): Promise<Buffer> {
    const kept = this.#recent.get(fileId);
    if (kept) {
      this.#forget(fileId);
      return kept;
    }
    return readMedia(this.o.store, fileId);
  }

  #remember(fileId: string, data: Buffer): void {
    if (data.length > RECENT_MAX_BYTES) return;
    this.#recent.set(fileId, data);
    this.#recentBytes += data.length;
    for (const id of this.#recent.keys()) {
      if (this.#recentBytes <= RECENT_MAX_BYTES) break;
      this.#forget(id);
    }
  }

  #forget(fileId: string): void {
    const data = this.#recent.get(fileId);
    if (!data) return;
    this.#recent.delete(fileId);
    this.#recentBytes -= data.length;
  }

  /** Records that file `ref` was sent as WhatsApp message `messageId` (the file's metadata). */
  async linkSent(ref: StoredMediaRef, messageId: string): Promise<void> {
    await linkMediaToMessage(this.o.store, ref.fileId, messageId);
  }

  /** File `fileId` opened for streaming, or undefined. */
  open(fileId: string): Promise<OpenedMedia | undefined> {
    return openMedia(this.o.store, fileId);
  }

  /** The file stored for message `messageId`, or undefined. */
  ofMessage(messageId: string): Promise<StoredMediaRef | undefined> {
    return findMediaOfMessage(this.o.store, messageId);
  }

  /** Bytes stored now. */
  usedBytes(): number {
    return this.#used;
  }

  #setUsed(v: number): void {
    this.#used = v;
    this.metrics.storedBytes.set(v);
  }
}
