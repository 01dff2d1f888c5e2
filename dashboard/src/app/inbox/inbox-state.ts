/**
 * The Inbox's pure logic: which conversations a list shows, and how live events (docs/team.md §2–3) change the list
 * and the open conversation's messages without a reload. No Angular, no I/O: unit-tested in inbox-state.spec.ts.
 */
import type { Conversation, ConversationEventData, InboxMessage, InboxTab, LiveFrame, QueuedSend, StatusFilter } from './inbox-models';

/** What the conversation list shows. */
export interface ListFilter {
  tab: InboxTab;
  status: StatusFilter;
  /** Only this instance's conversations; empty for every instance the member may read. */
  instanceId: string;
  /** Search text (the api searches the name, chat id and messages; live updates match name, chat id and last message). */
  q: string;
}

/** Whether conversation `c` belongs in the list `f` of member `meId`. */
export function matches(
  c: Pick<Conversation, 'assigneeId' | 'status' | 'instanceId' | 'name' | 'chatId' | 'lastMessage'>,
  f: ListFilter,
  meId: string | null,
): boolean {
  if (f.tab === 'mine' && (!meId || c.assigneeId !== meId)) return false;
  if (f.tab === 'unassigned' && c.assigneeId !== null) return false;
  if (f.status !== 'any' && c.status !== f.status) return false;
  if (f.instanceId && c.instanceId !== f.instanceId) return false;
  const q = f.q.trim().toLowerCase();
  if (q && ![c.name, c.chatId, c.lastMessage?.body ?? ''].some((s) => (s ?? '').toLowerCase().includes(q))) return false;
  return true;
}

/**
 * Code-unit order of two strings: what ISO 8601 instants and ids need (`localeCompare` would set up the browser's
 * collation data for it, tens of ms on the inbox's first render; issue 18, Lighthouse).
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Newest activity first; ties by id so the order is stable. */
export function sortConversations(list: Conversation[]): Conversation[] {
  return [...list].sort((a, b) => compareText(b.lastActivityAt, a.lastActivityAt) || compareText(a.id, b.id));
}

/**
 * Whether a `conversation.*` event only tells that the conversation left the member's audience (made private,
 * transferred): its data is just `{id, instanceId, visibility, assigneeId}`, to drop it from the list.
 */
export function isDropNotice(data: unknown): boolean {
  const d = data as Record<string, unknown> | null;
  return !!d && typeof d['id'] === 'string' && !('status' in d) && !('conversation' in d);
}

/** The id of the conversation a live frame is about (`conversation.*` and `message.*` frames), else null. */
export function frameConversationId(f: LiveFrame): string | null {
  switch (f.type) {
    case 'conversation.created':
    case 'conversation.updated':
    case 'conversation.assigned':
      return isDropNotice(f.data) ? (f.data as { id: string }).id : (conversationOf(f.data)?.id ?? null);
    case 'message.new':
    case 'message.sent':
    case 'message.ack':
      return typeof f.data.conversationId === 'string' ? f.data.conversationId : null;
    default:
      return null;
  }
}

/** The conversation carried by a `conversation.*` event (as the data itself or under `conversation`). */
export function conversationOf(data: unknown): ConversationEventData | null {
  const d = (data as { conversation?: unknown } | null)?.conversation ?? data;
  const c = d as Partial<ConversationEventData> | null;
  if (!c || typeof c.id !== 'string' || typeof c.instanceId !== 'string') return null;
  return { ...c, assigneeId: c.assigneeId ?? c.assignee?.id ?? null } as ConversationEventData;
}

/** The assignee of `c` with a name: the event's, else the one known for the same id, else from `names` (member id → name). */
function assigneeOf(c: ConversationEventData, old: Conversation | undefined, names: ReadonlyMap<string, string>): Conversation['assignee'] {
  if (c.assignee !== undefined) return c.assignee;
  if (!c.assigneeId) return null;
  if (old?.assignee?.id === c.assigneeId) return old.assignee;
  return { id: c.assigneeId, name: names.get(c.assigneeId) ?? c.assigneeId };
}

/**
 * A conversation from a live event (or an answer) as the list shows it: the assignee named (see `assigneeOf`), the
 * caller's `unread` kept from the list unless given — a conversation new to the list counts its inbound messages —
 * and 0 when it is the open one; its contact from the book: the event's (`conversation.created` carries it), else the
 * list's.
 */
export function completeConversation(
  incoming: ConversationEventData,
  old: Conversation | undefined,
  names: ReadonlyMap<string, string>,
  openId: string | null,
): Conversation {
  const unread = incoming.id === openId ? 0 : (incoming.unread ?? old?.unread ?? incoming.inboundCount ?? 0);
  return { ...old, ...incoming, assignee: assigneeOf(incoming, old, names), unread, contact: incoming.contact ?? old?.contact ?? null };
}

/**
 * Merges a conversation from a live event into the list: replaced or added when it matches the filter, removed when
 * it no longer does (assigned away from "Unassigned", resolved out of "Open").
 */
export function upsertConversation(
  list: Conversation[],
  incoming: ConversationEventData,
  f: ListFilter,
  meId: string | null,
  openId: string | null,
  names: ReadonlyMap<string, string> = new Map(),
): Conversation[] {
  const old = list.find((c) => c.id === incoming.id);
  const rest = list.filter((c) => c.id !== incoming.id);
  if (!matches(incoming, f, meId)) return rest;
  return sortConversations([...rest, completeConversation(incoming, old, names, openId)]);
}

