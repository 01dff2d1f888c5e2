/**
 * The simulated network's media server and media messages over the wire protocol: a bare WebSocket device uploads a
 * file over HTTP, sends a message referencing it, the receiver's device gets the file's facts and downloads the same
 * bytes; invalid content is refused with stable codes.
 */
import { createHash } from 'node:crypto';
import { createSimnetServer, type SimnetServer } from '../src/index.js';
import type { TestDevice } from './device.js';
import { hook, linkedDevice } from './device.js';

const servers: SimnetServer[] = [];
const devices: TestDevice[] = [];
afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

it('a file goes up to the media server, travels as a message, and comes down with the same bytes', async () => {
  const server = await createSimnetServer({ port: 0 });
  servers.push(server);
  const alice = await linkedDevice(server.url, '15550008001');
  const bob = await linkedDevice(server.url, '15550008002');
  devices.push(alice.device, bob.device);
  const file = Buffer.from('%PDF-1.4 a small document');
  const up = await fetch(`${server.url}/media`, { method: 'POST', headers: { 'content-type': 'application/pdf' }, body: file });
  expect(up.status).toBe(201);
  const { id, size } = (await up.json()) as { id: string; size: number };
  expect(size).toBe(file.length);
  const sent = await alice.device.request({
    type: 'send',
    to: '15550008002@c.us',
    key: 'A'.repeat(20),
    body: 'the offer',
    content: { type: 'document', media: { id, mimetype: 'application/pdf', filename: 'offer.pdf' } },
  });
  expect(sent).toMatchObject({
    ok: true,
    result: { message: { type: 'document', body: 'the offer', media: { id, sha256: sha256(file) } } },
  });
  const [got] = await (async () => {
    await bob.device.next('push', (f) => f.event.kind === 'message');
    return bob.device.pushedMessages();
  })();
  expect(got).toMatchObject({ type: 'document', media: { id, mimetype: 'application/pdf', filename: 'offer.pdf', size: file.length } });
  const down = await fetch(`${server.url}/media/${id}`);
  expect([down.status, down.headers.get('content-type')]).toEqual([200, 'application/pdf']);
  expect(sha256(Buffer.from(await down.arrayBuffer()))).toBe(sha256(file));

  // Refusals: an empty upload, an unknown file, a media message without a file, an empty text, a contact card without a vCard.
  expect((await fetch(`${server.url}/media`, { method: 'POST', body: new Uint8Array(0) })).status).toBe(400);
  expect((await fetch(`${server.url}/media/nope`)).status).toBe(404);
  const refuse = async (extra: Record<string, unknown>) =>
    ((await alice.device.request({ type: 'send', to: '15550008002@c.us', key: 'B'.repeat(20), body: '', ...extra } as never)) as any).error
      ?.code;
  expect(await refuse({ content: { type: 'image' } })).toBe('invalid_message');
  expect(await refuse({ content: { type: 'image', media: { id: 'missing', mimetype: 'image/png' } } })).toBe('media_not_found');
  expect(await refuse({})).toBe('invalid_message');
  expect(await refuse({ content: { type: 'vcard', vcard: 'hello' } })).toBe('invalid_message');
  // The phone's hook: a text needs its text.
  expect((await hook(server.url, 'POST', '/send', { from: '15550008002', to: '15550008001', type: 'chat' })).status).toBe(400);
});
