/**
 * Storage of instance access tokens (`tokens` collection): records by token id, holding the SHA-256 of the whole
 * token, never the plaintext. Hashing, verification and caching live in the token service.
 */
import type { Permission, Store, TokenDoc } from './store.js';

/** Inserts a new token record. @throws the driver's error (e.g. a duplicate id). */
export async function insertToken(store: Store, doc: TokenDoc): Promise<void> {
  await store.tokens.insertOne(doc);
}

/** All token records, oldest first. */
export function listTokens(store: Store): Promise<TokenDoc[]> {
  return store.tokens.find().sort({ createdAt: 1, _id: 1 }).toArray();
}

/** The record of token `id`, or null. */
export function findToken(store: Store, id: string): Promise<TokenDoc | null> {
  return store.tokens.findOne({ _id: id });
}

/** Sets token `id`'s permissions; resolves with the updated record, or null when there is no such token. */
export function updateTokenPermissions(store: Store, id: string, permissions: Permission): Promise<TokenDoc | null> {
  return store.tokens.findOneAndUpdate({ _id: id }, { $set: { permissions, updatedAt: new Date() } }, { returnDocument: 'after' });
}

/** Deletes token `id`; resolves with whether it existed. */
export async function deleteToken(store: Store, id: string): Promise<boolean> {
  const res = await store.tokens.deleteOne({ _id: id });
  return res.deletedCount > 0;
}
