import type { Conversation, InboxMessage, LiveFrame } from './inbox-models';
import {
  frameConversationId,
  applyAck,
  applyMessage,
  compareText,
  conversationOf,
  eligibleAssignees,
  isDropNotice,
  isQueued,
  matches,
  moveSelection,
  prependPage,
  queuedMessage,
  sortConversations,
  upsertConversation,
  upsertMessage,
  type ListFilter,
} from './inbox-state';

const ME = 'mem_me';
const all: ListFilter = { tab: 'all', status: 'open', instanceId: '', q: '' };

function conv(id: string, over: Partial<Conversation> = {}): Conversation {
  return {
    id,
    instanceId: 'i-a',
    chatId: `${id}@c.us`,
    name: `Customer ${id}`,
    isGroup: false,
    status: 'open',
    assigneeId: null,
    assignee: null,
    visibility: 'public',
    createdAt: '2026-12-01T10:00:00.000Z',
    lastActivityAt: '2026-12-01T10:00:00.000Z',
    lastMessage: { id: `m-${id}`, body: 'hello', fromMe: false, timestamp: '2026-12-01T10:00:00.000Z' },
    snoozedUntil: null,
    waitingSince: null,
    firstResponseAt: null,
    inboundCount: 1,
    resolvedAt: null,
    resolvedBy: null,
    unread: 0,
    contact: null,
    ...over,
  };
}

function msg(id: string, timestamp: string, over: Partial<InboxMessage> = {}): InboxMessage {
  return {
    id,
    chatId: 'c@c.us',
    author: 'c@c.us',
    fromMe: false,
    isGroup: false,
    type: 'chat',
    body: `body ${id}`,
    timestamp,
    ack: 0,
    ...over,
  };
}

describe('inbox list filters', () => {
  it('Mine lists the conversations assigned to me, Unassigned those of nobody, All every one; status, instance and search narrow them', () => {
    const mine = conv('1', { assigneeId: ME, assignee: { id: ME, name: 'me' } });
    const other = conv('2', { assigneeId: 'mem_x', assignee: { id: 'mem_x', name: 'x' } });
    const nobody = conv('3');
    expect([mine, other, nobody].filter((c) => matches(c, { ...all, tab: 'mine' }, ME)).map((c) => c.id)).toEqual(['1']);
    expect([mine, other, nobody].filter((c) => matches(c, { ...all, tab: 'unassigned' }, ME)).map((c) => c.id)).toEqual(['3']);
    expect([mine, other, nobody].filter((c) => matches(c, all, ME))).toHaveLength(3);
    expect(matches(conv('4', { status: 'resolved' }), all, ME)).toBe(false);
    expect(matches(conv('4', { status: 'resolved' }), { ...all, status: 'any' }, ME)).toBe(true);
    expect(matches(conv('5', { instanceId: 'i-b' }), { ...all, instanceId: 'i-a' }, ME)).toBe(false);
    expect(matches(conv('6', { name: 'Maria Souza' }), { ...all, q: 'souza' }, ME)).toBe(true);
    expect(matches(conv('6', { name: 'Maria Souza' }), { ...all, q: 'pedro' }, ME)).toBe(false);
    expect(matches(mine, { ...all, tab: 'mine' }, null)).toBe(false);
  });
});

describe('list order', () => {
  it('orders by code units (ISO instants, ids), newest activity first and ties by id', () => {
    expect(compareText('2026-12-01T10:00:00Z', '2026-12-01T09:59:59Z')).toBe(1);
    expect(compareText('a', 'a')).toBe(0);
    expect(compareText('B', 'a')).toBe(-1); // not the locale's collation, where a < B
    const at = (id: string, lastActivityAt: string) => conv(id, { lastActivityAt });
    const list = [at('a', '2026-12-01T09:00:00Z'), at('c', '2026-12-01T10:00:00Z'), at('B', '2026-12-01T09:00:00Z')];
    expect(sortConversations(list).map((c) => c.id)).toEqual(['c', 'B', 'a']);
  });
});

