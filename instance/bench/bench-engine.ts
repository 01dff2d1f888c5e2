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
import { RefusedFeatures, delegateFeatures, type FeatureMethods } from '@wacloud/instance/engines/features';
import type { EngineGroup } from '@wacloud/instance/engines/engine-sync';
import { OWN_ID } from './fixtures.js';

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- the feature methods, see the end of this file
export class BenchEngine extends EventEmitter<EngineEvents> implements Engine {
  readonly kind = 'simulated' as const;
  /** Message actions, group administration and media: refused (the media benchmark's engine overrides `sendMedia`). */
  readonly features = new RefusedFeatures();

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

  async sendChatState(): Promise<void> {}

  async contacts(): Promise<EngineContact[]> {
    return [];
  }

  async chats(): Promise<EngineChat[]> {
    return [];
  }

  async messagesSince(_chatId: string, _sinceMs: number, _limit: number): Promise<EngineMessage[]> {
    return [];
  }

  async groups(): Promise<EngineGroup[]> {
    return [];
  }

  async markChatRead(): Promise<void> {}

  async screenshot(): Promise<Buffer> {
    throw new EngineError('unsupported', 'the benchmark engine has no screen');
  }

  async memoryBytes(): Promise<number | undefined> {
    return undefined;
  }
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type -- defined by delegateFeatures
export interface BenchEngine extends FeatureMethods {}
delegateFeatures(BenchEngine.prototype);
