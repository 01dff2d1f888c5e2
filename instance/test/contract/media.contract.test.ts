/**
 * Engine contract: media — images, videos, audio, voice notes, documents, stickers, locations and contact cards sent
 * and received, and the download of a received file — the same tests against both engines (see `harness.ts`).
 */
import { buildVcard } from '../../src/engines/engine-media.js';
import { EngineError, type EngineMessage } from '../../src/engines/engine.js';
import { jpeg, mp4, oggOpus, PDF, PNG, sha256, webp } from '../media-fixtures.js';
import { describeEngines } from './harness.js';
import { mediaPeer } from './media-peer.js';
import { keyOf } from './peer.js';

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err instanceof EngineError ? err.code : String(err);
  }
};

describeEngines('media', (ctx) => {
  test("a peer's image arrives with its caption and file facts; downloadMedia gives its bytes", async () => {
    const bob = await ctx.network.newPeer('Bob');
    const photo = jpeg(30_000);
    const { key } = await mediaPeer(ctx, bob).sendMedia({ type: 'image', data: photo, mimetype: 'image/jpeg', caption: 'look at this' });
    const [msg] = await ctx.events.waitFor('message', (m) => m.id === `false_${bob.id}_${key}`);
    expect(msg).toMatchObject({
      chatId: bob.id,
      fromMe: false,
      type: 'image',
      body: 'look at this',
      media: { mimetype: 'image/jpeg', size: photo.length },
    });
    const file = await ctx.engine.downloadMedia(msg);
    expect(file.mimetype).toBe('image/jpeg');
    expect(sha256(file.data)).toBe(sha256(photo));
  });

  test('a peer sends a document, a voice note, a location and a contact card: each arrives typed with its content', async () => {
    const carol = await ctx.network.newPeer('Carol');
    const phone = mediaPeer(ctx, carol);
    const doc = await phone.sendMedia({ type: 'document', data: PDF, mimetype: 'application/pdf', filename: 'offer.pdf' });
    const voice = await phone.sendMedia({ type: 'ptt', data: oggOpus(), mimetype: 'audio/ogg; codecs=opus' });
    const place = await phone.sendLocation({ latitude: 52.52, longitude: 13.405, name: 'Berlin' });
    const vcard = buildVcard('Dora Example', '15550001234');
    const card = await phone.sendContactCard(vcard);
    const byKey = async (k: string) => (await ctx.events.waitFor('message', (m) => keyOf(m.id) === k))[0];
    expect(await byKey(doc.key)).toMatchObject({ type: 'document', media: { mimetype: 'application/pdf', filename: 'offer.pdf' } });
    const ptt = await byKey(voice.key);
    expect(ptt).toMatchObject({ type: 'ptt', media: { mimetype: 'audio/ogg; codecs=opus' } });
    expect(sha256((await ctx.engine.downloadMedia(ptt)).data)).toBe(sha256(oggOpus()));
    expect(await byKey(place.key)).toMatchObject({ type: 'location', location: { latitude: 52.52, longitude: 13.405, name: 'Berlin' } });
    expect(await byKey(card.key)).toMatchObject({ type: 'vcard', vcard, body: vcard });
  });

  test('the account sends every media type: the peer gets the same bytes, type and file name', async () => {
    const dave = await ctx.network.newPeer('Dave');
    const files = [
      { type: 'image' as const, data: PNG, mimetype: 'image/png', caption: 'a pixel' },
      { type: 'video' as const, data: mp4(), mimetype: 'video/mp4', caption: 'a clip' },
      { type: 'audio' as const, data: oggOpus(), mimetype: 'audio/ogg' },
      { type: 'ptt' as const, data: oggOpus(2048), mimetype: 'audio/ogg; codecs=opus' },
      { type: 'document' as const, data: PDF, mimetype: 'application/pdf', filename: 'report.pdf', caption: 'the report' },
      { type: 'sticker' as const, data: webp(), mimetype: 'image/webp' },
    ];
    const sent: EngineMessage[] = [];
    for (const f of files) {
      const m = await ctx.engine.sendMedia(dave.phone, f);
      expect(m).toMatchObject({ chatId: dave.id, fromMe: true, author: ctx.me.id, type: f.type, body: f.caption ?? '' });
      expect(m.media?.mimetype).toBe(f.mimetype);
      sent.push(m);
    }
    const received = await mediaPeer(ctx, dave).received();
    expect(received.map((r) => [r.key, r.type, r.body, r.media?.sha256])).toEqual(
      files.map((f, i) => [keyOf(sent[i]!.id), f.type, f.caption ?? '', sha256(f.data)]),
    );
    expect(received.find((r) => r.type === 'document')?.media?.filename).toBe('report.pdf');
    // Each send is reported once as a fromMe message.
    for (const m of sent) expect(ctx.events.payloads('message').filter((e) => e.id === m.id)).toHaveLength(1);
  });

  test('the account sends a location and a contact card, and may quote with them', async () => {
    const erin = await ctx.network.newPeer('Erin');
    const { key } = await erin.sendText('where are you?');
    const [question] = await ctx.events.waitFor('message', (m) => keyOf(m.id) === key);
    const loc = await ctx.engine.sendLocation(
      erin.phone,
      { latitude: -33.8688, longitude: 151.2093, name: 'Sydney' },
      { quotedMessageId: question.id },
    );
    expect(loc).toMatchObject({
      type: 'location',
      location: { latitude: -33.8688, longitude: 151.2093, name: 'Sydney' },
      quotedMessageId: question.id,
    });
    const vcard = buildVcard('Frank Example', '+1 555 000 9876');
    const card = await ctx.engine.sendContactCard(erin.id, vcard);
    expect(card).toMatchObject({ type: 'vcard', vcard, body: vcard });
    const received = await mediaPeer(ctx, erin).received();
    expect(received.map((r) => r.type)).toEqual(['location', 'vcard']);
    expect(received[0]!.location).toMatchObject({ latitude: -33.8688, longitude: 151.2093, name: 'Sydney' });
    expect(received[1]!.vcard).toBe(vcard);
  });

  test('the account forwards a received image: the copy is a forwarded image with the same file, for the engine and the peer', async () => {
    const hal = await ctx.network.newPeer('Hal');
    const ivy = await ctx.network.newPeer('Ivy');
    const photo = jpeg(20_000);
    const { key } = await mediaPeer(ctx, hal).sendMedia({ type: 'image', data: photo, mimetype: 'image/jpeg', caption: 'pass it on' });
    const [original] = await ctx.events.waitFor('message', (m) => keyOf(m.id) === key);
    const copy = await ctx.engine.forwardMessage(original.id, ivy.phone);
    expect(copy).toMatchObject({
      chatId: ivy.id,
      fromMe: true,
      type: 'image',
      body: 'pass it on',
      isForwarded: true,
      media: { mimetype: 'image/jpeg' },
    });
    expect(sha256((await ctx.engine.downloadMedia(copy)).data)).toBe(sha256(photo));
    const received = await mediaPeer(ctx, ivy).received();
    expect(received).toEqual([expect.objectContaining({ key: keyOf(copy.id), type: 'image', body: 'pass it on' })]);
    expect(received[0]!.media?.sha256).toBe(sha256(photo));
  });

  test('refusals: no media to download, an unknown number, an empty file, coordinates out of range', async () => {
    const gus = await ctx.network.newPeer('Gus');
    const { key } = await gus.sendText('just text');
    const [text] = await ctx.events.waitFor('message', (m) => keyOf(m.id) === key);
    expect(await codeOf(ctx.engine.downloadMedia(text))).toBe('media_not_found');
    expect(await codeOf(ctx.engine.sendMedia('15559999999', { type: 'image', data: PNG, mimetype: 'image/png' }))).toBe(
      'number_not_on_whatsapp',
    );
    expect(await codeOf(ctx.engine.sendMedia(gus.phone, { type: 'image', data: Buffer.alloc(0), mimetype: 'image/png' }))).toBe(
      'invalid_message',
    );
    expect(await codeOf(ctx.engine.sendLocation(gus.phone, { latitude: 91, longitude: 0 }))).toBe('invalid_message');
    expect(await codeOf(ctx.engine.sendContactCard(gus.phone, 'not a vcard'))).toBe('invalid_message');
  });
});