describe('live conversation events', () => {
  /** A conversation as live events carry it: no caller fields (unread, the assignee's name), no contact. */
  const event = (c: Conversation) => {
    const { unread: _u, assignee: _a, contact: _c, ...data } = c;
    return data;
  };

  it('a new inbound conversation is added on top with its inbound messages unread', () => {
    const list = [conv('old')];
    const created = conv('new', { lastActivityAt: '2026-12-01T11:00:00.000Z', inboundCount: 2 });
    const next = upsertConversation(list, event(created), { ...all, tab: 'unassigned' }, ME, null);
    expect(next.map((c) => c.id)).toEqual(['new', 'old']);
    expect(next[0]).toMatchObject({ unread: 2, assignee: null });
  });

  it('assigning a conversation removes it from Unassigned and adds it to the assignee’s Mine, named, keeping unread', () => {
    const list = [conv('1', { unread: 3 }), conv('2')];
    const assigned = event({ ...conv('1'), assigneeId: ME });
    const names = new Map([[ME, 'ana@example.com']]);
    expect(upsertConversation(list, assigned, { ...all, tab: 'unassigned' }, ME, null, names).map((c) => c.id)).toEqual(['2']);
    const mine = upsertConversation([], assigned, { ...all, tab: 'mine' }, ME, null, names);
    expect(mine).toMatchObject([{ id: '1', assignee: { id: ME, name: 'ana@example.com' } }]);
    const kept = upsertConversation(list, assigned, all, ME, null, names);
    expect(kept.find((c) => c.id === '1')).toMatchObject({ unread: 3, assignee: { id: ME, name: 'ana@example.com' } });
    const unassigned = upsertConversation(kept, event({ ...conv('1'), assigneeId: null }), all, ME, null, names);
    expect(unassigned.find((c) => c.id === '1')!.assignee).toBeNull();
  });

  it('resolving drops it from Open; reopening brings it back; the open conversation is never unread', () => {
    const list = [conv('1')];
    const resolved = conv('1', { status: 'resolved' });
    expect(upsertConversation(list, resolved, all, ME, null)).toEqual([]);
    const reopened = conv('1', { status: 'open', lastActivityAt: '2026-12-01T12:00:00.000Z' });
    expect(upsertConversation([], event(reopened), all, ME, '1')[0]).toMatchObject({ id: '1', unread: 0 });
  });

  it("keeps the conversation's contact from the list when a live event (which has none) updates it", () => {
    const contact = { id: 'ct_1', displayName: 'Ana Souza', tags: [{ id: 'tag_1', name: 'vip', color: '#1e88e5' }] };
    const list = [conv('1', { contact })];
    const next = upsertConversation(list, event({ ...conv('1'), status: 'pending' }), { ...all, status: 'any' }, ME, null);
    expect(next[0]).toMatchObject({ status: 'pending', contact });
  });

  it('tells a drop notice (the conversation left my audience) from a conversation', () => {
    expect(isDropNotice({ id: '1', instanceId: 'i-a', visibility: 'private', assigneeId: 'mem_x' })).toBe(true);
    expect(isDropNotice(event(conv('1')))).toBe(false);
  });

  it('reads the conversation from the event data itself or under `conversation`', () => {
    const c = conv('9');
    expect(conversationOf(c)?.id).toBe('9');
    expect(conversationOf({ conversation: c })?.id).toBe('9');
    expect(conversationOf({ conversationId: '9' })).toBeNull();
    expect(conversationOf({ ...c, assignee: undefined, assigneeId: undefined })).toMatchObject({ assigneeId: null });
  });
});

