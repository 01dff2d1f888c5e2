/**
 * Media of the simulated engine, the way a WhatsApp device does it: a file is uploaded to the network's media server
 * over HTTP (`POST <simnet>/media`) and the message references it; a received message's file is downloaded from
 * there (`GET <simnet>/media/:id`, the id kept in the message's `media.ref`). Locations and contact cards travel in
 * the `send` frame itself.
 */
import { randomBytes } from 'node:crypto';
import { MAX_BODY_CHARS, SIMNET_MEDIA_PATH, type MessageContent, type RequestFrame, type WireMessage } from '@wacloud/simnet/protocol';
import type { DownloadedMedia, EngineLocation, OutgoingMedia } from '../engine-media.js';
import { EngineError, toChatId, type EngineMessage, type SendTextOptions } from '../engine.js';

/** A `send` request frame. */
export type SendFrame = Extract<RequestFrame, { type: 'send' }>;

/** Sends a `send` request frame and resolves with the message as sent (emitted as `message` first). */
export type SendMessage = (frame: SendFrame) => Promise<EngineMessage>;

/** Bound of one HTTP exchange with the media server, ms. */
const MEDIA_TIMEOUT_MS = 60_000;

export class SimulatedMedia {
  readonly #base: string;

  /**
   * @param simnetUrl the network's base URL; `requireWorking` throws EngineNotReadyError unless WORKING; `send` is
   *   the engine's send of a `send` frame.
   */
  constructor(
    simnetUrl: string,
    private readonly requireWorking: () => void,
    private readonly send: SendMessage,
  ) {
    this.#base = simnetUrl.replace(/\/+$/, '');
  }

  /** See {@link EngineMedia.sendMedia}. */
  async sendMedia(to: string, media: OutgoingMedia, options: SendTextOptions = {}): Promise<EngineMessage> {
    this.requireWorking();
    if (media.data.length === 0) throw new EngineError('invalid_message', 'the media file is empty');
    const caption = media.caption ?? '';
    if (caption.length > MAX_BODY_CHARS) throw new EngineError('invalid_message', `a caption is at most ${MAX_BODY_CHARS} characters`);
    const uploaded = await this.#upload(media.data, media.mimetype);
    const content: MessageContent = { type: media.type, media: { id: uploaded.id, mimetype: media.mimetype } };
    if (media.filename !== undefined) content.media!.filename = media.filename;
    return this.send(sendFrame(to, caption, content, options));
  }

  /** See {@link EngineMedia.sendLocation}. */
  async sendLocation(to: string, location: EngineLocation, options: SendTextOptions = {}): Promise<EngineMessage> {
    this.requireWorking();
    if (Math.abs(location.latitude) > 90 || Math.abs(location.longitude) > 180) {
      throw new EngineError('invalid_message', 'latitude must be within ±90 and longitude within ±180 degrees');
    }
    const loc: NonNullable<MessageContent['location']> = { latitude: location.latitude, longitude: location.longitude };
    if (location.name !== undefined) loc.name = location.name;
    if (location.address !== undefined) loc.address = location.address;
    if (location.url !== undefined) loc.url = location.url;
    return this.send(sendFrame(to, '', { type: 'location', location: loc }, options));
  }

  /** See {@link EngineMedia.sendContactCard}. */
  async sendContactCard(to: string, vcard: string, options: SendTextOptions = {}): Promise<EngineMessage> {
    this.requireWorking();
    if (!/^BEGIN:VCARD/i.test(vcard) || vcard.length > MAX_BODY_CHARS) throw new EngineError('invalid_message', 'not a vCard');
    return this.send(sendFrame(to, vcard, { type: 'vcard', vcard }, options));
  }

  /** See {@link EngineMedia.downloadMedia}: `GET <simnet>/media/<media.ref>`. */
  async downloadMedia(message: Pick<EngineMessage, 'id' | 'media'>): Promise<DownloadedMedia> {
    this.requireWorking();
    const ref = message.media?.ref;
    if (!ref) throw new EngineError('media_not_found', `message ${message.id} has no media`);
    let res: Response;
    try {
      res = await fetch(`${this.#base}${SIMNET_MEDIA_PATH}/${encodeURIComponent(ref)}`, {
        signal: AbortSignal.timeout(MEDIA_TIMEOUT_MS),
      });
    } catch (err) {
      throw new EngineError('media_download_failed', `the media server did not answer: ${(err as Error).message}`);
    }
    if (res.status === 404) throw new EngineError('media_not_found', `the media of ${message.id} is gone`);
    if (!res.ok) throw new EngineError('media_download_failed', `the media server answered ${res.status}`);
    const data = Buffer.from(await res.arrayBuffer());
    return {
      data,
      mimetype: message.media?.mimetype ?? res.headers.get('content-type') ?? 'application/octet-stream',
      filename: message.media?.filename,
    };
  }

  async #upload(data: Buffer, mimetype: string): Promise<{ id: string }> {
    let res: Response;
    try {
      res = await fetch(`${this.#base}${SIMNET_MEDIA_PATH}`, {
        method: 'POST',
        headers: { 'content-type': mimetype },
        body: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        signal: AbortSignal.timeout(MEDIA_TIMEOUT_MS),
      });
    } catch (err) {
      // Unknown whether it arrived; nothing referenced it yet, so the send is simply not made.
      throw new EngineError('connection_lost', `the media server did not answer: ${(err as Error).message}`);
    }
    if (!res.ok) throw new EngineError('media_upload_failed', `the media server refused the file (${res.status})`);
    return (await res.json()) as { id: string };
  }
}

/** A `send` frame of `body` (and `content`: media, location, vCard) to `to`, with a fresh key; the engine sets `reqId`. */
export function sendFrame(to: string, body: string, content: MessageContent | undefined, options: SendTextOptions): SendFrame {
  const frame: SendFrame = {
    type: 'send',
    reqId: 0, // set by the engine
    to: toChatId(to),
    key: randomBytes(10).toString('hex').toUpperCase(),
    body,
  };
  if (content !== undefined) frame.content = content;
  if (options.quotedMessageId !== undefined) frame.quotedMessageId = options.quotedMessageId;
  return frame;
}

/** A simnet message as the engine reports it: the media server's id becomes the media's `ref`. */
export function withMediaRef(m: WireMessage): EngineMessage {
  if (!m.media) return m;
  const { id, sha256: _sha256, ...media } = m.media;
  return { ...m, media: { ...media, ref: id } };
}
