/**
 * The inbox's rules (docs/team.md §3, issue 15): who sees which conversation, and who may change it.
 * - A conversation of an instance the member cannot read does not exist for it (404 `conversation_not_found`), nor
 *   does a private one assigned to someone else (owners and admins see every conversation).
 * - Assignment, transfer, status and visibility need `canManageChats` (403 `right_required`); the assignee must be a
 *   member of the organisation (422 `assignee_not_found`) with `canRead` on the instance (422
 *   `assignee_without_access`); `snoozed` needs a future `snoozedUntil` (422 `invalid_snooze`).
 * - Notes need `canRead` only; read markers are per member.
 * Assignment, transfer, status and visibility changes are audited; every change is appended to the live log.
 */
import { randomBytes } from 'node:crypto';
import type { AuthContext } from '../accounts.js';
import type { AuditLog } from '../audit.js';
import { AppError } from '../errors.js';
import type { LiveLog } from '../live/live-log.js';
import { isAdmin, requireRight, rightsOn } from '../orgs/access.js';
import type { ApiStore, MemberDoc } from '../store.js';
import type { ConversationDoc, ConversationStatus, InboxStore, NoteDoc, Visibility } from './store.js';
import { audienceOf, conversationData, conversationView, noteView } from './views.js';

export interface ListQuery {
  instanceId?: string | undefined;
  status?: ConversationStatus | undefined;
  /** `me`, `unassigned`, `any` (default) or a member id. */
  assignee?: string | undefined;
  visibility?: Visibility | undefined;
  unread?: boolean | undefined;
  q?: string | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
}

type Auth = AuthContext;

/** `<lastActivityAt ms>.<id>` of the last item of a page. */
function encodeCursor(c: ConversationDoc): string {
  return `${new Date(c.lastActivityAt).getTime()}.${c._id}`;
}

