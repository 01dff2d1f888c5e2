/**
 * GridFS storage of media files (`src/storage/media.ts`) against a real MongoDB-wire server: a file written by
 * `putMedia` (its chunks in batched inserts) is the file GridFSBucket writes and reads, and a write that fails leaves
 * no chunks behind.
 */
import { GridFSBucket, ObjectId } from 'mongodb';
import { startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { MEDIA_BUCKET, MEDIA_CHUNK_BYTES, initMediaStorage, putMedia, readMedia } from '../src/storage/media.js';
import { openStore, type Store } from '../src/storage/store.js';
import { sha256 } from './media-fixtures.js';

let mongo: MongoServer;
let store: Store;

beforeAll(async () => {
  mongo = await startMongo();
  store = await openStore(mongo.dbUri(uniqueDbName('mediastore')));
  await initMediaStorage(store);
}, 60_000);

afterAll(async () => {
  await store?.connection.dropDatabase().catch(() => undefined);
  await store?.close();
  await mongo?.stop();
});

/** `size` bytes that differ from chunk to chunk (a misplaced or repeated chunk changes the hash). */
function bytes(size: number): Buffer {
  const data = Buffer.alloc(Math.ceil(size / 4) * 4);
  for (let i = 0; i < data.length; i += 4) data.writeUInt32BE(i >>> 2, i);
  return data.subarray(0, size);
}

test('a file of several insert batches and a short last chunk is the file GridFSBucket reads, chunk by chunk', async () => {
  // 16 chunks go per insert: 37 chunks are three batches, the last chunk 1,234 bytes.
  const data = bytes(36 * MEDIA_CHUNK_BYTES + 1_234);
  const ref = await putMedia(store, data, { mimetype: 'video/mp4', type: 'video', direction: 'out', filename: 'clip.mp4' });
  expect(ref).toEqual({ fileId: expect.any(String), mimetype: 'video/mp4', filename: 'clip.mp4', size: data.length, sha256: sha256(data) });

  const db = store.connection.db!;
  const id = new ObjectId(ref.fileId);
  const file = await db.collection(`${MEDIA_BUCKET}.files`).findOne({ _id: id });
  expect(file).toMatchObject({
    length: data.length,
    chunkSize: MEDIA_CHUNK_BYTES,
    filename: 'clip.mp4',
    uploadDate: expect.any(Date),
    metadata: { mimetype: 'video/mp4', type: 'video', direction: 'out', filename: 'clip.mp4', sha256: sha256(data) },
  });
  const chunks = await db.collection(`${MEDIA_BUCKET}.chunks`).find({ files_id: id }).sort({ n: 1 }).toArray();
  expect(chunks.map((c) => c.n)).toEqual(Array.from({ length: 37 }, (_, n) => n));
  expect(chunks.map((c) => c.data.length())).toEqual([...Array<number>(36).fill(MEDIA_CHUNK_BYTES), 1_234]);

  const parts: Buffer[] = [];
  for await (const part of new GridFSBucket(db, { bucketName: MEDIA_BUCKET }).openDownloadStream(id)) parts.push(part as Buffer);
  expect(sha256(Buffer.concat(parts))).toBe(sha256(data));
  expect(sha256(await readMedia(store, ref.fileId))).toBe(sha256(data));
}, 60_000);

test('a file of exactly one chunk and one of a few bytes are stored whole', async () => {
  for (const size of [MEDIA_CHUNK_BYTES, 3]) {
    const data = bytes(size);
    const ref = await putMedia(store, data, { mimetype: 'application/pdf', type: 'document', direction: 'out' });
    const chunks = await store.connection.db!.collection(`${MEDIA_BUCKET}.chunks`).countDocuments({ files_id: new ObjectId(ref.fileId) });
    expect(chunks).toBe(1);
    expect(sha256(await readMedia(store, ref.fileId))).toBe(sha256(data));
  }
});

test('a write that fails (here the files document) leaves no chunks and no file', async () => {
  const db = store.connection.db!;
  const files = db.collection(`${MEDIA_BUCKET}.files`);
  const chunks = db.collection(`${MEDIA_BUCKET}.chunks`);
  // The other tests' files would break the unique index this test adds.
  await Promise.all([files.deleteMany({}), chunks.deleteMany({})]);
  await files.createIndex({ filename: 1 }, { unique: true, name: 'filename_unique_for_this_test' });
  try {
    await putMedia(store, bytes(1_000), { mimetype: 'image/jpeg', type: 'image', direction: 'out', filename: 'taken.jpg' });
    const [filesBefore, chunksBefore] = [await files.countDocuments(), await chunks.countDocuments()];
    await expect(
      putMedia(store, bytes(3 * MEDIA_CHUNK_BYTES), { mimetype: 'image/jpeg', type: 'image', direction: 'out', filename: 'taken.jpg' }),
    ).rejects.toMatchObject({ code: 11000 });
    expect(await files.countDocuments()).toBe(filesBefore);
    expect(await chunks.countDocuments()).toBe(chunksBefore);
  } finally {
    await files.dropIndex('filename_unique_for_this_test');
  }
});
