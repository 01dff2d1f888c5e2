/**
 * The inbox's handler of instance events (docs/team.md §3): `message.any` creates the conversation of its chat on its
 * first message either way and keeps its activity — an inbound message counts, starts waiting, reopens a resolved
 * conversation and wakes a snoozed one; an outbound one ends the wait and, the first time since creation or reopening,
 * records the first-response time. `message.ack` is relayed to the live socket. Every message appends its
 * `inbox_activity` rows. Idempotent by message: the `inbound`/`outbound` activity row (`_id` from the message id) is
 * inserted first, and a redelivered event whose row exists changes nothing.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { InstanceEvent, InstanceEventHandler } from '../events/instance-events.js';
import type { LiveLog } from '../live/live-log.js';
import { isDuplicateKey } from '../store.js';
import type { ActivityDoc, ConversationDoc, InboxStore } from './store.js';
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

/** A chat's display name until the contacts know better: its number, or the group id. */
function nameOf(chatId: string): string {
  const [user, server] = chatId.split('@');
  return server === 'c.us' ? `+${user}` : chatId;
}

export class InboxEvents {
  constructor(
    private readonly inbox: InboxStore,
    private readonly live: LiveLog | undefined,
    private readonly log?: Logger,
  ) {}

  /** The handler to subscribe to the `InstanceEventBus`. */
  readonly handler: InstanceEventHandler = async (e) => {
    if (e.type === 'message.any' && isMessage(e.data)) await this.message(e, e.data);
    else if (e.type === 'message.ack') await this.ack(e);
  };

  /** The conversation of (instance, chat), created now when missing; `created` tells which. */
  async ensure(
    e: Pick<InstanceEvent, 'orgId' | 'instanceId'>,
    m: MessageData,
    at: Date,
  ): Promise<{ doc: ConversationDoc; created: boolean }> {
    const found = await this.inbox.conversations.findOne({ instanceId: e.instanceId, chatId: m.chatId });
    if (found) return { doc: found, created: false };
    const doc: ConversationDoc = {
      _id: `cnv_${randomBytes(12).toString('hex')}`,
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
      lastMessage: null,
      waitingSince: null,
      firstResponseAt: null,
      inboundCount: 0,
      resolvedAt: null,
      resolvedBy: null,
    };
    try {
      await this.inbox.conversations.insertOne(doc);
      return { doc, created: true };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const again = await this.inbox.conversations.findOne({ instanceId: e.instanceId, chatId: m.chatId });
      if (!again) throw err;
      return { doc: again, created: false };
    }
  }

  private async message(e: InstanceEvent, m: MessageData): Promise<void> {
    if (m.chatId === 'status@broadcast') return;
    const ts = new Date(m.timestamp);
    const at = Number.isNaN(ts.getTime()) ? new Date(e.timestamp) : ts;
    const { doc, created } = await this.ensure(e, m, at);
    const memberId = m.fromMe ? (m.sentBy?.member?.id ?? null) : null;
    const row: ActivityDoc = {
      _id: `${m.fromMe ? 'outbound' : 'inbound'}:${e.instanceId}:${m.id}`,
      orgId: e.orgId,
      instanceId: e.instanceId,
      conversationId: doc._id,
      kind: m.fromMe ? 'outbound' : 'inbound',
      memberId,
      at,
    };
    try {
      await this.inbox.activity.insertOne(row);
    } catch (err) {
      if (isDuplicateKey(err)) return; // seen before: its effects are stored
      throw err;
    }
    const set: Partial<ConversationDoc> = {
      lastMessage: { id: m.id, body: (m.body ?? '').slice(0, 500), fromMe: m.fromMe, timestamp: at },
    };
    if (at > doc.lastActivityAt || created) set.lastActivityAt = at;
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
    const now = (await this.inbox.conversations.findOne({ _id: doc._id })) ?? doc;
    if (!this.live) return;
    const audience = audienceOf(now);
    if (created) await this.live.append({ type: 'conversation.created', data: conversationData(now), audience });
    else await this.live.append({ type: 'conversation.updated', data: conversationData(now), audience });
    await this.live.append({ type: m.fromMe ? 'message.sent' : 'message.new', data: { conversationId: doc._id, message: m }, audience });
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