function decodeCursor(cursor: string): { t: Date; id: string } {
  const m = /^(\d{1,16})\.(cnv_[0-9a-f]{24})$/.exec(cursor);
  if (!m) throw new AppError('invalid_cursor');
  return { t: new Date(Number(m[1])), id: m[2]! };
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class Inbox {
  constructor(
    private readonly store: ApiStore,
    private readonly inbox: InboxStore,
    private readonly audit: AuditLog,
    private readonly live?: LiveLog,
  ) {}

  /** Whether member `auth` may see conversation `c` (see the module comment). */
  static visible(auth: Pick<Auth, 'role' | 'rights' | 'memberId' | 'orgId'>, c: ConversationDoc): boolean {
    if (c.orgId !== auth.orgId) return false;
    if (isAdmin(auth)) return true;
    if (!rightsOn(auth, c.instanceId).canRead) return false;
    return c.visibility === 'public' || c.assigneeId === auth.memberId;
  }

  /**
   * Conversation `id` as member `auth` may see it.
   * @throws AppError `conversation_not_found` (404) when it does not exist for the caller.
   */
  async load(auth: Auth, id: string): Promise<ConversationDoc> {
    const c = await this.inbox.conversations.findOne({ _id: id });
    if (!c || !Inbox.visible(auth, c)) throw new AppError('conversation_not_found');
    return c;
  }

  /** The view of `c` for `auth` (unread count, assignee's name). */
  async view(auth: Auth, c: ConversationDoc) {
    const [read, assignee] = await Promise.all([
      this.inbox.reads.findOne({ _id: `${c._id}:${auth.memberId}` }),
      c.assigneeId ? this.store.members.findOne({ _id: c.assigneeId }) : null,
    ]);
    return conversationView(
      c,
      Math.max(0, c.inboundCount - (read?.inboundCountAtRead ?? 0)),
      assignee ? { id: assignee._id, name: assignee.email } : null,
    );
  }

  /**
   * A page of the conversations `auth` may see, newest activity first.
   * @throws AppError `instance_not_found` (a filter on an instance the caller cannot read), `invalid_cursor`.
   */
  async list(auth: Auth, q: ListQuery): Promise<{ items: Awaited<ReturnType<Inbox['view']>>[]; nextCursor: string | null }> {
    const limit = q.limit ?? 50;
    const and: Record<string, unknown>[] = [{ orgId: auth.orgId }];
    if (q.instanceId) {
      requireRight(auth, q.instanceId, 'canRead');
      and.push({ instanceId: q.instanceId });
    }
    if (!isAdmin(auth)) {
      const readable = Object.entries(auth.rights)
        .filter(([, r]) => r.canRead)
        .map(([id]) => id);
      and.push({ instanceId: { $in: readable } }, { $or: [{ visibility: 'public' }, { assigneeId: auth.memberId }] });
    }
    if (q.status) and.push({ status: q.status });
    if (q.visibility) and.push({ visibility: q.visibility });
    if (q.assignee === 'me') and.push({ assigneeId: auth.memberId });
    else if (q.assignee === 'unassigned') and.push({ assigneeId: null });
    else if (q.assignee && q.assignee !== 'any') and.push({ assigneeId: q.assignee });
    if (q.q) {
      const re = { $regex: escapeRegex(q.q), $options: 'i' };
      and.push({ $or: [{ name: re }, { chatId: re }, { 'lastMessage.body': re }] });
    }
    let after = q.cursor ? decodeCursor(q.cursor) : undefined;
    const items: ConversationDoc[] = [];
    let more = false;
    // Unread is per member (read markers): filtered here, batch by batch.
    for (;;) {
      const page = after
        ? [...and, { $or: [{ lastActivityAt: { $lt: after.t } }, { lastActivityAt: after.t, _id: { $lt: after.id } }] }]
        : and;
      const batch = await this.inbox.conversations
        .find({ $and: page })
        .sort({ lastActivityAt: -1, _id: -1 })
        .limit(limit + 1)
        .toArray();
      let kept = batch.slice(0, limit);
      if (q.unread) {
        const reads = await this.inbox.reads.find({ _id: { $in: kept.map((c) => `${c._id}:${auth.memberId}`) } }).toArray();
        const at = new Map(reads.map((r) => [r._id.slice(0, r._id.indexOf(':')), r.inboundCountAtRead]));
        kept = kept.filter((c) => c.inboundCount > (at.get(c._id) ?? 0));
      }
      for (const c of kept) {
        if (items.length === limit) break;
        items.push(c);
      }
      const exhausted = batch.length <= limit;
      if (items.length === limit) {
        more = !exhausted || (kept.length > 0 && items[items.length - 1] !== kept[kept.length - 1]);
        break;
      }
      if (exhausted) break;
      const last = batch[limit - 1]!;
      after = { t: last.lastActivityAt, id: last._id };
    }
    return {
      items: await Promise.all(items.map((c) => this.view(auth, c))),
      nextCursor: more && items.length ? encodeCursor(items[items.length - 1]!) : null,
    };
  }

  /**
   * Assigns conversation `id` to member `assigneeId` (null: unassigns); a transfer when it had another assignee.
   * @throws AppError `conversation_not_found`, `right_required` (no canManageChats), `assignee_not_found`,
   *   `assignee_without_access`.
   */
  async assign(auth: Auth, id: string, assigneeId: string | null) {
    const c = await this.load(auth, id);
    requireRight(auth, c.instanceId, 'canManageChats');
    let assignee: MemberDoc | null = null;
    if (assigneeId !== null) {
      assignee = await this.store.members.findOne({ _id: assigneeId });
      if (!assignee || assignee.orgId !== auth.orgId) throw new AppError('assignee_not_found');
      if (!rightsOn(assignee, c.instanceId).canRead) throw new AppError('assignee_without_access');
    }
    if (c.assigneeId === assigneeId) return this.view(auth, c);
    await this.inbox.conversations.updateOne({ _id: id }, { $set: { assigneeId } });
    const next = { ...c, assigneeId };
    const action =
      c.assigneeId && assigneeId ? 'conversation.transferred' : assigneeId ? 'conversation.assigned' : 'conversation.unassigned';
    await this.audit.record(
      auth.orgId,
      auth,
      action,
      { type: 'conversation', id },
      { instanceId: c.instanceId, from: c.assigneeId, to: assigneeId },
    );
    await this.publish('conversation.assigned', next, c);
    return this.view(auth, next);
  }

  /**
   * Sets conversation `id`'s status; `snoozed` needs `snoozedUntil` in the future, and only `snoozed` takes one.
   * Resolving records who resolved it (and an `inbox_activity` row).
   * @throws AppError `conversation_not_found`, `right_required`, `invalid_snooze`.
   */
  async setStatus(auth: Auth, id: string, status: ConversationStatus, snoozedUntil?: Date) {
    const c = await this.load(auth, id);
    requireRight(auth, c.instanceId, 'canManageChats');
    if (status === 'snoozed' && !(snoozedUntil && snoozedUntil.getTime() > Date.now()))
      throw new AppError('invalid_snooze', 'Snoozing needs snoozedUntil, a time in the future.');
    if (status !== 'snoozed' && snoozedUntil) throw new AppError('invalid_snooze', 'Only a snoozed conversation takes snoozedUntil.');
    const now = new Date();
    const set: Partial<ConversationDoc> = {
      status,
      snoozedUntil: status === 'snoozed' ? snoozedUntil! : null,
      ...(status === 'resolved' ? { resolvedAt: now, resolvedBy: auth.memberId } : { resolvedAt: null, resolvedBy: null }),
    };
    if (c.status === 'resolved' && status === 'resolved') return this.view(auth, c);
    await this.inbox.conversations.updateOne({ _id: id }, { $set: set });
    const next = { ...c, ...set };
    if (status === 'resolved')
      await this.inbox.activity.insertOne({
        _id: `resolved:${id}:${now.getTime()}:${randomBytes(4).toString('hex')}`,
        orgId: c.orgId,
        instanceId: c.instanceId,
        conversationId: id,
        kind: 'resolved',
        memberId: auth.memberId,
        at: now,
      });
    await this.audit.record(
      auth.orgId,
      auth,
      'conversation.status_changed',
      { type: 'conversation', id },
      {
        instanceId: c.instanceId,
        from: c.status,
        to: status,
        ...(status === 'snoozed' ? { snoozedUntil: snoozedUntil!.toISOString() } : {}),
      },
    );
    await this.publish('conversation.updated', next, c);
    return this.view(auth, next);
  }

  /** @throws AppError `conversation_not_found`, `right_required`. */
  async setVisibility(auth: Auth, id: string, visibility: Visibility) {
    const c = await this.load(auth, id);
    requireRight(auth, c.instanceId, 'canManageChats');
    if (c.visibility === visibility) return this.view(auth, c);
    await this.inbox.conversations.updateOne({ _id: id }, { $set: { visibility } });
    const next = { ...c, visibility };
    await this.audit.record(
      auth.orgId,
      auth,
      'conversation.visibility_changed',
      { type: 'conversation', id },
      {
        instanceId: c.instanceId,
        from: c.visibility,
        to: visibility,
      },
    );
    await this.publish('conversation.updated', next, c);
    return this.view(auth, next);
  }

  /** Adds a private note (never sent to WhatsApp). @throws AppError `conversation_not_found`. */
  async addNote(auth: Auth, id: string, body: string) {
    const c = await this.load(auth, id);
    const note: NoteDoc = {
      _id: `note_${randomBytes(12).toString('hex')}`,
      conversationId: id,
      orgId: c.orgId,
      authorId: auth.memberId,
      authorName: auth.email,
      body,
      createdAt: new Date(),
    };
    await this.inbox.notes.insertOne(note);
    await this.live?.append({ type: 'conversation.note', data: noteView(note), audience: audienceOf(c) });
    return noteView(note);
  }

  /** The notes of conversation `id`, oldest first (at most 500). @throws AppError `conversation_not_found`. */
  async notes(auth: Auth, id: string) {
    await this.load(auth, id);
    const docs = await this.inbox.notes.find({ conversationId: id }).sort({ createdAt: 1, _id: 1 }).limit(500).toArray();
    return { items: docs.map(noteView) };
  }

  /** Marks conversation `id` read for the caller (up to its current inbound count). @throws `conversation_not_found`. */
  async markRead(auth: Auth, id: string) {
    const c = await this.load(auth, id);
    await this.inbox.reads.updateOne(
      { _id: `${id}:${auth.memberId}` },
      { $set: { inboundCountAtRead: c.inboundCount, readAt: new Date() } },
      { upsert: true },
    );
    return this.view(auth, c);
  }

  /**
   * Appends a change of conversation `c` to the live log. A private conversation changing hands (or turning private)
   * is announced to the previous audience too, so the member losing it drops it from its list.
   */
  private async publish(type: 'conversation.assigned' | 'conversation.updated', c: ConversationDoc, before: ConversationDoc) {
    if (!this.live) return;
    const data = conversationData(c);
    const now = audienceOf(c);
    const was = audienceOf(before);
    await this.live.append({ type, data, audience: now });
    // The previous audience learns only that it changed hands (not its content).
    const gone = { id: c._id, instanceId: c.instanceId, visibility: c.visibility, assigneeId: c.assigneeId };
    if (JSON.stringify(was) !== JSON.stringify(now)) await this.live.append({ type, data: gone, audience: was });
  }
}
