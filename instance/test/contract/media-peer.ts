/**
 * The media side of a {@link Peer}: what a peer's phone does with files, locations and contact cards, and what it
 * received from the account, for both engines — simnet's test hooks (the phone uploads the file to the network's
 * media server) and the webjs stand-in's world (whatsapp-web.js-shaped media messages).
 */
import { createHash } from 'node:crypto';
import wwebjs from 'whatsapp-web.js';
import type { EngineLocation, MediaType } from '../../src/engines/engine-media.js';
import type { EngineContext } from './harness.js';
import { keyOf, SimnetNetwork, type Peer } from './peer.js';
import { StandInNetwork } from './webjs-stand-in/peers.js';

/** A file a peer sends. */
export interface PeerFile {
  type: MediaType;
  data: Buffer;
  mimetype: string;
  filename?: string | undefined;
  caption?: string | undefined;
}

/** A message the peer's phone received from the account, with what it carried. */
export interface PeerContent {
  key: string;
  type: string;
  body: string;
  media?: { mimetype: string; filename?: string | undefined; sha256: string } | undefined;
  location?: { latitude: number; longitude: number; name?: string | undefined } | undefined;
  vcard?: string | undefined;
}

export interface MediaPeer {
  sendMedia(file: PeerFile): Promise<{ key: string }>;
  sendLocation(location: EngineLocation): Promise<{ key: string }>;
  sendContactCard(vcard: string): Promise<{ key: string }>;
  /** The account's messages this peer received in their 1:1 chat, oldest first. */
  received(): Promise<PeerContent[]>;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

interface WireMessage {
  id: string;
  chatId: string;
  type: string;
  body: string;
  media?: { mimetype: string; filename?: string; sha256: string };
  location?: EngineLocation;
  vcard?: string;
}

/** The media side of `peer` on `ctx`'s network. */
export function mediaPeer(ctx: EngineContext, peer: Peer): MediaPeer {
  const meId = ctx.me.id;
  if (ctx.network instanceof SimnetNetwork) {
    const net = ctx.network;
    const send = async (body: Record<string, unknown>) => {
      const { message } = await net.hook<{ message: WireMessage }>('/send', { from: peer.phone, to: ctx.me.phone, ...body });
      return { key: keyOf(message.id) };
    };
    return {
      sendMedia: (f) =>
        send({ type: f.type, text: f.caption, media: { data: f.data.toString('base64'), mimetype: f.mimetype, filename: f.filename } }),
      sendLocation: (location) => send({ type: 'location', location }),
      sendContactCard: (vcard) => send({ type: 'vcard', vcard }),
      received: async () => {
        const { messages } = await net.hook<{ messages: WireMessage[] }>(`/accounts/${peer.phone}/messages`);
        return messages
          .filter((m) => m.chatId === meId)
          .map((m) => ({
            key: keyOf(m.id),
            type: m.type,
            body: m.body,
            media: m.media && { mimetype: m.media.mimetype, filename: m.media.filename, sha256: m.media.sha256 },
            location: m.location,
            vcard: m.vcard,
          }));
      },
    };
  }
  if (!(ctx.network instanceof StandInNetwork)) throw new Error('unknown network');
  const world = ctx.network.world;
  return {
    sendMedia: async (f) => {
      const media = new wwebjs.MessageMedia(f.mimetype, f.data.toString('base64'), f.filename ?? null, f.data.length);
      const msg = world.peerSends(peer.id, f.caption ?? '', { content: { kind: 'media', media, type: f.type, caption: f.caption } });
      return { key: msg.id.id };
    },
    sendLocation: async (l) => {
      const location = new wwebjs.Location(l.latitude, l.longitude, { name: l.name, address: l.address, url: l.url });
      return { key: world.peerSends(peer.id, '', { content: { kind: 'location', location } }).id.id };
    },
    sendContactCard: async (vcard) => ({ key: world.peerSends(peer.id, vcard, { content: { kind: 'vcard', vcard } }).id.id }),
    received: async () =>
      world.sentTo(peer.id).map((m) => {
        const file = world.files.get(m.id._serialized);
        return {
          key: m.id.id,
          type: String(m.type),
          body: m.body,
          media: file && {
            mimetype: file.mimetype,
            filename: file.filename ?? undefined,
            sha256: sha256(Buffer.from(file.data, 'base64')),
          },
          location: m.location && { latitude: Number(m.location.latitude), longitude: Number(m.location.longitude), name: m.location.name },
          vcard: m.vCards?.[0],
        };
      }),
  };
}