/** The result of a message event on the list: the new list, and whether the conversation was in it. */
export interface MessageApplied {
  list: Conversation[];
  known: boolean;
}

/**
 * A new or sent message moves its conversation to the top with it as the last message; an inbound one counts as unread
 * unless the conversation is open. `known` is false when the conversation is not in the list (the caller fetches it, since it may
 * belong there now, e.g. reopened by this message).
 */
export function applyMessage(list: Conversation[], conversationId: string, m: InboxMessage, openId: string | null): MessageApplied {
  const c = list.find((x) => x.id === conversationId);
  if (!c) return { list, known: false };
  const at = m.timestamp > c.lastActivityAt ? m.timestamp : c.lastActivityAt;
  if (c.lastMessage?.id === m.id) return { list, known: true }; // a redelivery
  const newer = !c.lastMessage || m.timestamp >= c.lastMessage.timestamp;
  const updated: Conversation = {
    ...c,
    lastActivityAt: at,
    lastMessage: newer ? { id: m.id, body: m.body, fromMe: m.fromMe, timestamp: m.timestamp } : c.lastMessage,
    unread: conversationId === openId ? 0 : c.unread + (m.fromMe ? 0 : 1),
  };
  return { list: sortConversations(list.map((x) => (x.id === conversationId ? updated : x))), known: true };
}

/** Whether `m` is a send still in the instance's queue (its id is the queue's `out_…`, not yet WhatsApp's). */
export function isQueued(m: Pick<InboxMessage, 'id'>): boolean {
  return m.id.startsWith('out_');
}

/**
 * Adds a message to the open conversation's messages or replaces the one with its id (oldest first). A sent message
 * replaces the queued send it came from (same text, still `out_…`): the send's answer and the `message.sent` event
 * name it differently. A queued send whose message is already shown (the event came first) is not added.
 */
export function upsertMessage(messages: InboxMessage[], m: InboxMessage): InboxMessage[] {
  let i = messages.findIndex((x) => x.id === m.id);
  if (i < 0 && isQueued(m) && messages.some((x) => x.fromMe && !isQueued(x) && x.body === m.body && x.timestamp >= m.timestamp))
    return messages;
  if (i < 0 && m.fromMe && !isQueued(m)) i = messages.findIndex((x) => isQueued(x) && x.body === m.body);
  if (i >= 0) {
    const next = [...messages];
    next[i] = { ...messages[i], ...m, sentBy: m.sentBy ?? messages[i]!.sentBy };
    return next.sort((a, b) => compareText(a.timestamp, b.timestamp));
  }
  return [...messages, m].sort((a, b) => compareText(a.timestamp, b.timestamp));
}

/** A queued send shown as a message until the sent message replaces it (its WhatsApp id once sent, ack 0 before). */
export function queuedMessage(q: QueuedSend): InboxMessage {
  const m: InboxMessage = {
    id: q.messageId ?? q.id,
    chatId: q.chatId,
    author: '',
    fromMe: true,
    isGroup: q.isGroup,
    type: q.type,
    body: q.body,
    timestamp: q.createdAt,
    ack: q.ack ?? (q.status === 'failed' ? -1 : 0),
  };
  if (q.sentBy) m.sentBy = q.sentBy;
  if (q.quotedMessageId) m.quotedMessageId = q.quotedMessageId;
  return m;
}

/** Sets message `id`'s delivery ack (-1 error, 0 pending, 1 server, 2 device, 3 read, 4 played); unknown ids change nothing. */
export function applyAck(messages: InboxMessage[], id: string, ack: number): InboxMessage[] {
  return messages.some((m) => m.id === id && m.ack !== ack) ? messages.map((m) => (m.id === id ? { ...m, ack } : m)) : messages;
}

/** Adds the older page in front of the messages already shown, without duplicates (oldest first). */
export function prependPage(messages: InboxMessage[], older: InboxMessage[]): InboxMessage[] {
  const seen = new Set(messages.map((m) => m.id));
  return [...older.filter((m) => !seen.has(m.id)), ...messages].sort((a, b) => compareText(a.timestamp, b.timestamp));
}

/** The next item of a list when moving by `delta` with the keyboard (wrapping), or the first when nothing is selected. */
export function moveSelection<T extends string>(ids: readonly T[], current: string | null, delta: number): T | null {
  if (!ids.length) return null;
  const i = current ? ids.indexOf(current as T) : -1;
  if (i < 0) return ids[0]!;
  return ids[(i + delta + ids.length) % ids.length]!;
}

/** A member as the assignment control needs it (GET /v1/members). */
export interface AssignableMember {
  id: string;
  email: string;
  role: 'owner' | 'admin' | 'agent';
  rights: Record<string, { canRead: boolean } | undefined>;
}

/** Members a conversation of `instanceId` can be assigned to: owners, admins, and agents with canRead on it. */
export function eligibleAssignees<M extends AssignableMember>(members: M[], instanceId: string): M[] {
  return members.filter((m) => m.role !== 'agent' || m.rights[instanceId]?.canRead === true);
}
