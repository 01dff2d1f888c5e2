/** {@link Network} and {@link Peer} over the webjs stand-in's world: peers act on it, the stand-in client hears it. */
import type { ChatState } from '../../../src/engines/engine.js';
import { groupChangeBy, uniquePhone, type GroupChange, type Network, type Peer } from '../peer.js';
import { standInActionPeer, standInGroupNetwork } from './peer-actions.js';
import type { StandInWorld } from './world.js';

export class StandInNetwork implements Network {
  readonly groupAsSeenBy: Network['groupAsSeenBy'];
  readonly peerCreatesGroup: Network['peerCreatesGroup'];

  constructor(readonly world: StandInWorld) {
    ({ groupAsSeenBy: this.groupAsSeenBy, peerCreatesGroup: this.peerCreatesGroup } = standInGroupNetwork(world));
  }

  async newPeer(pushname = 'Peer'): Promise<Peer> {
    const phone = uniquePhone();
    const id = `${phone}@c.us`;
    this.world.addUser(id, pushname);
    return {
      ...standInActionPeer(this.world, id),
      id,
      phone,
      pushname,
      sendText: async (text, options = {}) => ({ key: this.world.peerSends(id, text, options).id.id }),
      read: async () => void this.world.peerReads(id),
      received: async () =>
        this.world.sentTo(id).map((m) => ({
          key: m.id.id,
          body: m.body,
          quotedKey: m.quoted?.id ?? undefined,
          ...(m.isForwarded ? { isForwarded: true } : {}),
        })),
    };
  }

  async createGroup(subject: string, members: Peer[], options: { description?: string; admins?: Peer[] } = {}): Promise<string> {
    return this.world.createGroup(
      subject,
      members.map((m) => m.id),
      {
        ...(options.description === undefined ? {} : { description: options.description }),
        admins: options.admins?.map((p) => p.id) ?? [],
      },
    );
  }

  async updateGroup(actor: Peer, groupId: string, change: GroupChange): Promise<void> {
    this.world.updateGroup(actor.id, groupId, groupChangeBy(change, 'id'));
  }

  async setChatFlags(chatId: string, flags: { archived?: boolean; pinned?: boolean; muted?: boolean }): Promise<void> {
    this.world.setChatFlags(chatId, flags);
  }

  async chatStatesShown(): Promise<Array<{ chatId: string; state: ChatState }>> {
    return this.world.chatStates.map(({ chatId, state }) => ({ chatId, state }));
  }
}
