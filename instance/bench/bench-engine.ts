/**
 * A minimal in-process engine for the ingestion benchmark: an EventEmitter that satisfies the `Engine` interface
 * enough for the event recorder (always WORKING, logged in as {@link OWN_ID}). The benchmark emits `message` events on it
 * directly; every action method is inert or refuses, as nothing in the ingestion path calls them.
 */
import { EventEmitter } from 'node:events';
import {
  EngineError,
  type Engine,
  type EngineAccount,
  type EngineChat,
  type EngineContact,
  type EngineEvents,
  type EngineMessage,
  type SessionState,
} from '@wacloud/instance/engines/engine';
import type { DownloadedMedia, EngineLocation, OutgoingMedia } from '@wacloud/instance/engines/engine-media';
import { OWN_ID } from './fixtures.js';

export class BenchEngine extends EventEmitter<EngineEvents> implements Engine {
  readonly kind = 'simulated' as const;

  state(): SessionState {
    return 'WORKING';
  }

  stateReason(): string | undefined {
    return undefined;
  }

  reconnectStatus(): undefined {
    return undefined;
  }

  account(): EngineAccount {
    return { id: OWN_ID, phone: OWN_ID.replace('@c.us', ''), pushname: 'Bench' };
  }

  async start(): Promise<void> {}

  qr(): string | undefined {
    return undefined;
  }

  pairingCode(): string | undefined {
    return undefined;
  }

  async logout(): Promise<void> {}

  async stop(): Promise<void> {}

  async sendText(_to: string, _text: string): Promise<EngineMessage> {
    throw new EngineError('unsupported', 'the benchmark engine does not send messages');
  }

  async sendMedia(_to: string, _media: OutgoingMedia): Promise<EngineMessage> {
    throw new EngineError('unsupported', 'the benchmark engine does not send media');
  }

  async sendLocation(_to: string, _l: EngineLocation): Promise<EngineMessage> {
    throw new EngineError('unsupported', 'the benchmark engine does not send locations');
  }

  async sendContactCard(_to: string, _vcard: string): Promise<EngineMessage> {
    throw new EngineError('unsupported', 'the benchmark engine does not send contact cards');
  }

  async downloadMedia(): Promise<DownloadedMedia> {
    throw new EngineError('media_not_found', 'the benchmark engine has no media');
  }

  async sendChatState(): Promise<void> {}

  async contacts(): Promise<EngineContact[]> {
    return [];
  }

  async chats(): Promise<EngineChat[]> {
    return [];
  }

  async messagesSince(): Promise<EngineMessage[]> {
    return [];
  }

  async screenshot(): Promise<Buffer> {
    throw new EngineError('unsupported', 'the benchmark engine has no screen');
  }

  async memoryBytes(): Promise<number | undefined> {
    return undefined;
  }
}
