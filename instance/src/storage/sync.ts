/**
 * Storage of the sync after login: bulk upserts of the contacts, chats and groups the engine reports, group records
 * (collection `groups`, one per group, keyed by its id), and the history import's insert-or-ignore of messages. Every
 * write is idempotent: a sync repeated after a reconnect rewrites the same records and inserts no message twice.
 */
import type { AnyBulkWriteOperation } from 'mongodb';
import type { EngineChat, EngineContact } from '../engines/engine.js';
import type { EngineGroup, EngineGroupParticipant } from '../engines/engine-sync.js';
import { bulkWriteChunked } from './bulk.js';
import { withoutUndefined } from './without-undefined.js';
import type { ChatDoc, ContactDoc, MessageDoc, Store } from './store.js';

/** A stored group: its metadata as the engine last reported it. */
export interface GroupDoc {
  /** `<id>@g.us` */
  _id: string;
  subject: string;
  description?: string | undefined;
  owner?: string | undefined;
  createdAt?: Date | undefined;
  participants: EngineGroupParticipant[];
  updatedAt: Date;
}

/** The `groups` collection (written and read through the driver). */
export function groupsCollection(store: Store) {
  return store.connection.db!.collection<GroupDoc>('groups');
}

/** The stored shape of an engine chat (without `_id`). */
export function chatFields(c: EngineChat, now = new Date()): Partial<Omit<ChatDoc, '_id'>> {
  return withoutUndefined({
    name: c.name,
    isGroup: c.isGroup,
    unreadCount: c.unreadCount,
    lastMessageAt: c.lastMessageAt ? new Date(c.lastMessageAt) : undefined,
    archived: c.archived,
    pinned: c.pinned,
    muted: c.muted,
    lastMessage: c.lastMessage ? { ...c.lastMessage, timestamp: new Date(c.lastMessage.timestamp) } : undefined,
    updatedAt: now,
  });
}

/** Upserts `contacts` (users and groups) by id. @throws the driver's error. */
export async function writeContacts(store: Store, contacts: EngineContact[]): Promise<void> {
  if (contacts.length === 0) return;
  const now = new Date();
  const ops: AnyBulkWriteOperation<ContactDoc>[] = contacts.map(({ id, ...c }) => ({
    updateOne: { filter: { _id: id }, update: { $set: { ...withoutUndefined(c), updatedAt: now } }, upsert: true },
  }));
  await bulkWriteChunked(store.col.contacts, ops);
}

/** Upserts `chats` by id. @throws the driver's error. */
export async function writeChats(store: Store, chats: EngineChat[]): Promise<void> {
  if (chats.length === 0) return;
  const now = new Date();
  const ops: AnyBulkWriteOperation<ChatDoc>[] = chats.map((c) => ({
    updateOne: { filter: { _id: c.id }, update: { $set: chatFields(c, now) }, upsert: true },
  }));
  await bulkWriteChunked(store.col.chats, ops);
}

/**
 * Upserts `groups` by id, and keeps their contact records' names and participant lists in step.
 * @throws the driver's error.
 */
export async function writeGroups(store: Store, groups: EngineGroup[]): Promise<void> {
  if (groups.length === 0) return;
  const now = new Date();
  await bulkWriteChunked(
    groupsCollection(store),
    groups.map((g) => ({
      replaceOne: {
        filter: { _id: g.id },
        replacement: {
          subject: g.subject,
          participants: g.participants.map(({ id, isAdmin, isSuperAdmin }) => ({ id, isAdmin, isSuperAdmin })),
          updatedAt: now,
          ...withoutUndefined({ description: g.description, owner: g.owner, createdAt: g.createdAt ? new Date(g.createdAt) : undefined }),
        },
        upsert: true,
      },
    })),
  );
  await bulkWriteChunked(
    store.col.contacts,
    groups.map((g) => ({
      updateOne: {
        filter: { _id: g.id },
        update: { $set: { name: g.subject, isGroup: true, participants: g.participants.map((p) => p.id), updatedAt: now } },
        upsert: true,
      },
    })),
  );
}

/** Sets chat `chatId`'s unread count to 0 (marked read). */
export async function markChatReadStored(store: Store, chatId: string): Promise<void> {
  await store.col.chats.updateOne({ _id: chatId }, { $set: { unreadCount: 0, updatedAt: new Date() } });
}

/** Whether a driver error is only duplicate keys (E11000) of an unordered insert. */
function onlyDuplicates(err: unknown): boolean {
  const e = err as { code?: number; writeErrors?: Array<{ code?: number }> | { code?: number } };
  if (e.code === 11000 && !e.writeErrors) return true;
  const list = Array.isArray(e.writeErrors) ? e.writeErrors : e.writeErrors ? [e.writeErrors] : [];
  return list.length > 0 && list.every((w) => w.code === 11000);
}

/**
 * Inserts the messages the database does not have yet (insert-or-ignore by `_id`, one unordered `insertMany`).
 * Resolves with the number inserted. @throws the driver's error, but for duplicate ids.
 */
export async function importMessages(store: Store, docs: MessageDoc[]): Promise<number> {
  if (docs.length === 0) return 0;
  try {
    return (await store.col.messages.insertMany(docs, { ordered: false })).insertedCount;
  } catch (err) {
    if (!onlyDuplicates(err)) throw err;
    const e = err as { result?: { insertedCount?: number }; insertedCount?: number };
    return e.result?.insertedCount ?? e.insertedCount ?? 0;
  }
}
