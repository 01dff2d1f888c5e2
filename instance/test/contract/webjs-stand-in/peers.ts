/** {@link Network} and {@link Peer} over the webjs stand-in's world: peers act on it, the stand-in client hears it. */
import type { ChatState } from '../../../src/engines/engine.js';
import { uniquePhone, type Network, type Peer } from '../peer.js';
import type { StandInWorld } from './world.js';

export class StandInNetwork implements Network {
  constructor(readonly world: StandInWorld) {}

  async newPeer(pushname = 'Peer'): Promise<Peer> {
    const phone = uniquePhone();
    const id = `${phone}@c.us`;
    this.world.addUser(id, pushname);
    return {
      id,
      phone,
      pushname,
      sendText: async (text, options = {}) => ({ key: this.world.peerSends(id, text, options).id.id }),
      read: async () => void this.world.peerReads(id),
      received: async () => this.world.sentTo(id).map((m) => ({ key: m.id.id, body: m.body, quotedKey: m.quoted?.id ?? undefined })),
    };
  }

  async createGroup(subject: string, members: Peer[]): Promise<string> {
    return this.world.createGroup(
      subject,
      members.map((m) => m.id),
    );
  }

  async chatStatesShown(): Promise<Array<{ chatId: string; state: ChatState }>> {
    return this.world.chatStates.map(({ chatId, state }) => ({ chatId, state }));
  }
}
