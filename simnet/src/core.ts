/**
 * What the network's feature modules (`actions.ts`, `group-admin.ts`, `presence.ts`, `sync.ts`) may use of {@link SimNetwork}'s
 * state and internals: the shared maps, the read side and the delivery primitives.
 */
import type { Account, ChatRecord, Device, Group, SendInput, StoredMessage } from './model.js';
import type { PushEvent, WireMessage } from './protocol.js';
import type { NetworkViews } from './views.js';

export interface NetworkCore {
  readonly accounts: ReadonlyMap<string, Account>;
  readonly groups: Map<string, Group>;
  readonly messages: ReadonlyMap<string, StoredMessage>;
  readonly views: NetworkViews;
  /** Queues `event` for every device of account `phone` (at-least-once, like messages). */
  push(phone: string, event: PushEvent): void;
  /** Sends `event` to the connected devices of account `phone` only (ephemeral: presence). */
  pushLive(phone: string, event: PushEvent): void;
  /** Makes sure account `phone` has chat `chatId` (a new one is pushed with its contact); returns it. */
  ensureChat(phone: string, chatId: string): ChatRecord;
  /** Makes sure account `phone` has seen user `peer` (a new one's contact is pushed). */
  ensurePeer(phone: string, peer: string): void;
  /** Raises recipient `phone`'s state of message `key` to `state` and reports a changed ack to the sender. */
  advance(key: string, phone: string, state: 2 | 3): void;
  /** Sends a message (see `SimNetwork.send`); from device `origin` with `respond` for a device request. */
  send(input: SendInput, origin?: Device, respond?: (message: WireMessage) => void): WireMessage;
}
