/**
 * Message actions and presence through the instance's public API, on a real instance process, MongoDB-wire server and
 * simulated network: reply and forward through the send queue; react, edit, delete for everyone; a peer's reactions,
 * edits and revokes stored (editedAt, tombstone) and sent as webhooks and live events; bad input refused with stable
 * codes and nothing stored.
 */
import WebSocket from 'ws';
import { eventually } from '@wacloud/testenv';
import { loginWithQr, startReceiver, withInstanceOnSimnet, type WebhookReceiver } from './harness.js';

const ME = '15557310001';
const BOB = '15557310002';
const CAROL = '15557310003';
const [meId, bobId, carolId] = [ME, BOB, CAROL].map((p) => `${p}@c.us`);

const env = withInstanceOnSimnet();
let receiver: WebhookReceiver;
let w: string;
let r: string;
let ws: WebSocket;
const live: Array<{ event: string; data: any }> = [];

beforeAll(async () => {
  w = await env.inst.token('w');
  r = await env.inst.token('r');
  receiver = await startReceiver();
  const events = ['message.reaction', 'message.edit', 'message.revoked', 'presence'];
  expect(
    (await env.inst.internal('PUT', '/internal/v1/webhook', { url: receiver.url, secret: 'actions-webhook-secret-0123', events })).status,
  ).toBe(200);
  for (const phone of [BOB, CAROL]) await env.simnet.hook('/hooks/accounts', { phone, pushname: `User ${phone}` });
  await loginWithQr(env.inst, env.simnet, ME, w);
  ws = new WebSocket(`${env.inst.publicUrl.replace('http', 'ws')}/v1/events?token=${r}`);
  ws.on('message', (d) => live.push(JSON.parse(d.toString())));
  await new Promise((resolve) => ws.once('open', resolve));
}, 60_000);

afterAll(async () => {
  ws?.close();
  await receiver?.close();
});

const api = (method: string, p: string, body?: unknown, token = w) => env.inst.api(method, p, { token, body });
const msgPath = (id: string) => `/v1/messages/${encodeURIComponent(id)}`;
const hooked = (event: string, id: string) => receiver.received.filter((d) => d.body.event === event && d.body.payload.messageId === id);

/** A text from a peer's phone, once the instance stored it; resolves with its id. */
async function fromPeer(phone: string, text: string): Promise<string> {
  await env.simnet.hook('/hooks/send', { from: phone, to: ME, text });
  return eventually(async () => {
    const res = await api('GET', `/v1/messages?chatId=${phone}@c.us&q=${encodeURIComponent(text)}`, undefined, r);
    return res.body.items?.[0]?.id as string | undefined;
  });
}

/** A text sent through the API and stored; resolves with its WhatsApp id. */
async function sent(to: string, text: string): Promise<string> {
  const res = await api('POST', '/v1/messages?wait=true', { to, text });
  expect(res.status).toBe(201);
  return res.body.messageId;
}

test('reply and forward go through the send queue: sent once, stored, the peers see the quote and the forward', async () => {
  const question = await fromPeer(BOB, 'which colour?');
  const reply = await api('POST', `${msgPath(question)}/reply?wait=true`, { text: 'blue' });
  expect(reply.status).toBe(201);
  expect(reply.body).toMatchObject({
    status: 'sent',
    chatId: bobId,
    body: 'blue',
    quotedMessageId: question,
    id: expect.stringMatching(/^out_/),
  });
  const stored = await api('GET', msgPath(reply.body.messageId), undefined, r);
  expect(stored.body).toMatchObject({ chatId: bobId, body: 'blue', quotedMessageId: question, fromMe: true });
  const bobSees = await env.simnet.hook<{ messages: any[] }>(`/hooks/accounts/${BOB}/messages`);
  expect(bobSees.body.messages.find((m) => m.body === 'blue').quotedMessageId).toMatch(/_/);

  const fwd = await api('POST', `${msgPath(question)}/forward?wait=true`, { to: CAROL });
  expect(fwd.status).toBe(201);
  expect(fwd.body).toMatchObject({ status: 'sent', chatId: carolId, body: 'which colour?', forwardOf: question });
  expect((await api('GET', msgPath(fwd.body.messageId), undefined, r)).body).toMatchObject({ chatId: carolId, isForwarded: true });
  const carolSees = await env.simnet.hook<{ messages: any[] }>(`/hooks/accounts/${CAROL}/messages`);
  expect(carolSees.body.messages.filter((m) => m.body === 'which colour?')).toEqual([expect.objectContaining({ isForwarded: true })]);
});

test('react, edit and delete for everyone: stored at once, announced once (the echo is not a second event)', async () => {
  const id = await sent(BOB, 'meet at 5');
  const reacted = await api('POST', `${msgPath(id)}/reaction`, { reaction: '👍' });
  expect(reacted.status).toBe(200);
  expect(reacted.body.reactions).toEqual([{ sender: meId, reaction: '👍', timestamp: expect.any(String) }]);
  const edited = await api('PATCH', msgPath(id), { text: 'meet at 6' });
  expect(edited.status).toBe(200);
  expect(edited.body).toMatchObject({ body: 'meet at 6', editedAt: expect.any(String) });
  const revoked = await api('DELETE', msgPath(id));
  expect(revoked.status).toBe(200);
  expect(revoked.body).toMatchObject({ id, type: 'revoked', body: '', revokedAt: expect.any(String) });
  expect(revoked.body.reactions).toBeUndefined();
  expect((await api('GET', msgPath(id), undefined, r)).body).toMatchObject({ type: 'revoked', body: '', editedAt: expect.any(String) });

  const bobSees = await env.simnet.hook<{ message: any }>(`/hooks/accounts/${BOB}/messages/${encodeURIComponent(id)}`);
  expect(bobSees.body.message).toMatchObject({ type: 'revoked', body: '' });
  await eventually(() => hooked('message.revoked', id).length === 1 && hooked('message.edit', id).length === 1);
  expect(hooked('message.reaction', id)).toHaveLength(1);
  expect(hooked('message.edit', id)[0]!.body.payload).toMatchObject({ body: 'meet at 6', author: meId, chatId: bobId });
  await new Promise((resolve) => setTimeout(resolve, 300)); // room for a (wrong) second delivery of the echo
  expect(hooked('message.edit', id)).toHaveLength(1);
  for (const event of ['message.reaction', 'message.edit', 'message.revoked']) {
    expect(live.filter((e) => e.event === event && e.data.messageId === id)).toHaveLength(1);
  }
});

