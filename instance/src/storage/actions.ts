/**
 * Message actions on stored messages: a reaction put on or taken off, an edit (the new body and `editedAt`), a revoke
 * (a tombstone: type `revoked`, body and reactions gone, `revokedAt`). Each write says whether it changed anything
 * (`changed`), found the message already so (`unchanged`: the same fact reported twice, e.g. an own action and
 * WhatsApp's echo of it) or found no such message (`missing`). Single-document updates by `_id` only.
 */
import type { EngineEdit, EngineReaction, EngineRevoke } from '../engines/engine-actions.js';
import type { MessageDoc, ReactionEntry, Store } from './store.js';

export type ApplyResult = 'changed' | 'unchanged' | 'missing';

/** Sets (or, for an empty reaction, removes) `r.sender`'s reaction on message `r.messageId`. @throws the driver's error. */
export async function applyReaction(store: Store, r: EngineReaction): Promise<ApplyResult> {
  const doc = await store.col.messages.findOne({ _id: r.messageId }, { projection: { reactions: 1, revokedAt: 1 } });
  if (!doc) return 'missing';
  if (doc.revokedAt) return 'unchanged';
  const others = (doc.reactions ?? []).filter((x) => x.sender !== r.sender);
  const mine = (doc.reactions ?? []).find((x) => x.sender === r.sender);
  if ((mine?.reaction ?? '') === r.reaction) return 'unchanged';
  const next: ReactionEntry[] = r.reaction
    ? [...others, { sender: r.sender, reaction: r.reaction, timestamp: new Date(r.timestamp) }]
    : others;
  await store.col.messages.updateOne({ _id: r.messageId }, next.length ? { $set: { reactions: next } } : { $unset: { reactions: '' } });
  return 'changed';
}

/** Replaces the body of message `e.messageId` and sets `editedAt` (revoked messages stay as they are). @throws the driver's error. */
export async function applyEdit(store: Store, e: EngineEdit): Promise<ApplyResult> {
  const doc = await store.col.messages.findOne({ _id: e.messageId }, { projection: { body: 1, revokedAt: 1, editedAt: 1 } });
  if (!doc) return 'missing';
  if (doc.revokedAt || (doc.body === e.body && doc.editedAt)) return 'unchanged';
  await store.col.messages.updateOne({ _id: e.messageId }, { $set: { body: e.body, editedAt: new Date(e.editedAt) } });
  return 'changed';
}

/**
 * Turns message `r.messageId` into a tombstone: its body, reactions and content (media, location, contact card) gone.
 * `onStoredFile` gets the GridFS file id of a stored media file the message had (for the caller to remove).
 * @throws the driver's error.
 */
export async function applyRevoke(store: Store, r: EngineRevoke, onStoredFile?: (fileId: string) => void): Promise<ApplyResult> {
  const doc = await store.col.messages.findOne({ _id: r.messageId }, { projection: { revokedAt: 1, media: 1 } });
  if (!doc) return 'missing';
  if (doc.revokedAt) return 'unchanged';
  await store.col.messages.updateOne(
    { _id: r.messageId },
    {
      $set: { type: 'revoked', body: '', revokedAt: new Date(r.revokedAt) },
      $unset: { reactions: '', media: '', location: '', vcard: '' },
    },
  );
  if (doc.media?.fileId) onStoredFile?.(doc.media.fileId);
  return 'changed';
}

/** The stored message `id`, or null. @throws the driver's error. */
export function storedMessage(store: Store, id: string): Promise<MessageDoc | null> {
  return store.col.messages.findOne({ _id: id });
}
