/**
 * Media bytes in the instance's own database through GridFS (the `mongodb` driver's `GridFSBucket`, bucket `media`:
 * collections `media.files` and `media.chunks`), so they survive restarts and are part of the database's backups.
 *
 * Each file's `metadata` says what it is: `mimetype`, `filename`, `type` (image, video, …), `sha256`, `direction`
 * (`out`: uploaded or fetched for a send; `in`: downloaded from a received message) and, once known, `messageId` (the
 * WhatsApp message it belongs to) or `outgoingId` (the send queue record). A file is written whole before anything
 * references it; an upload that fails midway is aborted (its chunks removed).
 */
import './lazy-driver-deps.js'; // before the driver: its dependencies' tables load at first use
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GridFSBucket, ObjectId } from 'mongodb';
import type { MediaType } from '../engines/engine-media.js';
import type { Store } from './store.js';

/** GridFS bucket name. */
export const MEDIA_BUCKET = 'media';

export interface MediaMetadata {
  mimetype: string;
  filename?: string | undefined;
  type: MediaType;
  sha256: string;
  direction: 'in' | 'out';
  messageId?: string | undefined;
  outgoingId?: string | undefined;
}

/** A stored file as records reference it. */
export interface StoredMediaRef {
  /** GridFS file id (ObjectId hex). */
  fileId: string;
  mimetype: string;
  filename?: string | undefined;
  /** Bytes. */
  size: number;
  sha256: string;
}

/** A stored file opened for reading. */
export interface OpenedMedia {
  stream: Readable;
  length: number;
  mimetype: string;
  filename?: string | undefined;
}

/** One bucket per database: a new `GridFSBucket` checks GridFS' indexes again (a query) at its first upload. */
const buckets = new WeakMap<object, InstanceType<typeof GridFSBucket>>();

function bucket(store: Store): InstanceType<typeof GridFSBucket> {
  const db = store.connection.db!;
  let b = buckets.get(db);
  if (!b) buckets.set(db, (b = new GridFSBucket(db, { bucketName: MEDIA_BUCKET })));
  return b;
}

/** Creates the bucket's indexes (idempotent): GridFS' own and one to find a message's file. */
export async function initMediaStorage(store: Store): Promise<void> {
  const db = store.connection.db!;
  await db.collection(`${MEDIA_BUCKET}.files`).createIndex({ filename: 1, uploadDate: 1 });
  await db.collection(`${MEDIA_BUCKET}.chunks`).createIndex({ files_id: 1, n: 1 }, { unique: true });
  await db.collection(`${MEDIA_BUCKET}.files`).createIndex({ 'metadata.messageId': 1 });
}

/** Bytes per GridFS chunk: the driver's default (GridFSBucket's `chunkSizeBytes`), 255 KiB. */
export const MEDIA_CHUNK_BYTES = 255 * 1024;
/** Chunks per `insertMany`: 16 × 255 KiB ≈ 4 MiB, so a large file is never serialized whole at once. */
const CHUNKS_PER_INSERT = 16;

/**
 * Writes `data` as one GridFS file; resolves once all of it is stored. A failed write is aborted (no chunks stay).
 *
 * The documents are GridFSBucket's (`media.chunks`: `{ files_id, n, data }` of {@link MEDIA_CHUNK_BYTES}; then the
 * `media.files` document, written last so a file is never seen with chunks missing), so GridFSBucket reads them. They
 * are written here rather than through `openUploadStream` because that stream sends one insert per chunk and copies
 * each chunk twice before serializing it: the chunks go as views of `data` in one `insertMany` per ≈ 4 MiB, which
 * costs the driver and the server less (instance/bench/media.ts).
 * @throws the driver's error.
 */
export async function putMedia(store: Store, data: Buffer, meta: Omit<MediaMetadata, 'sha256'>): Promise<StoredMediaRef> {
  const sha256 = createHash('sha256').update(data).digest('hex');
  const id = new ObjectId();
  const metadata: MediaMetadata = { ...meta, sha256 };
  const db = store.connection.db!;
  const chunks = db.collection<{ files_id: InstanceType<typeof ObjectId>; n: number; data: Buffer }>(`${MEDIA_BUCKET}.chunks`);
  try {
    const count = Math.ceil(data.length / MEDIA_CHUNK_BYTES);
    for (let first = 0; first < count; first += CHUNKS_PER_INSERT) {
      const batch = [];
      for (let n = first; n < Math.min(count, first + CHUNKS_PER_INSERT); n++) {
        batch.push({ files_id: id, n, data: data.subarray(n * MEDIA_CHUNK_BYTES, (n + 1) * MEDIA_CHUNK_BYTES) });
      }
      await chunks.insertMany(batch);
    }
    await db.collection(`${MEDIA_BUCKET}.files`).insertOne({
      _id: id,
      length: data.length,
      chunkSize: MEDIA_CHUNK_BYTES,
      uploadDate: new Date(),
      filename: meta.filename ?? `${meta.type}`,
      metadata,
    });
  } catch (err) {
    await chunks.deleteMany({ files_id: id }).catch(() => undefined);
    throw err;
  }
  return { fileId: id.toHexString(), mimetype: meta.mimetype, filename: meta.filename, size: data.length, sha256 };
}

