/**
 * Media on the simulated network, shaped like WhatsApp's: a device uploads a file to the media server over HTTP
 * (`POST /media`, raw bytes, Content-Type = the MIME type) and gets an id, then sends a message whose `content`
 * references it; receivers see the message with `media {id, mimetype, filename, size, sha256}` and download the bytes
 * with `GET /media/:id`. Locations and contact cards travel in the message itself. In memory only.
 */
import { createHash, randomUUID } from 'node:crypto';
import express from 'express';
import { SimnetError } from './model.js';
import { MAX_MEDIA_BYTES, MEDIA_CONTENT_TYPES, type MessageContent, type WireLocation, type WireMedia } from './protocol.js';

interface StoredMedia {
  data: Buffer;
  mimetype: string;
  sha256: string;
}

/** What a stored message carries besides its text. */
export interface StoredContent {
  type: string;
  media?: WireMedia;
  location?: WireLocation;
  vcard?: string;
}

export class MediaStore {
  readonly #files = new Map<string, StoredMedia>();

  /** Stores `data` and returns its id. @throws SimnetError `media_too_large` (413), `invalid_media` (400, empty). */
  put(data: Buffer, mimetype: string): { id: string; size: number; sha256: string } {
    if (data.length === 0) throw new SimnetError('invalid_media', 'the media file is empty', 400);
    if (data.length > MAX_MEDIA_BYTES) throw new SimnetError('media_too_large', `media files are at most ${MAX_MEDIA_BYTES} bytes`, 413);
    const id = randomUUID();
    const sha256 = createHash('sha256').update(data).digest('hex');
    this.#files.set(id, { data, mimetype, sha256 });
    return { id, size: data.length, sha256 };
  }

  /** @throws SimnetError `media_not_found` (404). */
  get(id: string): StoredMedia {
    const file = this.#files.get(id);
    if (!file) throw new SimnetError('media_not_found', `no media ${id}`);
    return file;
  }

  /**
   * The stored form of a `send`'s `content` and body: undefined for a text (which must not be empty).
   * @throws SimnetError `invalid_message` (400): an empty text, a media type without a file, a location without
   *   coordinates, a contact card without a vCard; `media_not_found` (404) for a file never uploaded.
   */
  content(content: MessageContent | undefined, body: string): StoredContent | undefined {
    const invalid = (message: string) => new SimnetError('invalid_message', message, 400);
    if (!content) {
      if (body.length === 0) throw invalid('a text message needs a body');
      return undefined;
    }
    if ((MEDIA_CONTENT_TYPES as readonly string[]).includes(content.type)) {
      if (!content.media) throw invalid(`a ${content.type} message needs media`);
      const file = this.get(content.media.id);
      const media: WireMedia = { id: content.media.id, mimetype: content.media.mimetype, size: file.data.length, sha256: file.sha256 };
      if (content.media.filename !== undefined) media.filename = content.media.filename;
      return { type: content.type, media };
    }
    if (content.type === 'location') {
      if (!content.location) throw invalid('a location message needs a location');
      return { type: 'location', location: content.location };
    }
    if (!content.vcard || !/^BEGIN:VCARD/i.test(content.vcard)) throw invalid('a contact card needs a vCard (BEGIN:VCARD …)');
    return { type: 'vcard', vcard: content.vcard };
  }
}

/** The media server's routes, mounted at `SIMNET_MEDIA_PATH`. */
export function mediaRoutes(store: MediaStore): express.Router {
  const router = express.Router();
  router.post('/', express.raw({ type: () => true, limit: MAX_MEDIA_BYTES }), (req, res) => {
    const data = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const mimetype = req.headers['content-type'] ?? 'application/octet-stream';
    res.status(201).json(store.put(data, mimetype));
  });
  router.get('/:id', (req, res) => {
    const file = store.get(req.params.id);
    res.status(200).type(file.mimetype).set('content-length', String(file.data.length)).end(file.data);
  });
  return router;
}
