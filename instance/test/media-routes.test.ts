/**
 * The media routes against real instance processes on the simulated network and a real MongoDB-wire server: uploads
 * (multipart) and URL sends through the send queue, the bytes streamed back by `GET /v1/messages/:id/media`, received
 * media stored in GridFS, refusals with stable codes that leave nothing stored, the storage quota and its metric, and
 * a queued media send surviving kill -9. What went out is checked on the network's side (the peer's received files'
 * SHA-256).
 */
import http from 'node:http';
import { eventually, freePort, startMongo, type MongoServer } from '@wacloud/testenv';
import { openStore, type Store } from '../src/storage/store.js';
import { loginWithQr, startInstance, startSimnet, type RunningInstance, type RunningSimnet } from './harness.js';
import { GIF, jpeg, oggOpus, PDF, PNG, sha256 } from './media-fixtures.js';

interface Wire {
  id: string;
  chatId: string;
  type: string;
  body: string;
  media?: { mimetype: string; filename?: string; sha256: string };
  location?: { latitude: number; longitude: number; name?: string };
  vcard?: string;
}

let mongo: MongoServer;
let simnet: RunningSimnet;
const running: RunningInstance[] = [];
const stores: Store[] = [];
let files: http.Server;
let filesUrl: string;

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  // A file server on loopback (opened to the SSRF guard by the harness's WEBHOOK_ALLOW_CIDRS=127.0.0.0/8).
  files = http.createServer((req, res) => {
    if (req.url === '/pixel.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
    if (req.url === '/big.jpg') return void res.writeHead(200, { 'content-type': 'image/jpeg' }).end(jpeg(6 * 1024 * 1024));
    if (req.url === '/redirect') return void res.writeHead(302, { location: '/pixel.png' }).end();
    if (req.url === '/slow') return; // never answers
    res.writeHead(404).end('nope');
  });
  const port = await freePort();
  await new Promise<void>((resolve) => files.listen(port, '127.0.0.1', resolve));
  filesUrl = `http://127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(running.map((i) => i.stop()));
  await Promise.allSettled(stores.map((s) => s.close()));
  files?.closeAllConnections();
  await new Promise((resolve) => files?.close(resolve));
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

async function loggedIn(phone: string, env: NodeJS.ProcessEnv = {}) {
  const inst = await startInstance({ mongo, simnetUrl: simnet.url, env: { MEDIA_URL_TIMEOUT_MS: '2000', ...env } });
  running.push(inst);
  const token = await inst.token('rw');
  await loginWithQr(inst, simnet, phone, token);
  const store = await openStore(inst.mongoUri);
  stores.push(store);
  return { inst, token, store };
}

const newPeer = async (phone: string) => void (await simnet.hook('/hooks/accounts', { phone, pushname: `Peer ${phone}` }));
const receivedBy = async (phone: string) => (await simnet.hook<{ messages: Wire[] }>(`/hooks/accounts/${phone}/messages`)).body.messages;
const mediaFiles = (store: Store) => store.connection.db!.collection('media.files').countDocuments();
const mediaChunks = (store: Store) => store.connection.db!.collection('media.chunks').countDocuments();

/** POSTs a multipart form to `/v1/messages/media`. */
async function upload(
  inst: RunningInstance,
  token: string,
  fields: Record<string, string>,
  file?: { data: Buffer; type: string; name: string },
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (file) form.append('file', new Blob([new Uint8Array(file.data)], { type: file.type }), file.name);
  const res = await fetch(`${inst.publicUrl}/v1/messages/media`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...headers },
    body: form,
  });
  return { status: res.status, body: await res.json() };
}

/** GETs a message's media: status, headers and bytes. */
async function download(inst: RunningInstance, token: string, id: string) {
  const res = await fetch(`${inst.publicUrl}/v1/messages/${id}/media`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, headers: res.headers, data: Buffer.from(await res.arrayBuffer()) };
}

describe('one instance', () => {
  const ME = '15550007101';
  const PEER = '15550007102';
  let inst: RunningInstance;
  let token: string;
  let store: Store;

  beforeAll(async () => {
    ({ inst, token, store } = await loggedIn(ME));
    await newPeer(PEER);
  }, 60_000);

  const sentView = (id: string) =>
    eventually(async () => {
      const r = await inst.api('GET', `/v1/messages/${id}`, { token });
      return r.body.status === 'sent' || r.body.status === 'failed' ? r.body : undefined;
    }, 20_000);

  test('an upload is stored, queued (202), sent with the same bytes, and streamed back with its type and length', async () => {
    const photo = jpeg(200_000);
    const res = await upload(
      inst,
      token,
      { to: PEER, type: 'image', caption: 'holiday' },
      { data: photo, type: 'image/jpeg', name: 'beach.jpg' },
    );
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      status: 'queued',
      type: 'image',
      body: 'holiday',
      media: { mimetype: 'image/jpeg', size: photo.length, sha256: sha256(photo) },
    });
    const done = await sentView(res.body.id);
    expect(done).toMatchObject({ status: 'sent', messageId: expect.stringMatching(/^true_/) });
    const onNetwork = (await receivedBy(PEER)).find((m) => m.id.endsWith(done.messageId.split('_')[2]));
    expect(onNetwork).toMatchObject({ type: 'image', body: 'holiday', media: { mimetype: 'image/jpeg', sha256: sha256(photo) } });
    for (const id of [res.body.id, done.messageId]) {
      const got = await download(inst, token, id);
      expect(got.status).toBe(200);
      expect(got.headers.get('content-type')).toBe('image/jpeg');
      expect(got.headers.get('content-length')).toBe(String(photo.length));
      expect(got.headers.get('x-content-type-options')).toBe('nosniff');
      expect(sha256(got.data)).toBe(sha256(photo));
    }
    const stored = await inst.api('GET', `/v1/messages/${done.messageId}`, { token });
    expect(stored.body).toMatchObject({ type: 'image', media: { mimetype: 'image/jpeg', status: 'stored', size: photo.length } });
    // Read with an r token; a w-only token may not.
    const rOnly = await inst.token('r');
    expect((await download(inst, rOnly, done.messageId)).status).toBe(200);
    expect((await download(inst, await inst.token('w'), done.messageId)).status).toBe(403);
    // The file names the message; until it does, the record's fileId finds it (no download from WhatsApp, no copy).
    const files = store.connection.db!.collection('media.files');
    await eventually(async () => (await files.countDocuments({ 'metadata.messageId': done.messageId })) === 1, 10_000);
    const count = await mediaFiles(store);
    await files.updateOne({ 'metadata.messageId': done.messageId }, { $unset: { 'metadata.messageId': '' } });
    const unlinked = await download(inst, token, done.messageId);
    expect(unlinked.status).toBe(200);
    expect(sha256(unlinked.data)).toBe(sha256(photo));
    expect(await mediaFiles(store)).toBe(count);
  });

  test('by URL (one redirect followed), documents keep their name, voice notes, locations and contact cards go out', async () => {
    const byUrl = await inst.api('POST', '/v1/messages/media', { token, body: { to: PEER, type: 'image', url: `${filesUrl}/redirect` } });
    expect(byUrl.status).toBe(202);
    expect(byUrl.body.media).toMatchObject({ mimetype: 'image/png', sha256: sha256(PNG) });
    const doc = await upload(
      inst,
      token,
      { to: PEER, type: 'document', filename: 'offer.pdf' },
      { data: PDF, type: 'application/pdf', name: 'x.pdf' },
    );
    const voice = await upload(inst, token, { to: PEER, type: 'ptt' }, { data: oggOpus(), type: 'audio/ogg', name: 'voice.ogg' });
    const loc = await inst.api('POST', '/v1/messages/location', {
      token,
      body: { to: PEER, latitude: 48.8584, longitude: 2.2945, name: 'Eiffel Tower' },
    });
    const card = await inst.api('POST', '/v1/messages/contact', {
      token,
      body: { to: PEER, contact: { name: 'Ann Example', phone: '15550001111' } },
    });
    for (const r of [doc, voice, loc, card]) expect(r.status).toBe(202);
    const ids = [byUrl.body.id, doc.body.id, voice.body.id, loc.body.id, card.body.id];
    const views = await Promise.all(ids.map(sentView));
    expect(views.map((v) => [v.status, v.type])).toEqual([
      ['sent', 'image'],
      ['sent', 'document'],
      ['sent', 'ptt'],
      ['sent', 'location'],
      ['sent', 'vcard'],
    ]);
    const net = await receivedBy(PEER);
    const onNet = (v: { messageId: string }) => net.find((m) => m.id.endsWith(v.messageId.split('_')[2]!));
    expect(onNet(views[0])?.media?.sha256).toBe(sha256(PNG));
    expect(onNet(views[1])?.media).toMatchObject({ filename: 'offer.pdf', sha256: sha256(PDF) });
    expect(onNet(views[2])).toMatchObject({ type: 'ptt', media: { sha256: sha256(oggOpus()) } });
    expect(onNet(views[3])?.location).toMatchObject({ latitude: 48.8584, longitude: 2.2945, name: 'Eiffel Tower' });
    expect(onNet(views[4])?.vcard).toContain('waid=15550001111');
  });

  test('a received image is stored in GridFS and streamed by GET /v1/messages/:id/media', async () => {
    const photo = jpeg(50_000);
    const { body } = await simnet.hook<{ message: Wire }>('/hooks/send', {
      from: PEER,
      to: ME,
      type: 'image',
      text: 'from the phone',
      media: { data: photo.toString('base64'), mimetype: 'image/jpeg' },
    });
    const id = body.message.id.replace(/^true_/, 'false_').replace(`${ME}@c.us`, `${PEER}@c.us`);
    const stored = await eventually(async () => {
      const r = await inst.api('GET', `/v1/messages/${id}`, { token });
      return r.body.media?.status === 'stored' ? r.body : undefined;
    }, 20_000);
    expect(stored).toMatchObject({ type: 'image', body: 'from the phone', media: { mimetype: 'image/jpeg', size: photo.length } });
    const got = await download(inst, token, id);
    expect(got.status).toBe(200);
    expect(sha256(got.data)).toBe(sha256(photo));
    // A text message has no media; an unknown id is no message.
    const text = await inst.api('POST', '/v1/messages?wait=true', { token, body: { to: PEER, text: 'plain' } });
    expect((await inst.api('GET', `/v1/messages/${text.body.messageId}/media`, { token })).body.error.code).toBe('media_not_found');
    expect((await inst.api('GET', '/v1/messages/false_1@c.us_NOPE/media', { token })).status).toBe(404);
  });

  test('a received image deleted for everyone leaves a tombstone: no media in the record, the stored file removed', async () => {
    const photo = jpeg(40_000);
    const { body } = await simnet.hook<{ message: Wire }>('/hooks/send', {
      from: PEER,
      to: ME,
      type: 'image',
      text: 'oops',
      media: { data: photo.toString('base64'), mimetype: 'image/jpeg' },
    });
    const id = body.message.id.replace(/^true_/, 'false_').replace(`${ME}@c.us`, `${PEER}@c.us`);
    await eventually(async () => {
      const r = await inst.api('GET', `/v1/messages/${id}`, { token });
      return r.body.media?.status === 'stored' ? true : undefined;
    }, 20_000);
    const files = await mediaFiles(store);
    await simnet.hook('/hooks/revoke', { phone: PEER, messageId: body.message.id });
    const tombstone = await eventually(async () => {
      const r = await inst.api('GET', `/v1/messages/${id}`, { token });
      return r.body.type === 'revoked' ? r.body : undefined;
    }, 20_000);
    expect(tombstone.body).toBe('');
    expect(tombstone.media).toBeUndefined();
    expect((await inst.api('GET', `/v1/messages/${id}/media`, { token })).body.error.code).toBe('media_not_found');
    expect(await eventually(async () => ((await mediaFiles(store)) === files - 1 ? true : undefined), 10_000)).toBe(true);
  });

  test('refusals have stable codes and leave nothing stored', async () => {
    const before = [await mediaFiles(store), await mediaChunks(store)];
    const cases: Array<[Promise<{ status: number; body: any }>, number, string]> = [
      [
        upload(inst, token, { to: PEER, type: 'image' }, { data: jpeg(5 * 1024 * 1024 + 1), type: 'image/jpeg', name: 'big.jpg' }),
        413,
        'media_too_large',
      ],
      [upload(inst, token, { to: PEER, type: 'image' }, { data: PNG, type: 'image/jpeg', name: 'fake.jpg' }), 422, 'media_type_mismatch'],
      [
        upload(
          inst,
          token,
          { to: PEER, type: 'image' },
          { data: Buffer.from('garbage bytes '.repeat(50)), type: 'image/png', name: 'x.png' },
        ),
        422,
        'media_corrupt',
      ],
      [
        upload(inst, token, { to: PEER, type: 'image' }, { data: jpeg(4096).subarray(0, 3000), type: 'image/jpeg', name: 'cut.jpg' }),
        422,
        'media_corrupt',
      ],
      [upload(inst, token, { to: PEER, type: 'image' }, { data: GIF, type: 'image/gif', name: 'a.gif' }), 415, 'media_type_unsupported'],
      [upload(inst, token, { to: PEER, type: 'hologram' }, { data: PNG, type: 'image/png', name: 'a.png' }), 400, 'invalid_request'],
      [upload(inst, token, { to: PEER, type: 'image' }), 400, 'media_missing'],
      [
        upload(inst, token, { to: PEER, type: 'sticker', caption: 'no' }, { data: PNG, type: 'image/png', name: 'a.png' }),
        400,
        'invalid_request',
      ],
      [
        inst.api('POST', '/v1/messages/media', { token, body: { to: PEER, type: 'image', url: `${filesUrl}/big.jpg` } }),
        413,
        'media_too_large',
      ],
      [
        inst.api('POST', '/v1/messages/media', { token, body: { to: PEER, type: 'image', url: `${filesUrl}/missing` } }),
        422,
        'media_url_unreachable',
      ],
      [
        inst.api('POST', '/v1/messages/media', { token, body: { to: PEER, type: 'image', url: `${filesUrl}/slow` } }),
        422,
        'media_url_unreachable',
      ],
      [
        inst.api('POST', '/v1/messages/media', {
          token,
          body: { to: PEER, type: 'image', url: `http://127.0.0.1:${await freePort()}/x.png` },
        }),
        422,
        'media_url_unreachable',
      ],
      [
        inst.api('POST', '/v1/messages/media', {
          token,
          body: { to: PEER, type: 'image', url: 'http://169.254.169.254/latest/meta-data' },
        }),
        422,
        'media_url_refused',
      ],
      [
        inst.api('POST', '/v1/messages/media', { token, body: { to: PEER, type: 'image', url: 'http://10.1.2.3/x.png' } }),
        422,
        'media_url_refused',
      ],
      [inst.api('POST', '/v1/messages/location', { token, body: { to: PEER, latitude: 120, longitude: 0 } }), 400, 'invalid_request'],
      [inst.api('POST', '/v1/messages/contact', { token, body: { to: PEER } }), 400, 'invalid_request'],
      // Multipart on a JSON-only route.
      [
        (async () => {
          const form = new FormData();
          form.append('to', PEER);
          const res = await fetch(`${inst.publicUrl}/v1/messages`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}` },
            body: form,
          });
          return { status: res.status, body: await res.json() };
        })(),
        415,
        'unsupported_media_type',
      ],
    ];
    for (const [p, status, code] of cases) {
      const r = await p;
      expect([r.status, r.body.error?.code]).toEqual([status, code]);
    }
    expect([await mediaFiles(store), await mediaChunks(store)]).toEqual(before);
  });

  test("an upload past its type's limit is cut off there, not read to the end (the answer names the type's limit)", async () => {
    const before = await mediaFiles(store);
    const big = await upload(
      inst,
      token,
      { to: PEER, type: 'sticker' },
      { data: jpeg(40 * 1024 * 1024), type: 'image/webp', name: 's.webp' },
    );
    expect([big.status, big.body.error.code, big.body.error.details]).toEqual([
      413,
      'media_too_large',
      { type: 'sticker', maxBytes: 500 * 1024 },
    ]);
    expect(await mediaFiles(store)).toBe(before);
  });

  test('an Idempotency-Key retry of an upload answers the first message and keeps one file', async () => {
    const headers = { 'idempotency-key': `media-${Date.now()}` };
    const file = { data: jpeg(10_000), type: 'image/jpeg', name: 'once.jpg' };
    const first = await upload(inst, token, { to: PEER, type: 'image' }, file, headers);
    const count = await mediaFiles(store);
    const again = await upload(inst, token, { to: PEER, type: 'image' }, file, headers);
    expect([first.status, again.status, again.body.id]).toEqual([202, 202, first.body.id]);
    expect(await mediaFiles(store)).toBe(count);
    const other = await upload(inst, token, { to: PEER, type: 'image' }, { ...file, data: jpeg(10_001) }, headers);
    expect([other.status, other.body.error.code]).toEqual([422, 'idempotency_key_reused']);
    expect(await mediaFiles(store)).toBe(count);
  });
});

test('the storage quota refuses a file past it (507) and is a metric', async () => {
  const { inst, token, store } = await loggedIn('15550007201', { MEDIA_QUOTA_BYTES: '60000' });
  await newPeer('15550007202');
  const first = await upload(inst, token, { to: '15550007202', type: 'image' }, { data: jpeg(40_000), type: 'image/jpeg', name: 'a.jpg' });
  expect(first.status).toBe(202);
  const count = await mediaFiles(store);
  const second = await upload(inst, token, { to: '15550007202', type: 'image' }, { data: jpeg(30_000), type: 'image/jpeg', name: 'b.jpg' });
  expect([second.status, second.body.error.code]).toEqual([507, 'media_quota_exceeded']);
  expect(second.body.error.details).toMatchObject({ quotaBytes: 60_000, usedBytes: 40_000 });
  expect(await mediaFiles(store)).toBe(count);
  const metrics = await (await fetch(`${inst.publicUrl}/metrics`)).text();
  expect(metrics).toMatch(/^wacloud_media_stored_bytes 40000$/m);
  expect(metrics).toMatch(/^wacloud_media_quota_bytes 60000$/m);
  expect(metrics).toMatch(/^wacloud_media_files_total\{direction="out",result="media_quota_exceeded"\} 1$/m);
}, 60_000);

test('a queued media send survives kill -9 and goes out once, with its bytes, after the restart', async () => {
  const ME = '15550007301';
  const PEER = '15550007302';
  const { inst, token } = await loggedIn(ME);
  await newPeer(PEER);
  // The phone goes offline: the session is DISCONNECTED (reconnecting), so sends stay queued.
  await simnet.hook('/hooks/disconnect', { phone: ME, offline: true });
  await eventually(async () => (await inst.api('GET', '/health')).body.session.state !== 'WORKING', 15_000);
  const photo = jpeg(300_000);
  const res = await upload(
    inst,
    token,
    { to: PEER, type: 'image', caption: 'after the crash' },
    { data: photo, type: 'image/jpeg', name: 'p.jpg' },
  );
  expect([res.status, res.body.status]).toEqual([202, 'queued']);
  await inst.kill9();
  await simnet.hook('/hooks/online', { phone: ME });
  const again = await inst.restart();
  running.push(again);
  const done = await eventually(async () => {
    const r = await again.api('GET', `/v1/messages/${res.body.id}`, { token });
    return r.body.status === 'sent' ? r.body : undefined;
  }, 30_000);
  const net = (await receivedBy(PEER)).filter((m) => m.body === 'after the crash');
  expect(net).toHaveLength(1);
  expect(net[0]).toMatchObject({ type: 'image', media: { sha256: sha256(photo) } });
  expect(done.messageId.endsWith(net[0]!.id.split('_')[2]!)).toBe(true);
}, 90_000);

test('with MEDIA_DOWNLOAD=false a received file is fetched on the first GET, then kept', async () => {
  const ME = '15550007401';
  const PEER = '15550007402';
  const { inst, token, store } = await loggedIn(ME, { MEDIA_DOWNLOAD: 'false' });
  await newPeer(PEER);
  const doc = PDF;
  const { body } = await simnet.hook<{ message: Wire }>('/hooks/send', {
    from: PEER,
    to: ME,
    type: 'document',
    media: { data: doc.toString('base64'), mimetype: 'application/pdf', filename: 'terms.pdf' },
  });
  const id = `false_${PEER}@c.us_${body.message.id.split('_')[2]}`;
  const pending = await eventually(async () => (await inst.api('GET', `/v1/messages/${id}`, { token })).body.media?.status, 15_000);
  expect(pending).toBe('pending');
  expect(await mediaFiles(store)).toBe(0);
  const got = await download(inst, token, id);
  expect([got.status, got.headers.get('content-type'), sha256(got.data)]).toEqual([200, 'application/pdf', sha256(doc)]);
  expect(got.headers.get('content-disposition')).toBe(`attachment; filename="terms.pdf"; filename*=UTF-8''terms.pdf`);
  expect((await inst.api('GET', `/v1/messages/${id}`, { token })).body.media).toMatchObject({ status: 'stored', filename: 'terms.pdf' });
  expect(await mediaFiles(store)).toBe(1);
  expect((await download(inst, token, id)).status).toBe(200);
  expect(await mediaFiles(store)).toBe(1);
}, 60_000);

test('an upload a crash left unreferenced is removed at the next start; queued ones stay', async () => {
  const { inst, token, store } = await loggedIn('15550007501');
  await newPeer('15550007502');
  const queued = await upload(inst, token, { to: '15550007502', type: 'image' }, { data: jpeg(5_000), type: 'image/jpeg', name: 'q.jpg' });
  expect(queued.status).toBe(202);
  // A file stored for a request whose record never got written (the process died in between), two hours ago.
  const bucket = new (await import('mongodb')).GridFSBucket(store.connection.db!, { bucketName: 'media' });
  const orphan = bucket.openUploadStream('lost.jpg', { metadata: { direction: 'out', type: 'image', mimetype: 'image/jpeg' } });
  await new Promise((resolve) => orphan.end(jpeg(7_000), () => resolve(undefined)));
  await store.connection.db!.collection('media.files').updateMany({}, { $set: { uploadDate: new Date(Date.now() - 2 * 3600_000) } });
  expect(await mediaFiles(store)).toBe(2);
  await inst.stop();
  const again = await inst.restart();
  running.push(again);
  await eventually(async () => (await mediaFiles(store)) === 1, 15_000);
  expect(await store.connection.db!.collection('media.files').findOne({ _id: orphan.id })).toBeNull();
  expect((await download(again, token, queued.body.id)).status).toBe(200);
}, 60_000);