describe('live message events', () => {
  it('an inbound message moves its conversation to the top as its last message and counts as unread, unless it is open', () => {
    const list = [conv('1', { lastActivityAt: '2026-12-01T11:00:00.000Z' }), conv('2', { unread: 1 })];
    const m = msg('m9', '2026-12-01T12:00:00.000Z', { body: 'any news?' });
    const r = applyMessage(list, '2', m, null);
    expect(r.known).toBe(true);
    expect(r.list.map((c) => c.id)).toEqual(['2', '1']);
    expect(r.list[0]).toMatchObject({
      unread: 2,
      lastActivityAt: m.timestamp,
      lastMessage: { id: 'm9', body: 'any news?', fromMe: false },
    });
    expect(applyMessage(r.list, '2', m, null).list[0]!.unread).toBe(2); // redelivered: counted once
    expect(applyMessage(list, '2', m, '2').list[0]!.unread).toBe(0);
    expect(applyMessage(list, '2', { ...m, fromMe: true }, null).list[0]!.unread).toBe(1);
  });

  it('a message of a conversation not in the list is reported unknown (the page fetches it)', () => {
    const list = [conv('1')];
    const r = applyMessage(list, 'zzz', msg('m1', '2026-12-01T12:00:00.000Z'), null);
    expect(r).toEqual({ list, known: false });
  });

  it('an older message (redelivered) does not replace the last message', () => {
    const list = [
      conv('1', {
        lastActivityAt: '2026-12-01T12:00:00.000Z',
        lastMessage: { id: 'new', body: 'n', fromMe: false, timestamp: '2026-12-01T12:00:00.000Z' },
      }),
    ];
    const r = applyMessage(list, '1', msg('old', '2026-12-01T09:00:00.000Z'), null);
    expect(r.list[0]!.lastMessage!.id).toBe('new');
    expect(r.list[0]!.lastActivityAt).toBe('2026-12-01T12:00:00.000Z');
  });

  it('messages are merged by id in time order; a sent message keeps its sender; acks update in place', () => {
    let l = [msg('a', '2026-12-01T10:00:00.000Z'), msg('c', '2026-12-01T10:02:00.000Z')];
    l = upsertMessage(l, msg('b', '2026-12-01T10:01:00.000Z'));
    expect(l.map((m) => m.id)).toEqual(['a', 'b', 'c']);
    const sent = msg('d', '2026-12-01T10:03:00.000Z', {
      fromMe: true,
      sentBy: { kind: 'member' as const, tokenId: 't', tokenName: 'dashboard', member: { id: ME, name: 'ana' } },
    });
    l = upsertMessage(l, sent);
    l = upsertMessage(l, { ...sent, sentBy: undefined, ack: 1 });
    expect(l.at(-1)).toMatchObject({ id: 'd', ack: 1, sentBy: { member: { name: 'ana' } } });
    l = applyAck(l, 'd', 3);
    expect(l.at(-1)!.ack).toBe(3);
    expect(applyAck(l, 'nope', 3)).toBe(l);
    expect(upsertMessage(l, msg('a', '2026-12-01T10:00:00.000Z'))).toHaveLength(4);
  });

  it('the sent message replaces its queued send (out_… id), whichever arrives first, and never twice', () => {
    const member = { kind: 'member' as const, tokenId: 't', tokenName: 'dashboard', member: { id: ME, name: 'ana' } };
    const queued = queuedMessage({
      id: 'out_1',
      status: 'queued',
      chatId: 'c@c.us',
      fromMe: true,
      isGroup: false,
      type: 'chat',
      body: 'on its way',
      sentBy: member,
      createdAt: '2026-12-01T10:05:00.000Z',
    });
    const sent = msg('WA1', '2026-12-01T10:05:01.000Z', { fromMe: true, body: 'on its way', ack: 1 });
    const before = [msg('a', '2026-12-01T10:00:00.000Z')];
    const answerFirst = upsertMessage(upsertMessage(before, queued), sent);
    expect(answerFirst.map((m) => m.id)).toEqual(['a', 'WA1']);
    expect(answerFirst[1]).toMatchObject({ ack: 1, sentBy: { member: { name: 'ana' } } });
    const eventFirst = upsertMessage(upsertMessage(before, sent), queued);
    expect(eventFirst.map((m) => m.id)).toEqual(['a', 'WA1']);
    expect(isQueued(queued) && !isQueued(sent)).toBe(true);
  });

  it('an older page goes in front without duplicates', () => {
    const l = [msg('b', '2026-12-01T10:01:00.000Z'), msg('c', '2026-12-01T10:02:00.000Z')];
    expect(prependPage(l, [msg('b', '2026-12-01T10:01:00.000Z'), msg('a', '2026-12-01T10:00:00.000Z')]).map((m) => m.id)).toEqual([
      'a',
      'b',
      'c',
    ]);
  });
});

describe('keyboard and assignment helpers', () => {
  it('moves through the list with wrapping, starting at the first', () => {
    expect(moveSelection(['a', 'b', 'c'], null, 1)).toBe('a');
    expect(moveSelection(['a', 'b', 'c'], 'a', 1)).toBe('b');
    expect(moveSelection(['a', 'b', 'c'], 'a', -1)).toBe('c');
    expect(moveSelection(['a', 'b', 'c'], 'c', 1)).toBe('a');
    expect(moveSelection([], 'a', 1)).toBeNull();
  });

  it('offers owners, admins and the agents who can read the instance as assignees', () => {
    const members = [
      { id: 'o', email: 'o@x', role: 'owner' as const, rights: {} },
      { id: 'a1', email: 'a1@x', role: 'agent' as const, rights: { 'i-a': { canRead: true } } },
      { id: 'a2', email: 'a2@x', role: 'agent' as const, rights: { 'i-b': { canRead: true } } },
    ];
    expect(eligibleAssignees(members, 'i-a').map((m) => m.id)).toEqual(['o', 'a1']);
  });
});

describe('frameConversationId', () => {
  const at = '2026-12-02T10:00:00Z';
  it('names the conversation of conversation and message frames (a drop notice too), null for the others', () => {
    const frames: LiveFrame[] = [
      { id: 1, type: 'conversation.created', data: conv('c1'), at },
      { id: 2, type: 'conversation.updated', data: { id: 'c2' } as never, at }, // a drop notice: only its id
      { id: 3, type: 'message.new', data: { conversationId: 'c3', message: msg('m', 'x') }, at },
      { id: 4, type: 'message.ack', data: { conversationId: 'c4', message: { id: 'm', ack: 2 } }, at },
      { id: 5, type: 'contact.updated', data: { id: 'k' }, at },
      { id: 6, type: 'ready', data: null, at },
    ];
    expect(frames.map(frameConversationId)).toEqual(['c1', 'c2', 'c3', 'c4', null, null]);
  });
});