/** Reads a whole file into memory (files are bounded by WhatsApp's limits). @throws the driver's error; `FileNotFound`. */
export async function readMedia(store: Store, fileId: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of bucket(store).openDownloadStream(new ObjectId(fileId))) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Opens file `fileId` for streaming, or undefined when there is none. */
export async function openMedia(store: Store, fileId: string): Promise<OpenedMedia | undefined> {
  if (!ObjectId.isValid(fileId)) return undefined;
  const b = bucket(store);
  const file = await b.find({ _id: new ObjectId(fileId) }).next();
  if (!file) return undefined;
  const meta = (file.metadata ?? {}) as Partial<MediaMetadata>;
  return {
    stream: b.openDownloadStream(file._id),
    length: file.length,
    mimetype: meta.mimetype ?? 'application/octet-stream',
    filename: meta.filename,
  };
}

/** The file stored for WhatsApp message `messageId`, or undefined. */
export async function findMediaOfMessage(store: Store, messageId: string): Promise<StoredMediaRef | undefined> {
  const file = await bucket(store).find({ 'metadata.messageId': messageId }).limit(1).next();
  if (!file) return undefined;
  const meta = (file.metadata ?? {}) as MediaMetadata;
  return { fileId: file._id.toHexString(), mimetype: meta.mimetype, filename: meta.filename, size: file.length, sha256: meta.sha256 };
}

/** Names the WhatsApp message file `fileId` was sent as. */
export async function linkMediaToMessage(store: Store, fileId: string, messageId: string): Promise<void> {
  await store.connection
    .db!.collection(`${MEDIA_BUCKET}.files`)
    .updateOne({ _id: new ObjectId(fileId) }, { $set: { 'metadata.messageId': messageId } });
}

/** Removes file `fileId` (its chunks too); a missing file is no error. */
export async function deleteMedia(store: Store, fileId: string): Promise<void> {
  await bucket(store)
    .delete(new ObjectId(fileId))
    .catch((err: { code?: string; message?: string }) => {
      if (!/FileNotFound|not found/i.test(`${err.code ?? ''} ${err.message ?? ''}`)) throw err;
    });
}

/** Bytes of file `fileId`, or undefined when there is none. @throws the driver's error. */
export async function mediaFileSize(store: Store, fileId: string): Promise<number | undefined> {
  const files = store.connection.db!.collection<{ _id: InstanceType<typeof ObjectId>; length: number }>(`${MEDIA_BUCKET}.files`);
  const file = await files.findOne({ _id: new ObjectId(fileId) }, { projection: { length: 1 } });
  return typeof file?.length === 'number' ? file.length : undefined;
}

/** Bytes of all stored files. */
export async function mediaBytes(store: Store): Promise<number> {
  const rows = await store.connection
    .db!.collection(`${MEDIA_BUCKET}.files`)
    .aggregate<{ total: number }>([{ $group: { _id: null, total: { $sum: '$length' } } }])
    .toArray();
  return rows[0]?.total ?? 0;
}

/**
 * Outgoing files (`direction: out`) uploaded before `before` that no send queue record references and no message was
 * sent as: left by a process that died between storing a file and queuing its record. Their ids and sizes.
 */
export async function orphanedUploads(store: Store, before: Date, limit = 1_000): Promise<Array<{ fileId: string; size: number }>> {
  const files = await store.connection
    .db!.collection<{ _id: InstanceType<typeof ObjectId>; length: number }>(`${MEDIA_BUCKET}.files`)
    .find({ 'metadata.direction': 'out', 'metadata.messageId': { $exists: false }, uploadDate: { $lt: before } })
    .limit(limit)
    .toArray();
  const out: Array<{ fileId: string; size: number }> = [];
  for (const f of files) {
    const fileId = f._id.toHexString();
    if (!(await store.col.outgoing.findOne({ 'media.fileId': fileId }, { projection: { _id: 1 } }))) out.push({ fileId, size: f.length });
  }
  return out;
}
