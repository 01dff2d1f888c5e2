/**
 * Acceptance 1 and 2 (issue #2): two instance processes on the simulated network, each with its own database.
 */
import mongoose from 'mongoose';
import { startMongo, eventually, type MongoServer } from '@wacloud/testenv';
import {
  expectedSignature,
  loginWithQr,
  startInstance,
  startReceiver,
  startSimnet,
  type RunningInstance,
  type RunningSimnet,
  type WebhookReceiver,
} from './harness.js';

const PHONE_A = '15550000001';
const PHONE_B = '15550000002';

let mongo: MongoServer;
let simnet: RunningSimnet;
let a: RunningInstance;
let b: RunningInstance;
let receiver: WebhookReceiver;
const tokens: Record<string, string> = {};
const SECRET = 'b-webhook-secret-0123456789';

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  [a, b] = await Promise.all([startInstance({ mongo, simnetUrl: simnet.url }), startInstance({ mongo, simnetUrl: simnet.url })]);
  receiver = await startReceiver();
  tokens.aW = await a.token('w', 'sender-bot');
  tokens.aR = await a.token('r');
  tokens.aRW = await a.token('rw');
  tokens.bW = await b.token('w');
  tokens.bR = await b.token('r');
  tokens.bRW = await b.token('rw');
  const put = await b.internal('PUT', '/internal/v1/webhook', { url: receiver.url, secret: SECRET, events: ['message'] });
  expect(put.status).toBe(200);
  await loginWithQr(a, simnet, PHONE_A, tokens.aW!);
  await loginWithQr(b, simnet, PHONE_B, tokens.bW!);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop()]);
  await Promise.allSettled([simnet?.stop(), receiver?.close(), mongo?.stop()]);
});

