/**
 * The inbox's handler of instance events (docs/team.md §3): `message.any` creates the conversation of its chat on its
 * first message either way and keeps its activity — an inbound message counts, starts waiting, reopens a resolved
 * conversation and wakes a snoozed one; an outbound one ends the wait and, the first time since creation or reopening,
 * records the first-response time. `message.ack` is relayed to the live socket. Every message appends its
 * `inbox_activity` rows. Idempotent by message: the `inbound`/`outbound` activity row (`_id` from the message id) is
 * inserted first, and a redelivered event whose row exists changes nothing.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { InstanceEvent, InstanceEventHandler } from '../events/instance-events.js';
import type { LiveLog } from '../live/live-log.js';
import { isDuplicateKey } from '../store.js';
import type { ActivityDoc, ConversationDoc, InboxStore } from './store.js';
import type { ContactSummaries, ContactSummary } from './contact-summary.js';
import { applyMessages } from './events-batch.js';
import { audienceOf, conversationData } from './views.js';

/** The fields of an instance's message view (`instance/src/services/views.ts`) the inbox uses. */
export interface MessageData {
  id: string;
  chatId: string;
  fromMe: boolean;
  isGroup?: boolean;
  body?: string;
  type?: string;
  /** ISO 8601. */
  timestamp: string;
  sentBy?: { tokenId?: string; tokenName?: string; member?: { id: string; name: string } };
}

function isMessage(d: unknown): d is MessageData {
  const m = d as Partial<MessageData> | null;
  return (
    !!m && typeof m.id === 'string' && typeof m.chatId === 'string' && typeof m.fromMe === 'boolean' && typeof m.timestamp === 'string'
  );
}

/** The id of the conversation of (instance, chat): `cnv_` + 24 hex of their SHA-256, the same on every replica. */
export function conversationIdOf(instanceId: string, chatId: string): string {
  return `cnv_${createHash('sha256').update(`${instanceId}\0${chatId}`).digest('hex').slice(0, 24)}`;
}

/** A chat's display name until the contacts know better: its number, or the group id. */
function nameOf(chatId: string): string {
  const [user, server] = chatId.split('@');
  return server === 'c.us' ? `+${user}` : chatId;
}

export class InboxEvents {
  /**
   * @param contacts the contact book's summaries: a `conversation.created` live event carries the chat's contact (as
   *   the list does), so a conversation that appears while an inbox is open is named from the book at once.
   */
  constructor(
    private readonly inbox: InboxStore,
    private readonly live: LiveLog | undefined,
    private readonly log?: Logger,
    private readonly contacts?: ContactSummaries,
  ) {}

  /** The handler to subscribe to the `InstanceEventBus` (with `batch`: a batch's messages applied in bulk). */
  readonly handler: InstanceEventHandler = Object.assign(
    async (e: InstanceEvent) => {
      if (e.type === 'message.any' && isMessage(e.data)) await this.message(e, e.data);
      else if (e.type === 'message.ack') await this.ack(e);
    },
    { batch: (events: InstanceEvent[]) => this.batch(events) },
  );

  /**
   * A batch's events in order: each run of `message.any` events in bulk (`events-batch.ts`), the others one by one.
   * @returns how many, from the first, were applied (the next one failed; logged).
   */
  private async batch(events: InstanceEvent[]): Promise<number> {
    let done = 0;
    while (done < events.length) {
      let end = done;
      while (end < events.length && events[end]!.type === 'message.any' && isMessage(events[end]!.data)) end++;
      try {
        if (end > done)
          await applyMessages(
            this.inbox,
            this.live,
            events.slice(done, end),
            (e, m, at) => this.fresh(e, m, at),
            (c) => this.createdData(c),
          );
        else await this.handler(events[(end = done + 1) - 1]!);
      } catch (err) {
        this.log?.warn({ err, eventId: events[done]!.id }, 'inbox: instance events not applied');
        return done;
      }
      done = end;
    }
    return done;
  }

