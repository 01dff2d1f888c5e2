/**
 * A run of `message.any` events of one instance applied in bulk (a batch from the ingest, docs/team.md §1): the same
 * effects as `InboxEvents`' handler on each in turn — conversations created on their first message, activity kept,
 * waiting and first-response times, reopened and woken conversations, the same live events in the same order — in a
 * few commands per run instead of ~7 per message:
 * 1. the run's activity rows (`pending`) in one `insertMany`; a row already there and no longer pending means the
 *    message was applied before (a redelivery): skipped;
 * 2. the run's conversations read in one query, the messages applied to them in memory, in order;
 * 3. new conversations in one `insertMany` (with all their messages of the run applied), the others in `bulkWrite`s of
 *    one `updateOne` each (`$set` of the fields the run changed, `$inc` of its inbound messages);
 * 4. first-response rows in one `insertMany`, the live events in one append ({@link LiveLog.appendMany}), and the
 *    rows' `pending` cleared in one `updateMany`.
 * A failure anywhere throws: the rows are still pending, so a redelivery applies the run again (as the handler does
 * after a stop between its writes: at worst an inbound message counted twice, never one lost).
 */
import type { InstanceEvent } from '../events/instance-events.js';
import type { LiveEventInput, LiveLog } from '../live/live-log.js';
import type { MessageData } from './events.js';
import { conversationIdOf } from './events.js';
import type { ActivityDoc, ConversationDoc, InboxStore } from './store.js';
import { audienceOf, conversationData } from './views.js';

/** Update statements per `bulkWrite`. */
const BULK_CHUNK = 20;
const DUPLICATE_KEY = 11000;

/** A conversation as the run leaves it: new (inserted whole) or existing (the fields changed, inbound messages added). */
interface Touched {
  doc: ConversationDoc;
  isNew: boolean;
  set: Partial<ConversationDoc>;
  inc: number;
}

/**
 * Applies `run` (message.any events of one instance with message data, oldest first).
 * @param fresh a new conversation with its first message applied (`InboxEvents`' own constructor)
 * @param createdData the data of a `conversation.created` live event (with the chat's contact: `InboxEvents`)
 * @throws the driver's error (nothing is marked applied: a redelivery applies the run again)
 */
