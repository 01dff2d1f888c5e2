/**
 * The send queue's records (`outgoing` collection): created by `POST /v1/messages`, advanced by the sender loop
 * (`services/outgoing/`), read by `GET /v1/messages/:id`. One sender loop per instance process writes them, by `_id`
 * only, so no conditional update needs to be atomic (FerretDB v1's are not); the one race — two requests with the same
 * Idempotency-Key — is settled by the unique `_id`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { OutgoingDoc, OutgoingStatus, Store } from './store.js';

/** Ids of queued messages: `out_` + 32 hex characters. */
export const OUTGOING_ID = /^out_[0-9a-f]{32}$/;

const DUPLICATE_KEY = 11000;

/** A fresh random id. */
export function newOutgoingId(): string {
  return `out_${randomBytes(16).toString('hex')}`;
}

/** The id a token's Idempotency-Key stands for: the same token and key always give the same id. */
export function idempotentOutgoingId(tokenId: string, key: string): string {
  return `out_${createHash('sha256').update(`${tokenId}\0${key}`).digest('hex').slice(0, 32)}`;
}

/** SHA-256 (hex) of what a send request asks for: a retry under the same Idempotency-Key must ask for the same. */
export function requestHash(r: {
  chatId: string;
  body: string;
  quotedMessageId?: string | undefined;
  forwardOf?: string | undefined;
  content?: unknown;
}): string {
  // A plain text hashes as it always did (records queued by an older version keep their hash); a forward adds the
  // forwarded id, a media file, location or contact card its content (a file by its SHA-256).
  const parts: unknown[] = [r.chatId, r.body, r.quotedMessageId ?? null];
  if (r.forwardOf) parts.push(r.forwardOf);
  if (r.content !== undefined) parts.push(r.content);
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * Inserts `doc`; when its id exists already (an Idempotency-Key used before), resolves with the stored record instead.
 * @throws the driver's error when the database is unreachable.
 */
export async function insertOutgoing(
  store: Store,
  doc: OutgoingDoc,
): Promise<{ inserted: true } | { inserted: false; existing: OutgoingDoc }> {
  try {
    await store.col.outgoing.insertOne(doc);
    return { inserted: true };
  } catch (err) {
    if ((err as { code?: number }).code !== DUPLICATE_KEY) throw err;
    const existing = await store.col.outgoing.findOne({ _id: doc._id });
    if (!existing) throw err;
    return { inserted: false, existing };
  }
}

/** One record, or null. */
export function findOutgoing(store: Store, id: string): Promise<OutgoingDoc | null> {
  return store.col.outgoing.findOne({ _id: id });
}

/** Records still `queued` or `sending` (what a start picks up), oldest first. */
export function unfinishedOutgoing(store: Store): Promise<OutgoingDoc[]> {
  return store.col.outgoing
    .find({ status: { $in: ['queued', 'sending'] satisfies OutgoingStatus[] } })
    .sort({ createdAt: 1, _id: 1 })
    .toArray();
}

/** Sets fields of record `id` (and `updatedAt`); `unset` names fields to remove. @throws the driver's error. */
export async function updateOutgoing(
  store: Store,
  id: string,
  set: Partial<Omit<OutgoingDoc, '_id'>>,
  unset: Array<keyof OutgoingDoc> = [],
): Promise<void> {
  await store.col.outgoing.updateOne(
    { _id: id },
    {
      $set: { ...set, updatedAt: new Date() },
      ...(unset.length ? { $unset: Object.fromEntries(unset.map((k) => [k, ''])) } : {}),
    },
  );
}

/** Ids among `messageIds` that records other than `exceptId` were sent as (a history match must not be claimed twice). */
export async function claimedMessageIds(store: Store, messageIds: string[], exceptId: string): Promise<Set<string>> {
  if (messageIds.length === 0) return new Set();
  const docs = await store.col.outgoing.find({ messageId: { $in: messageIds } }, { projection: { messageId: 1 } }).toArray();
  return new Set(docs.filter((d) => d._id !== exceptId).map((d) => d.messageId!));
}