test("a peer's reaction, edit and revoke are stored (editedAt, a tombstone) and sent as webhooks and live events", async () => {
  const mine = await sent(CAROL, 'do you like it?');
  await env.simnet.hook('/hooks/react', { phone: CAROL, messageId: mine, reaction: '❤️' });
  await eventually(async () => (await api('GET', msgPath(mine), undefined, r)).body.reactions?.[0]?.sender === carolId);
  await eventually(() => hooked('message.reaction', mine).length === 1);
  expect(hooked('message.reaction', mine)[0]!.body.payload).toMatchObject({ sender: carolId, reaction: '❤️', fromMe: false });

  const theirs = await fromPeer(CAROL, 'sea you soon');
  await env.simnet.hook('/hooks/edit', { phone: CAROL, messageId: theirs, text: 'see you soon' });
  await eventually(async () => (await api('GET', msgPath(theirs), undefined, r)).body.body === 'see you soon');
  expect((await api('GET', msgPath(theirs), undefined, r)).body.editedAt).toEqual(expect.any(String));
  await env.simnet.hook('/hooks/revoke', { phone: CAROL, messageId: theirs });
  await eventually(async () => (await api('GET', msgPath(theirs), undefined, r)).body.type === 'revoked');
  expect((await api('GET', msgPath(theirs), undefined, r)).body).toMatchObject({ id: theirs, body: '', revokedAt: expect.any(String) });
  await eventually(() => hooked('message.edit', theirs).length === 1 && hooked('message.revoked', theirs).length === 1);
  await eventually(() => live.some((e) => e.event === 'message.edit' && e.data.messageId === theirs && e.data.body === 'see you soon'));
});

test('bad input: 4xx with stable codes, and nothing stored', async () => {
  const missing = `true_${bobId}_ABCDEF0123456789ABCD`;
  expect((await api('POST', `${msgPath(missing)}/reaction`, { reaction: '👍' })).body.error.code).toBe('message_not_found');
  expect((await api('POST', `${msgPath(missing)}/reply`, { text: 'hi' })).status).toBe(404);
  expect((await api('POST', `${msgPath(missing)}/forward`, { to: CAROL })).status).toBe(404);
  expect((await api('PATCH', msgPath(missing), { text: 'x' })).status).toBe(404);

  const theirs = await fromPeer(BOB, 'my words');
  const edit = await api('PATCH', msgPath(theirs), { text: 'your words' });
  expect([edit.status, edit.body.error.code]).toEqual([403, 'not_own_message']);
  expect((await api('DELETE', msgPath(theirs))).body.error.code).toBe('not_own_message');
  expect((await api('POST', `${msgPath(theirs)}/reaction`, { reaction: 'nice' })).body.error.code).toBe('invalid_request');
  expect((await api('POST', `${msgPath(theirs)}/reaction`, { reaction: '👍' }, r)).status).toBe(403);
  const after = await api('GET', msgPath(theirs), undefined, r);
  expect(after.body).toMatchObject({ body: 'my words' });
  expect(after.body.reactions).toBeUndefined();
  expect(after.body.editedAt).toBeUndefined();

  const gone = await sent(BOB, 'oops');
  await api('DELETE', msgPath(gone));
  for (const res of [
    await api('PATCH', msgPath(gone), { text: 'back' }),
    await api('POST', `${msgPath(gone)}/reaction`, { reaction: '👍' }),
    await api('POST', `${msgPath(gone)}/forward`, { to: CAROL }),
    await api('DELETE', msgPath(gone)),
  ]) {
    expect([res.status, res.body.error.code]).toEqual([409, 'message_revoked']);
  }
});

test("presence: typing / recording shown in a chat (w); a peer's typing arrives as a webhook and a live event", async () => {
  const shown = await api('POST', `/v1/chats/${bobId}/presence`, { state: 'recording' });
  expect(shown.status).toBe(200);
  expect(shown.body).toEqual({ chatId: bobId, state: 'recording' });
  const states = await env.simnet.hook<{ chatStates: any[] }>(`/hooks/accounts/${ME}/chatstates`);
  expect(states.body.chatStates.at(-1)).toMatchObject({ chatId: bobId, state: 'recording' });
  expect((await api('POST', '/v1/chats/19999999999@c.us/presence', { state: 'typing' })).body.error.code).toBe('number_not_on_whatsapp');
  expect((await api('POST', `/v1/chats/${bobId}/presence`, { state: 'dancing' })).status).toBe(400);
  expect((await api('POST', `/v1/chats/${bobId}/presence`, { state: 'typing' }, r)).status).toBe(403);

  await env.simnet.hook('/hooks/presence', { phone: BOB, chatId: ME, state: 'typing' });
  await eventually(() => receiver.received.some((d) => d.body.event === 'presence' && d.body.payload.participant === bobId));
  await eventually(() => live.some((e) => e.event === 'presence' && e.data.participant === bobId && e.data.state === 'typing'));
});