export async function applyMessages(
  inbox: InboxStore,
  live: LiveLog | undefined,
  run: InstanceEvent[],
  fresh: (e: InstanceEvent, m: MessageData, at: Date) => ConversationDoc,
  createdData: (c: ConversationDoc) => Promise<unknown> = async (c) => conversationData(c),
): Promise<void> {
  const items = run
    .map((e) => {
      const m = e.data as MessageData;
      const ts = new Date(m.timestamp);
      return { e, m, at: Number.isNaN(ts.getTime()) ? new Date(e.timestamp) : ts };
    })
    .filter((x) => x.m.chatId !== 'status@broadcast');
  if (!items.length) return;
  const instanceId = items[0]!.e.instanceId;
  const chats = [...new Set(items.map((x) => x.m.chatId))];
  const touched = new Map<string, Touched>();
  for (const doc of await inbox.conversations.find({ instanceId, chatId: { $in: chats } }).toArray())
    touched.set(doc.chatId, { doc, isNew: false, set: {}, inc: 0 });

  // 1. The activity rows, pending until the run's effects are stored.
  const rows: ActivityDoc[] = items.map(({ e, m, at }) => ({
    _id: `${m.fromMe ? 'outbound' : 'inbound'}:${e.instanceId}:${m.id}`,
    orgId: e.orgId,
    instanceId: e.instanceId,
    conversationId: touched.get(m.chatId)?.doc._id ?? conversationIdOf(e.instanceId, m.chatId),
    kind: m.fromMe ? 'outbound' : 'inbound',
    memberId: m.fromMe ? (m.sentBy?.member?.id ?? null) : null,
    at,
    pending: true,
  }));
  const existing = await insertKeeping(inbox.activity, rows);
  const skip = new Set<string>();
  if (existing.size) {
    const pending = await inbox.activity.find({ _id: { $in: [...existing] }, pending: true }, { projection: { _id: 1 } }).toArray();
    const still = new Set(pending.map((r) => r._id));
    for (const id of existing) if (!still.has(id)) skip.add(id); // applied before
  }

  // 2. The messages applied in memory, in order.
  const liveEvents: LiveEventInput[] = [];
  /** The run's `conversation.created` events (their index in `liveEvents`), given their data with its contact in step 4. */
  const newConversations: Array<{ at: number; c: ConversationDoc }> = [];
  const firstResponses: ActivityDoc[] = [];
  const applied: string[] = [];
  items.forEach(({ e, m, at }, i) => {
    const rowId = rows[i]!._id;
    if (skip.has(rowId) || applied.includes(rowId)) return;
    applied.push(rowId);
    const t = touched.get(m.chatId);
    const announce = (c: ConversationDoc, created: boolean) => {
      const audience = audienceOf(c);
      const data = conversationData({ ...c });
      if (created) newConversations.push({ at: liveEvents.length, c: { ...c } });
      liveEvents.push({ type: created ? 'conversation.created' : 'conversation.updated', data, audience });
      liveEvents.push({ type: m.fromMe ? 'message.sent' : 'message.new', data: { conversationId: c._id, message: m }, audience });
    };
    if (!t) {
      const doc = fresh(e, m, at);
      touched.set(m.chatId, { doc, isNew: true, set: {}, inc: 0 });
      announce(doc, true);
      return;
    }
    const doc = t.doc;
    const set: Partial<ConversationDoc> = {
      lastMessage: { id: m.id, body: (m.body ?? '').slice(0, 500), fromMe: m.fromMe, timestamp: at },
    };
    if (at > doc.lastActivityAt) set.lastActivityAt = at;
    else delete set.lastMessage; // an older message is not the last one
    if (!m.fromMe) {
      if (doc.status === 'resolved' || doc.status === 'snoozed') {
        Object.assign(set, { status: 'open', snoozedUntil: null, resolvedAt: null, resolvedBy: null });
        if (doc.status === 'resolved') set.firstResponseAt = null;
      }
      if (!doc.waitingSince) set.waitingSince = at;
      t.inc += 1;
      doc.inboundCount += 1;
    } else {
      set.waitingSince = null;
      if (doc.waitingSince && !doc.firstResponseAt) {
        set.firstResponseAt = at;
        firstResponses.push({
          _id: `first_response:${e.instanceId}:${m.id}`,
          orgId: e.orgId,
          instanceId: e.instanceId,
          conversationId: doc._id,
          kind: 'first_response',
          memberId: m.sentBy?.member?.id ?? null,
          at,
          ms: Math.max(0, at.getTime() - new Date(doc.waitingSince).getTime()),
        });
      }
    }
    Object.assign(doc, set);
    Object.assign(t.set, set);
    announce(doc, false);
  });

  // 3. The conversations.
  const all = [...touched.values()];
  const created = all.filter((t) => t.isNew).map((t) => t.doc);
  if (created.length) await inbox.conversations.insertMany(created, { ordered: false });
  const updates = all
    .filter((t) => !t.isNew && (t.inc > 0 || Object.keys(t.set).length > 0))
    .map((t) => ({
      updateOne: { filter: { _id: t.doc._id }, update: { $set: t.set, ...(t.inc ? { $inc: { inboundCount: t.inc } } : {}) } },
    }));
  for (let i = 0; i < updates.length; i += BULK_CHUNK) await inbox.conversations.bulkWrite(updates.slice(i, i + BULK_CHUNK));

  // 4. First responses, live events, and the rows marked applied.
  if (firstResponses.length) await insertKeeping(inbox.activity, firstResponses);
  if (live && liveEvents.length) {
    for (const n of newConversations) liveEvents[n.at] = { ...liveEvents[n.at]!, data: await createdData(n.c) };
    if (live.appendMany) await live.appendMany(liveEvents);
    else for (const le of liveEvents) await live.append(le);
  }
  if (applied.length) await inbox.activity.updateMany({ _id: { $in: applied } }, { $unset: { pending: '' } });
}

/** insertMany(ordered: false) of `docs`; @returns the ids already there. @throws any other write error. */
async function insertKeeping<T extends { _id: string }>(
  col: { insertMany(docs: T[], o: { ordered: boolean }): Promise<unknown> },
  docs: T[],
): Promise<Set<string>> {
  try {
    await col.insertMany(docs, { ordered: false });
    return new Set();
  } catch (err) {
    const e = err as { writeErrors?: Array<{ code: number; index: number }> | { code: number; index: number } };
    const errors = Array.isArray(e.writeErrors) ? e.writeErrors : e.writeErrors ? [e.writeErrors] : [];
    if (errors.length === 0 || errors.some((w) => w.code !== DUPLICATE_KEY)) throw err;
    return new Set(errors.map((w) => docs[w.index]!._id));
  }
}
