/**
 * The durable send queue (`POST /v1/messages` → 202): statuses, Idempotency-Key, pacing (rate, per-chat gap, typing),
 * failures with a reason, and exactly-once sending across kill -9. Real instance processes on the simulated network;
 * what went out is counted on the network's side (`GET /hooks/accounts/:phone/sent`).
 */
import WebSocket from 'ws';
import { eventually, startMongo, type MongoServer } from '@wacloud/testenv';
import { openStore } from '../src/storage/store.js';
import { loginWithQr, startInstance, startSimnet, type RunningInstance, type RunningSimnet } from './harness.js';

interface Wire {
  id: string;
  chatId: string;
  body: string;
  timestamp: number;
}

let mongo: MongoServer;
let simnet: RunningSimnet;
const running: RunningInstance[] = [];

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(running.map((i) => i.stop()));
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

/** An instance logged in as `phone` with `env`, and an rw token. */
async function loggedIn(phone: string, env: NodeJS.ProcessEnv = {}): Promise<{ inst: RunningInstance; token: string }> {
  const inst = await startInstance({ mongo, simnetUrl: simnet.url, env });
  running.push(inst);
  const token = await inst.token('rw');
  await loginWithQr(inst, simnet, phone, token);
  return { inst, token };
}

/** What account `phone` sent, as the network recorded it (oldest first). */
async function sentOnNetwork(phone: string): Promise<Wire[]> {
  return (await simnet.hook<{ messages: Wire[] }>(`/hooks/accounts/${phone}/sent`)).body.messages;
}

const peer = (phone: string) => simnet.hook('/hooks/accounts', { phone });

/** Consecutive differences of `times` (ms). */
const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

/**
 * Tolerance of a spacing fact, ms: the network stamps a message when its frame arrives, so one frame delayed more
 * than the next shortens a gap by the difference.
 */
const TOLERANCE_MS = 100;