describe('A sends to B through the simulated network', () => {
  let sentId: string;
  const text = `Hello B, the order #4711 ships today ${Date.now()}`;
  const before = new Date(Date.now() - 1000);

  test('POST /v1/messages by phone number returns the stored message with id and ack', async () => {
    const res = await a.api('POST', '/v1/messages?wait=true', { token: tokens.aW, body: { to: PHONE_B, text } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ chatId: `${PHONE_B}@c.us`, fromMe: true, body: text, isGroup: false });
    expect(res.body.ack).toBeGreaterThanOrEqual(1);
    expect(typeof res.body.id).toBe('string');
    sentId = res.body.id;
  });

  test("A's stored record names the sending token", async () => {
    const res = await a.api('GET', `/v1/messages/${encodeURIComponent(sentId)}`, { token: tokens.aR });
    expect(res.status).toBe(200);
    expect(res.body.sentBy).toEqual({ kind: 'token', tokenId: expect.any(String), tokenName: 'sender-bot' });
    const own = await a.api('GET', '/v1/token', { token: tokens.aW });
    expect(res.body.sentBy.tokenId).toBe(own.body.id);
  });

  test('a member named in x-wacloud-member counts only from the main backend gateway token; any other token cannot claim one', async () => {
    const member = Buffer.from(JSON.stringify({ id: 'm_agent', name: 'agent@example.com' })).toString('base64url');
    const gateway = await a.token('rw', 'wacloud-gateway');
    const byGateway = await a.api('POST', '/v1/messages', {
      token: gateway,
      body: { to: PHONE_B, text: 'sent for a member' },
      headers: { 'x-wacloud-member': member },
    });
    expect(byGateway.status).toBe(202);
    expect(byGateway.body.sentBy).toMatchObject({
      kind: 'member',
      tokenName: 'wacloud-gateway',
      member: { id: 'm_agent', name: 'agent@example.com' },
    });
    const forged = await a.api('POST', '/v1/messages', {
      token: tokens.aW,
      body: { to: PHONE_B, text: 'claims to be a member' },
      headers: { 'x-wacloud-member': member },
    });
    expect(forged.status).toBe(202);
    expect(forged.body.sentBy).toEqual({ kind: 'token', tokenId: expect.any(String), tokenName: 'sender-bot' });
    const garbage = await a.api('POST', '/v1/messages', {
      token: gateway,
      body: { to: PHONE_B, text: 'bad header' },
      headers: { 'x-wacloud-member': 'not-json' },
    });
    expect(garbage.body.sentBy.member).toBeUndefined();
    // The gateway's token without a member: the main backend itself.
    expect(garbage.body.sentBy.kind).toBe('system');
  });

  test('a message sent from the phone itself (another linked device) is shown as sent by the phone; incoming ones name no sender', async () => {
    const text = `typed on the phone ${Date.now()}`;
    expect((await simnet.hook('/hooks/send', { from: PHONE_A, to: PHONE_B, text })).status).toBe(201);
    const found = await eventually(async () => {
      const r = await a.api('GET', `/v1/messages?q=${encodeURIComponent(text)}`, { token: tokens.aR });
      return r.body.items[0];
    }, 15_000);
    expect(found).toMatchObject({ fromMe: true, body: text, sentBy: { kind: 'phone' } });
    expect(Object.keys(found.sentBy)).toEqual(['kind']);
    const incoming = await eventually(async () => {
      const r = await b.api('GET', `/v1/messages?q=${encodeURIComponent(text)}`, { token: tokens.bR });
      return r.body.items[0];
    }, 15_000);
    expect(incoming.fromMe).toBe(false);
    expect(incoming.sentBy).toBeUndefined();
  });

  test("B's /v1/messages returns it under each filter", async () => {
    const q = (query: string) => b.api('GET', `/v1/messages?${query}`, { token: tokens.bR });
    const found = (r: { body: { items: Array<{ body: string }> } }) => r.body.items.some((m) => m.body === text);
    await eventually(async () => found(await q('')), 15_000);
    const after = new Date(Date.now() + 60_000);
    const positives = [
      `since=${before.toISOString()}`,
      `until=${after.toISOString()}`,
      `since=${before.getTime()}&until=${after.getTime()}`,
      'q=order%20%234711',
      'q=ORDER',
      `chatId=${PHONE_A}@c.us`,
      `author=${PHONE_A}@c.us`,
      'fromMe=false',
      'isGroup=false',
      `chatId=${PHONE_A}@c.us&fromMe=false&isGroup=false&q=ships&limit=1`,
    ];
    for (const p of positives) {
      const r = await q(p);
      expect([p, r.status]).toEqual([p, 200]);
      expect([p, found(r)]).toEqual([p, true]);
    }
    const negatives = [
      `since=${after.toISOString()}`,
      `until=${before.toISOString()}`,
      'q=nonexistent-words',
      `chatId=15559999999@c.us`,
      'fromMe=true',
      'isGroup=true',
      `author=${PHONE_B}@c.us`,
    ];
    for (const p of negatives) {
      const r = await q(p);
      expect([p, r.status]).toEqual([p, 200]);
      expect([p, found(r)]).toEqual([p, false]);
    }
    const one = await q(`chatId=${PHONE_A}@c.us`);
    const msg = one.body.items.find((m: { body: string }) => m.body === text);
    expect(msg).toMatchObject({ fromMe: false, author: `${PHONE_A}@c.us`, chatId: `${PHONE_A}@c.us` });
    const byId = await b.api('GET', `/v1/messages/${encodeURIComponent(msg.id)}`, { token: tokens.bR });
    expect(byId.body.body).toBe(text);
  });

  test('the sender sees the delivery ack (2) once B received it', async () => {
    await eventually(
      async () => (await a.api('GET', `/v1/messages/${encodeURIComponent(sentId)}`, { token: tokens.aR })).body.ack >= 2,
      15_000,
    );
  });

  test("B's webhook receiver gets the event with a valid HMAC signature", async () => {
    const delivery = await eventually(() => receiver.received.find((r) => r.body?.payload?.body === text), 20_000);
    const ts = delivery.headers['x-wacloud-timestamp'] as string;
    const sig = delivery.headers['x-wacloud-signature'] as string;
    expect(sig).toBe(expectedSignature(SECRET, ts, delivery.rawBody));
    expect(sig).not.toBe(expectedSignature('another-secret-0123456789', ts, delivery.rawBody));
    expect(Math.abs(Date.now() / 1000 - Number(ts))).toBeLessThan(120);
    expect(delivery.headers['x-wacloud-event-id']).toBe(delivery.body.id);
    expect(delivery.body).toMatchObject({ event: 'message', payload: { fromMe: false, author: `${PHONE_A}@c.us` } });
  });

  test('contacts: B knows A; filters and lookup by id work', async () => {
    const list = await eventually(async () => {
      const r = await b.api('GET', `/v1/contacts?q=${PHONE_A.slice(-4)}`, { token: tokens.bR });
      return r.body.items.length > 0 ? r : undefined;
    });
    expect(list.body.items[0]).toMatchObject({ id: `${PHONE_A}@c.us`, isGroup: false });
    const one = await b.api('GET', `/v1/contacts/${PHONE_A}@c.us`, { token: tokens.bR });
    expect(one.status).toBe(200);
    expect(one.body.number).toBe(PHONE_A);
    const groups = await b.api('GET', '/v1/contacts?isGroup=true', { token: tokens.bR });
    expect(groups.body.items.every((c: { isGroup: boolean }) => c.isGroup)).toBe(true);
    const missing = await b.api('GET', '/v1/contacts/15559999999@c.us', { token: tokens.bR });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('contact_not_found');
  });

  test('stats count in and out for today, for r and w tokens', async () => {
    const today = new Date().toISOString().slice(0, 10);
    for (const t of [tokens.aR, tokens.aW]) {
      const s = await a.api('GET', '/v1/stats', { token: t });
      expect(s.status).toBe(200);
      expect(s.body.daily).toHaveLength(30);
      expect(s.body.daily.at(-1)).toMatchObject({ day: today });
      expect(s.body.daily.at(-1).out).toBeGreaterThanOrEqual(1);
      expect(s.body.totals.messagesOut).toBeGreaterThanOrEqual(1);
      expect(s.body.state).toBe('WORKING');
    }
    const sb = await b.api('GET', '/v1/stats', { token: tokens.bR });
    expect(sb.body.totals.messagesIn).toBeGreaterThanOrEqual(1);
    expect(sb.body.totals.chats).toBeGreaterThanOrEqual(1);
  });

  test('cursor pages walk every message once, newest first', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await a.api('POST', '/v1/messages', { token: tokens.aW, body: { to: `${PHONE_B}@c.us`, text: `page test ${i}` } });
      expect(r.status).toBe(202);
    }
    const all = await eventually(async () => {
      const r = await b.api('GET', '/v1/messages?q=page%20test&limit=500', { token: tokens.bR });
      return r.body.items.length === 5 ? r.body.items : undefined;
    });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r: { body: { items: Array<{ id: string }>; nextCursor: string | null } } = await b.api(
        'GET',
        `/v1/messages?q=page%20test&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { token: tokens.bR },
      );
      seen.push(...r.body.items.map((m) => m.id));
      cursor = r.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.map((m: { id: string }) => m.id));
    const times = all.map((m: { timestamp: string }) => Date.parse(m.timestamp));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
  });

  test('screenshot is a PNG', async () => {
    const r = await a.api('GET', '/v1/screenshot', { token: tokens.aR });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/png');
    expect((r.body as Buffer).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });
});

describe('scopes (acceptance 2)', () => {
  test('r cannot send, w cannot read, rw can both', async () => {
    const send = (t?: string) => a.api('POST', '/v1/messages', { token: t, body: { to: PHONE_B, text: 'scope test' } });
    const read = (t?: string) => a.api('GET', '/v1/messages', { token: t });
    const rSend = await send(tokens.aR);
    expect(rSend.status).toBe(403);
    expect(rSend.body.error.code).toBe('forbidden');
    const wRead = await read(tokens.aW);
    expect(wRead.status).toBe(403);
    expect((await read(tokens.aR)).status).toBe(200);
    expect((await send(tokens.aW)).status).toBe(202);
    expect((await send(tokens.aRW)).status).toBe(202);
    expect((await read(tokens.aRW)).status).toBe(200);
    for (const [p, need] of [
      ['/v1/messages/x', 'r'],
      ['/v1/contacts', 'r'],
      ['/v1/screenshot', 'r'],
    ] as const) {
      expect([p, (await a.api('GET', p, { token: tokens.aW })).status, need]).toEqual([p, 403, need]);
    }
    expect((await a.api('GET', '/v1/session/qr', { token: tokens.aR })).status).toBe(403); // the login QR needs w
    expect((await a.api('POST', '/v1/session/logout', { token: tokens.aR })).status).toBe(403);
    expect((await a.api('POST', '/v1/session/login', { token: tokens.aR })).status).toBe(403);
  });

  test('GET /v1/token shows each token its own permissions', async () => {
    for (const [t, p] of [
      [tokens.aR, 'r'],
      [tokens.aW, 'w'],
      [tokens.aRW, 'rw'],
    ] as const) {
      const r = await a.api('GET', '/v1/token', { token: t });
      expect(r.status).toBe(200);
      expect(r.body.permissions).toBe(p);
      expect(JSON.stringify(r.body)).not.toContain(t!.split('_').slice(2).join('_'));
    }
  });

  test('no token, a malformed token and a token of another instance → 401', async () => {
    for (const t of [undefined, 'garbage', tokens.bRW, `${tokens.aRW!.slice(0, -1)}x`]) {
      const r = await a.api('GET', '/v1/messages', { token: t });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('unauthorized');
    }
  });

  test('wrong internal key → 401; internal routes are not served on the public port', async () => {
    const wrong = await a.internal('GET', '/internal/v1/tokens', undefined, 'not-the-internal-key-at-all');
    expect(wrong.status).toBe(401);
    const none = await fetch(`${a.internalUrl}/internal/v1/tokens`);
    expect(none.status).toBe(401);
    for (const [m, p] of [
      ['GET', '/internal/v1/tokens'],
      ['POST', '/internal/v1/tokens'],
      ['GET', '/internal/v1/webhook'],
    ] as const) {
      const withKey = await fetch(`${a.publicUrl}${p}`, { method: m, headers: { authorization: `Bearer ${a.internalKey}` } });
      expect([p, withKey.status]).toEqual([p, 404]);
    }
    const publicOnInternal = await fetch(`${a.internalUrl}/v1/messages`, { headers: { authorization: `Bearer ${tokens.aRW}` } });
    expect(publicOnInternal.status).toBe(404);
  });

  test('permission changes and deletion take effect on the next request; plaintext never listed', async () => {
    const created = await a.internal('POST', '/internal/v1/tokens', { name: 'temp', permissions: 'r' });
    expect(created.status).toBe(201);
    const t = created.body.token as string;
    expect((await a.api('GET', '/v1/messages', { token: t })).status).toBe(200);
    const patched = await a.internal('PATCH', `/internal/v1/tokens/${created.body.id}`, { permissions: 'w' });
    expect(patched.body.permissions).toBe('w');
    expect((await a.api('GET', '/v1/messages', { token: t })).status).toBe(403);
    const list = await a.internal('GET', '/internal/v1/tokens');
    expect(list.body.items.some((x: { id: string }) => x.id === created.body.id)).toBe(true);
    expect(JSON.stringify(list.body)).not.toContain(t);
    expect(JSON.stringify(list.body)).not.toContain('hash');
    const conn = await mongoose.createConnection(a.mongoUri).asPromise();
    const stored = await conn.db!.collection('tokens').findOne({ _id: created.body.id } as never);
    await conn.close();
    expect(JSON.stringify(stored)).not.toContain(t.split('_').slice(2).join('_'));
    expect(stored!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect((await a.internal('DELETE', `/internal/v1/tokens/${created.body.id}`)).status).toBe(204);
    expect((await a.api('GET', '/v1/token', { token: t })).status).toBe(401);
    expect((await a.internal('DELETE', `/internal/v1/tokens/${created.body.id}`)).status).toBe(404);
  });
});
