/** Bulk writes as FerretDB v1 takes them, shared by the storage writers. */
import type { AnyBulkWriteOperation, Collection, Document, OptionalUnlessRequiredId } from 'mongodb';

export const DUPLICATE_KEY = 11000;
/**
 * Largest bulk update sent in one command: a stock FerretDB v1.24 never answers an `update` command with many
 * statements matching existing documents — 100 or more on SQLite, 50 already on PostgreSQL (20 measured to work) — so
 * bulk writes are chunked below that (wacloud's own FerretDB build no longer has the limit: docs/embedded-database.md).
 */
export const BULK_CHUNK = 20;

/** bulkWrite in chunks of {@link BULK_CHUNK} operations. */
export async function bulkWriteChunked<T extends Document>(collection: Collection<T>, ops: AnyBulkWriteOperation<T>[]): Promise<void> {
  for (let i = 0; i < ops.length; i += BULK_CHUNK) await collection.bulkWrite(ops.slice(i, i + BULK_CHUNK), { ordered: false });
}

/** insertMany(ordered: false); returns the documents that already existed (duplicate `_id`). */
export async function insertIgnoringDuplicates<T extends { _id: string }>(collection: Collection<T>, docs: T[]): Promise<T[]> {
  try {
    await collection.insertMany(docs as OptionalUnlessRequiredId<T>[], { ordered: false });
    return [];
  } catch (err) {
    const e = err as { code?: number; writeErrors?: Array<{ index: number; code: number }> | { index: number; code: number } };
    const writeErrors = Array.isArray(e.writeErrors) ? e.writeErrors : e.writeErrors ? [e.writeErrors] : [];
    if (writeErrors.length === 0 || writeErrors.some((w) => w.code !== DUPLICATE_KEY)) throw err;
    return writeErrors.map((w) => docs[w.index]!);
  }
}

/** Stores `docs` unless already there (by `_id`); returns those newly stored (the same objects). */
export async function insertNew<T extends { _id: string }>(collection: Collection<T>, docs: T[]): Promise<T[]> {
  if (!docs.length) return [];
  const dups = new Set(await insertIgnoringDuplicates(collection, docs));
  return dups.size ? docs.filter((d) => !dups.has(d)) : docs;
}