describe('one instance, unpaced', () => {
  const ME = '15550009101';
  const PEER = '15550009102';
  let inst: RunningInstance;
  let token: string;

  beforeAll(async () => {
    ({ inst, token } = await loggedIn(ME));
    await peer(PEER);
  }, 60_000);

  const send = (body: unknown, headers?: Record<string, string>, query = '') =>
    inst.api('POST', `/v1/messages${query}`, { token, body, ...(headers ? { headers } : {}) });

  test('POST answers 202 with the id and status; queued → sending → sent (live events), then acks; metrics', async () => {
    const ws = new WebSocket(`${inst.publicUrl.replace('http', 'ws')}/v1/events?token=${token}`);
    const events: Array<{ event: string; data: any }> = [];
    ws.on('message', (d) => events.push(JSON.parse(String(d))));
    await new Promise((resolve) => ws.once('open', resolve));
    const res = await send({ to: PEER, text: 'through the queue' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'queued', chatId: `${PEER}@c.us`, body: 'through the queue', fromMe: true });
    expect(res.body.id).toMatch(/^out_[0-9a-f]{32}$/);
    const sent = await eventually(async () => {
      const r = await inst.api('GET', `/v1/messages/${res.body.id}`, { token });
      return r.body.status === 'sent' && r.body.ack >= 2 ? r.body : undefined;
    });
    expect(sent.messageId).toMatch(/^true_/);
    expect(sent.sentBy.tokenName).toBe('rw-token');
    const stored = await inst.api('GET', `/v1/messages/${encodeURIComponent(sent.messageId)}`, { token });
    expect(stored.body).toMatchObject({ body: 'through the queue', fromMe: true, sentBy: { tokenName: 'rw-token' } });
    const statuses = () => events.filter((e) => e.event === 'message.status' && e.data.id === res.body.id).map((e) => e.data.status);
    await eventually(() => statuses().includes('sent'));
    expect(statuses()).toEqual(['queued', 'sending', 'sent']);
    ws.close();
    const metrics = await (await fetch(`${inst.publicUrl}/metrics`)).text();
    expect(metrics).toMatch(/^wacloud_send_queue_depth 0$/m);
    expect(Number(/^wacloud_send_latency_seconds_count (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
  });

  test('the OpenAPI document shows the 202 answer, ?wait and the Idempotency-Key header', async () => {
    const doc = (await (await fetch(`${inst.publicUrl}/openapi.json`)).json()) as any;
    const op = doc.paths['/v1/messages'].post;
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['201', '202', '422']));
    expect(op.parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`)).toEqual(
      expect.arrayContaining(['query:wait', 'header:Idempotency-Key']),
    );
  });

  test('Idempotency-Key: a retry answers with the first message (same id) and it is sent once', async () => {
    const body = { to: PEER, text: 'retried by the client' };
    const key = { 'idempotency-key': 'order-4711-confirmation' };
    const [first, second] = await Promise.all([send(body, key), send(body, key)]);
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(second.body.id).toBe(first.body.id);
    await eventually(async () => (await inst.api('GET', `/v1/messages/${first.body.id}`, { token })).body.status === 'sent');
    const third = await send(body, key);
    expect(third.status).toBe(202);
    expect(third.body).toMatchObject({ id: first.body.id, status: 'sent' });
    // Another token's key is its own.
    const other = await inst.token('w', 'other-client');
    const fromOther = await inst.api('POST', '/v1/messages', { token: other, body, headers: key });
    expect(fromOther.status).toBe(202);
    expect(fromOther.body.id).not.toBe(first.body.id);
    await eventually(async () => (await sentOnNetwork(ME)).filter((m) => m.body === body.text).length === 2);
    await new Promise((r) => setTimeout(r, 500));
    expect((await sentOnNetwork(ME)).filter((m) => m.body === body.text)).toHaveLength(2); // once per token, not three times
  });

  test('the same Idempotency-Key with another message → 422 idempotency_key_reused; a malformed key → 400', async () => {
    const key = { 'idempotency-key': 'reused-key-1' };
    expect((await send({ to: PEER, text: 'first text' }, key)).status).toBe(202);
    const reused = await send({ to: PEER, text: 'another text' }, key);
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('idempotency_key_reused');
    const bad = await send({ to: PEER, text: 'x' }, { 'idempotency-key': 'has space' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
  });

  test('a number not on WhatsApp ends failed with the reason; ?wait=true answers its error, and 201 once sent', async () => {
    const res = await send({ to: '15550009999', text: 'nobody there' });
    expect(res.status).toBe(202);
    const failed = await eventually(async () => {
      const r = await inst.api('GET', `/v1/messages/${res.body.id}`, { token });
      return r.body.status === 'failed' ? r.body : undefined;
    });
    expect(failed.error.code).toBe('number_not_on_whatsapp');
    const waited = await send({ to: '15550009998', text: 'nobody there either' }, undefined, '?wait=true');
    expect(waited.status).toBe(422);
    expect(waited.body.error.code).toBe('number_not_on_whatsapp');
    const ok = await send({ to: PEER, text: 'waited for' }, undefined, '?wait=true');
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ status: 'sent', messageId: expect.stringMatching(/^true_/) });
  });
});

test('unpaced burst over three chats: each chat in order on the network, every record sent once with its message record', async () => {
  const ME = '15550009401';
  const chats = ['15550009402', '15550009403', '15550009404'];
  const { inst, token } = await loggedIn(ME, { SEND_RATE_PER_S: '0', SEND_CHAT_GAP_MS: '0' });
  for (const c of chats) await peer(c);
  // Sent one after another, so each chat's records are queued in this order; the loop goes on to other chats while a
  // sent message's records are written (services/outgoing/sender.ts), a chat waits for its own.
  const ids: Array<{ id: string; chat: string; text: string }> = [];
  for (let i = 0; i < 12; i++) {
    const chat = chats[i % 3]!;
    const text = `burst ${i}`;
    const r = await inst.api('POST', '/v1/messages', { token, body: { to: chat, text } });
    expect(r.status).toBe(202);
    ids.push({ id: r.body.id, chat, text });
  }
  const views = await eventually(async () => {
    const all = await Promise.all(ids.map(({ id }) => inst.api('GET', `/v1/messages/${id}`, { token })));
    return all.every((v) => v.body.status === 'sent') ? all.map((v) => v.body) : undefined;
  }, 30_000);
  const sent = (await sentOnNetwork(ME)).filter((m) => m.body.startsWith('burst '));
  expect(sent.map((m) => m.body).sort()).toEqual(ids.map((x) => x.text).sort());
  for (const chat of chats) {
    const mine = ids.filter((x) => x.chat === chat).map((x) => x.text);
    expect(sent.filter((m) => m.chatId.startsWith(chat)).map((m) => m.body)).toEqual(mine);
    const sentAt = views.filter((_, i) => ids[i]!.chat === chat).map((v) => Date.parse(v.sentAt));
    expect([...sentAt].sort((a, b) => a - b)).toEqual(sentAt);
  }
  const store = await openStore(inst.mongoUri);
  try {
    for (const v of views) {
      expect(await store.col.messages.findOne({ _id: v.messageId })).toMatchObject({
        body: v.body,
        sentBy: { tokenName: expect.any(String) },
      });
    }
  } finally {
    await store.close();
  }
}, 90_000);

test('rate limit: a burst of 10 sends leaves at the configured pace (4/s, burst 1)', async () => {
  const ME = '15550009201';
  const PEER = '15550009202';
  const { inst, token } = await loggedIn(ME, { SEND_RATE_PER_S: '4', SEND_BURST: '1', SEND_JITTER_MS: '0', SEND_CHAT_GAP_MS: '0' });
  await peer(PEER);
  const texts = Array.from({ length: 10 }, (_, i) => `paced ${i}`);
  const answers = await Promise.all(texts.map((text) => inst.api('POST', '/v1/messages', { token, body: { to: PEER, text } })));
  expect(answers.map((a) => a.status)).toEqual(texts.map(() => 202));
  const sent = await eventually(async () => {
    const all = (await sentOnNetwork(ME)).filter((m) => m.body.startsWith('paced '));
    return all.length === 10 ? all : undefined;
  }, 30_000);
  const times = sent.map((m) => m.timestamp).sort((a, b) => a - b);
  for (const gap of gaps(times)) expect(gap).toBeGreaterThanOrEqual(250 - TOLERANCE_MS);
  expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(9 * 250 - TOLERANCE_MS);
}, 90_000);

test('per-chat gap: one chat waits its gap, another chat is not held up by it; typing shown before each send', async () => {
  const ME = '15550009301';
  const [A, B] = ['15550009302', '15550009303'];
  const { inst, token } = await loggedIn(ME, {
    SEND_RATE_PER_S: '0',
    SEND_CHAT_GAP_MS: '800',
    SEND_TYPING_MS_PER_CHAR: '10',
    SEND_TYPING_MAX_MS: '100',
  });
  await peer(A);
  await peer(B);
  for (const [to, text] of [
    [A, 'gap a0'],
    [A, 'gap a1'],
    [A, 'gap a2'],
    [B, 'gap b0'],
    [B, 'gap b1'],
  ] as const) {
    expect((await inst.api('POST', '/v1/messages', { token, body: { to, text } })).status).toBe(202);
  }
  const sent = await eventually(async () => {
    const all = (await sentOnNetwork(ME)).filter((m) => m.body.startsWith('gap '));
    return all.length === 5 ? all : undefined;
  }, 30_000);
  const at = (body: string) => sent.find((m) => m.body === body)!.timestamp;
  for (const g of gaps(['gap a0', 'gap a1', 'gap a2'].map(at))) expect(g).toBeGreaterThanOrEqual(800 - TOLERANCE_MS);
  expect(at('gap b1') - at('gap b0')).toBeGreaterThanOrEqual(800 - TOLERANCE_MS);
  // Chat B did not wait for chat A's queue: its first message went out before A's second.
  expect(at('gap b0')).toBeLessThan(at('gap a1'));
  // The order within each chat is kept.
  expect(at('gap a0')).toBeLessThan(at('gap a1'));
  expect(at('gap a1')).toBeLessThan(at('gap a2'));
  const states = (
    await simnet.hook<{ chatStates: Array<{ chatId: string; state: string; timestamp: number }> }>(`/hooks/accounts/${ME}/chatstates`)
  ).body.chatStates;
  for (const m of sent) {
    expect(states.some((s) => s.chatId === m.chatId && s.state === 'typing' && s.timestamp <= m.timestamp)).toBe(true);
  }
}, 90_000);

describe('exactly once across kill -9', () => {
  test('queued messages survive kill -9 and each is sent exactly once after the restart', async () => {
    const ME = '15550009401';
    const PEER = '15550009402';
    const { inst, token } = await loggedIn(ME, { SEND_RATE_PER_S: '5', SEND_BURST: '1', SEND_JITTER_MS: '0', SEND_CHAT_GAP_MS: '0' });
    await peer(PEER);
    const texts = Array.from({ length: 15 }, (_, i) => `survivor ${i}`);
    const ids: string[] = [];
    for (const text of texts) {
      const r = await inst.api('POST', '/v1/messages', { token, body: { to: PEER, text } });
      expect(r.status).toBe(202);
      ids.push(r.body.id);
    }
    await eventually(async () => (await sentOnNetwork(ME)).filter((m) => m.body.startsWith('survivor ')).length >= 3);
    await inst.kill9();
    const atKill = (await sentOnNetwork(ME)).filter((m) => m.body.startsWith('survivor ')).length;
    expect(atKill).toBeLessThan(texts.length); // some were still queued
    const again = await inst.restart();
    running.push(again);
    await eventually(async () => (await sentOnNetwork(ME)).filter((m) => m.body.startsWith('survivor ')).length >= texts.length, 30_000);
    for (const id of ids) {
      await eventually(async () => (await again.api('GET', `/v1/messages/${id}`, { token })).body.status === 'sent');
    }
    await new Promise((r) => setTimeout(r, 500));
    const bodies = (await sentOnNetwork(ME)).map((m) => m.body).filter((b) => b.startsWith('survivor '));
    expect(bodies.sort()).toEqual([...texts].sort());
  }, 120_000);

  test('a send interrupted after WhatsApp took it is found in the chat history, not sent again; one that never left is sent once', async () => {
    const ME = '15550009501';
    const PEER = '15550009502';
    const { inst, token } = await loggedIn(ME);
    await peer(PEER);
    // The queue knows the token that will have queued them.
    const tokenId = (await inst.api('GET', '/v1/token', { token })).body.id;
    await inst.kill9();
    // What a kill -9 right after the engine call leaves: records in `sending`; one of them had reached WhatsApp.
    const store = await openStore(inst.mongoUri);
    const now = Date.now();
    const record = (id: string, body: string) => ({
      _id: id,
      status: 'sending' as const,
      chatId: `${PEER}@c.us`,
      body,
      sentBy: { tokenId, tokenName: 'rw-token' },
      requestHash: 'x',
      idempotent: false,
      createdAt: new Date(now - 1000),
      updatedAt: new Date(now),
      sendingAt: new Date(now),
      attempts: 1,
    });
    await simnet.hook('/hooks/send', { from: ME, to: PEER, text: 'went out before the kill' });
    await store.col.outgoing.insertMany([
      record(`out_${'a'.repeat(32)}`, 'went out before the kill'),
      record(`out_${'b'.repeat(32)}`, 'never left before the kill'),
    ]);
    await store.close();
    const again = await inst.restart();
    running.push(again);
    for (const id of [`out_${'a'.repeat(32)}`, `out_${'b'.repeat(32)}`]) {
      await eventually(async () => (await again.api('GET', `/v1/messages/${id}`, { token })).body.status === 'sent', 20_000);
    }
    await new Promise((r) => setTimeout(r, 500));
    const bodies = (await sentOnNetwork(ME)).map((m) => m.body);
    expect(bodies.filter((b) => b === 'went out before the kill')).toHaveLength(1);
    expect(bodies.filter((b) => b === 'never left before the kill')).toHaveLength(1);
    const found = (await again.api('GET', `/v1/messages/out_${'a'.repeat(32)}`, { token })).body;
    const original = (await sentOnNetwork(ME)).find((m) => m.body === 'went out before the kill')!;
    expect(found.messageId).toBe(original.id);
  }, 90_000);
});