  /** A new conversation of (instance, chat) with its first message `m` (at `at`) applied. */
  private fresh(e: Pick<InstanceEvent, 'orgId' | 'instanceId'>, m: MessageData, at: Date): ConversationDoc {
    return {
      _id: conversationIdOf(e.instanceId, m.chatId),
      orgId: e.orgId,
      instanceId: e.instanceId,
      chatId: m.chatId,
      name: nameOf(m.chatId),
      isGroup: m.isGroup ?? m.chatId.endsWith('@g.us'),
      status: 'open',
      snoozedUntil: null,
      assigneeId: null,
      visibility: 'public',
      createdAt: at,
      lastActivityAt: at,
      lastMessage: { id: m.id, body: (m.body ?? '').slice(0, 500), fromMe: m.fromMe, timestamp: at },
      waitingSince: m.fromMe ? null : at,
      firstResponseAt: null,
      inboundCount: m.fromMe ? 0 : 1,
      resolvedAt: null,
      resolvedBy: null,
    };
  }

  /**
   * Applies message `m` to its conversation, once: the activity row (unique by message) is inserted with `pending`
   * first and cleared once the conversation is written, so a redelivery after a stop in between applies it again
   * (at worst one inbound message counted twice in unread counts; never a message lost), and after that, never.
   */
  private async message(e: InstanceEvent, m: MessageData): Promise<void> {
    const rowId = await this.applyMessage(e, m);
    if (rowId) await this.inbox.activity.updateOne({ _id: rowId }, { $unset: { pending: '' } });
  }

  /** The conversation side of {@link message}; resolves with the activity row to clear, or undefined. */
  private async applyMessage(e: InstanceEvent, m: MessageData): Promise<string | undefined> {
    if (m.chatId === 'status@broadcast') return;
    const ts = new Date(m.timestamp);
    const at = Number.isNaN(ts.getTime()) ? new Date(e.timestamp) : ts;
    let doc = await this.inbox.conversations.findOne({ instanceId: e.instanceId, chatId: m.chatId });
    const memberId = m.fromMe ? (m.sentBy?.member?.id ?? null) : null;
    const row: ActivityDoc = {
      _id: `${m.fromMe ? 'outbound' : 'inbound'}:${e.instanceId}:${m.id}`,
      orgId: e.orgId,
      instanceId: e.instanceId,
      conversationId: doc?._id ?? conversationIdOf(e.instanceId, m.chatId),
      kind: m.fromMe ? 'outbound' : 'inbound',
      memberId,
      at,
      pending: true,
    };
    try {
      await this.inbox.activity.insertOne(row);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // Seen before: its effects are stored unless the api stopped before it cleared `pending`.
      const seen = await this.inbox.activity.findOne({ _id: row._id }, { projection: { pending: 1 } });
      if (!seen?.pending) return undefined;
    }
    if (!doc) {
      // Created on its first message, either way, with that message applied (never seen half made).
      const created = this.fresh(e, m, at);
      try {
        await this.inbox.conversations.insertOne(created);
        await this.announce(created, m, true);
        return row._id;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        doc = await this.inbox.conversations.findOne({ instanceId: e.instanceId, chatId: m.chatId });
        if (!doc) throw err;
      }
    }
    const set: Partial<ConversationDoc> = {
      lastMessage: { id: m.id, body: (m.body ?? '').slice(0, 500), fromMe: m.fromMe, timestamp: at },
    };
    if (at > doc.lastActivityAt) set.lastActivityAt = at;
    else delete set.lastMessage; // an older message (history, redelivery out of order) is not the last one
    if (!m.fromMe) {
      if (doc.status === 'resolved' || doc.status === 'snoozed') {
        // The customer's next message reopens a resolved conversation and wakes a snoozed one; a reopened one waits
        // for a new first response.
        Object.assign(set, { status: 'open', snoozedUntil: null, resolvedAt: null, resolvedBy: null });
        if (doc.status === 'resolved') set.firstResponseAt = null;
      }
      if (!doc.waitingSince) set.waitingSince = at;
      await this.inbox.conversations.updateOne({ _id: doc._id }, { $set: set, $inc: { inboundCount: 1 } });
    } else {
      set.waitingSince = null;
      if (doc.waitingSince && !doc.firstResponseAt) {
        set.firstResponseAt = at;
        await this.inbox.activity
          .insertOne({
            _id: `first_response:${e.instanceId}:${m.id}`,
            orgId: e.orgId,
            instanceId: e.instanceId,
            conversationId: doc._id,
            kind: 'first_response',
            memberId,
            at,
            ms: Math.max(0, at.getTime() - new Date(doc.waitingSince).getTime()),
          })
          .catch((err: unknown) => {
            if (!isDuplicateKey(err)) throw err;
          });
      }
      await this.inbox.conversations.updateOne({ _id: doc._id }, { $set: set });
    }
    await this.announce((await this.inbox.conversations.findOne({ _id: doc._id })) ?? doc, m, false);
    return row._id;
  }

  /** Appends the live events of message `m` in conversation `c` (and of the conversation, created or updated). */
  private async announce(c: ConversationDoc, m: MessageData, created: boolean): Promise<void> {
    if (!this.live) return;
    const audience = audienceOf(c);
    const data = created ? await this.createdData(c) : conversationData(c);
    await this.live.append({ type: created ? 'conversation.created' : 'conversation.updated', data, audience });
    await this.live.append({ type: m.fromMe ? 'message.sent' : 'message.new', data: { conversationId: c._id, message: m }, audience });
  }

  /**
   * The data of `c`'s `conversation.created` event: its fields and its `contact` from the book (null: none). The
   * contact is a courtesy to open inboxes: when the book cannot be read it is left out (the list's read has it).
   */
  private async createdData(c: ConversationDoc): Promise<ReturnType<typeof conversationData> & { contact?: ContactSummary | null }> {
    const data = conversationData(c);
    if (!this.contacts) return data;
    try {
      const [listed] = await this.contacts.attach(c.orgId, [c]);
      return { ...data, contact: listed?.contact ?? null };
    } catch (err) {
      this.log?.warn({ err, conversation: c._id }, "reading a new conversation's contact failed");
      return data;
    }
  }

  private async ack(e: InstanceEvent): Promise<void> {
    const a = e.data as { id?: unknown; chatId?: unknown; ack?: unknown } | null;
    if (!this.live || typeof a?.chatId !== 'string' || typeof a.id !== 'string') return;
    const c = await this.inbox.conversations.findOne({ instanceId: e.instanceId, chatId: a.chatId });
    if (!c) return;
    await this.live.append({
      type: 'message.ack',
      data: { conversationId: c._id, message: { id: a.id, ack: a.ack } },
      audience: audienceOf(c),
    });
  }

  /**
   * Wakes snoozed conversations whose `snoozedUntil` has passed (status back to open).
   * @returns how many woke.
   */
  async wakeSnoozed(now = new Date()): Promise<number> {
    const due = await this.inbox.conversations
      .find({ status: 'snoozed', snoozedUntil: { $lte: now } })
      .limit(500)
      .toArray();
    let woke = 0;
    for (const c of due) {
      const r = await this.inbox.conversations.updateOne(
        { _id: c._id, status: 'snoozed', snoozedUntil: c.snoozedUntil },
        { $set: { status: 'open', snoozedUntil: null } },
      );
      if (!r.modifiedCount) continue;
      woke++;
      const doc = { ...c, status: 'open' as const, snoozedUntil: null };
      await this.live
        ?.append({ type: 'conversation.updated', data: conversationData(doc), audience: audienceOf(doc) })
        .catch((err: unknown) => this.log?.warn({ err, conversation: c._id }, 'appending a live event failed'));
    }
    return woke;
  }
}
