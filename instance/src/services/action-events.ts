/**
 * What follows from the engine's action, presence and group events (`message_reaction`, `message_edit`,
 * `message_revoke`, `presence`, `group_update`), incoming or the account's own:
 * - reactions, edits and revokes are applied to the stored message (`storage/actions.ts`: reactions one per sender,
 *   edited text with `editedAt`, a revoked message kept as a tombstone), then published live and queued as webhooks
 *   (`message.reaction`, `message.edit`, `message.revoked`) — once per fact: an own action recorded by the API and
 *   WhatsApp's echo of it find the message already so, and the echo is dropped;
 * - presence is published and queued (`presence`), never stored (it is ephemeral);
 * - a group change is published and queued (`group.update`), and the stored group contact (subject, participants) is
 *   refreshed from the engine while the account is still a member.
 * Facts are applied one at a time in arrival order. A fact about a message not stored yet (still in the persister's
 * batch) waits for one flush; a message never stored (e.g. older than the history) is announced without storage.
 */
import type { Logger } from 'pino';
import type { EngineEdit, EngineReaction, EngineRevoke } from '../engines/engine-actions.js';
import type { EngineGroupInfo, EngineGroupUpdate } from '../engines/engine-groups.js';
import type { EnginePresence } from '../engines/engine-presence.js';
import { EngineError, type Engine } from '../engines/engine.js';
import { applyEdit, applyReaction, applyRevoke, type ApplyResult } from '../storage/actions.js';
import { mediaFileSize } from '../storage/media.js';
import type { Persister } from '../storage/persistence.js';
import type { Store } from '../storage/store.js';
import type { WebhookOutbox } from '../webhooks/outbox.js';
import type { LiveEvents } from './live-events.js';

export interface ActionEventsOptions {
  engine: Engine;
  store: Store;
  persister: Persister;
  outbox: WebhookOutbox;
  live: LiveEvents;
  logger: Logger;
  /** Media storage: the stored file of a message deleted for everyone is removed (`discard` never throws). */
  media?: { discard(ref: { fileId: string; size: number }): Promise<void> } | undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class ActionEvents {
  #chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: ActionEventsOptions) {
    const e = o.engine;
    e.on('message_reaction', (r) => void this.reaction(r));
    e.on('message_edit', (x) => void this.edit(x));
    e.on('message_revoke', (x) => void this.revoke(x));
    e.on('presence', (p) => void this.#serial('presence', () => this.#presence(p)));
    e.on('group_update', (u) => void this.#serial('group update', () => this.#groupUpdate(u)));
  }

  /** Applies and announces reaction `r` (once); resolves with what storage made of it. */
  reaction(r: EngineReaction): Promise<ApplyResult | undefined> {
    return this.#serial('reaction', async () => {
      const result = await this.#apply(() => applyReaction(this.o.store, r));
      if (result === 'unchanged') return result;
      const data = {
        messageId: r.messageId,
        chatId: r.chatId,
        sender: r.sender,
        reaction: r.reaction,
        fromMe: r.fromMe,
        timestamp: iso(r.timestamp),
      };
      await this.#announce('message.reaction', `${r.messageId}:${r.sender}:${r.timestamp}:${r.reaction}`, data);
      return result;
    });
  }

  /** Applies and announces edit `x` (once). */
  edit(x: EngineEdit): Promise<ApplyResult | undefined> {
    return this.#serial('edit', async () => {
      const result = await this.#apply(() => applyEdit(this.o.store, x));
      if (result === 'unchanged') return result;
      const data = { messageId: x.messageId, chatId: x.chatId, author: x.author, body: x.body, editedAt: iso(x.editedAt) };
      await this.#announce('message.edit', `${x.messageId}:${x.editedAt}`, data);
      return result;
    });
  }

  /** Applies and announces revoke `x` (once). */
  revoke(x: EngineRevoke): Promise<ApplyResult | undefined> {
    return this.#serial('revoke', async () => {
      let fileId: string | undefined;
      const result = await this.#apply(() => applyRevoke(this.o.store, x, (id) => (fileId = id)));
      if (fileId !== undefined) await this.#discardFile(fileId);
      if (result === 'unchanged') return result;
      await this.#announce('message.revoked', x.messageId, {
        messageId: x.messageId,
        chatId: x.chatId,
        author: x.author,
        revokedAt: iso(x.revokedAt),
      });
      return result;
    });
  }

  /** Removes stored media file `fileId` (counted off the quota by its size). */
  async #discardFile(fileId: string): Promise<void> {
    const size = await mediaFileSize(this.o.store, fileId).catch(() => undefined);
    if (size !== undefined) await this.o.media?.discard({ fileId, size });
  }

  /** Stores `group` as the group's contact (subject, participants); written by the persister. */
  storeGroup(group: EngineGroupInfo): void {
    this.o.persister.enqueue({
      kind: 'contact',
      doc: { _id: group.id, name: group.subject, isGroup: true, participants: group.participants.map((p) => p.id), updatedAt: new Date() },
    });
  }

  /** Resolves once every fact that arrived before has been applied. */
  idle(): Promise<void> {
    return this.#chain.then(() => undefined);
  }

  /** Runs `fn` after the facts before it; a failure is logged (the fact stays unapplied), never thrown. */
  #serial<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    const run = this.#chain.then(fn).catch((err: unknown) => {
      this.o.logger.warn({ err }, `could not apply a ${what}`);
      return undefined;
    });
    this.#chain = run;
    return run;
  }

  /** `write`, once more after a persister flush when the message was not stored yet. */
  async #apply(write: () => Promise<ApplyResult>): Promise<ApplyResult> {
    const first = await write();
    if (first !== 'missing' || this.o.persister.pending() === 0) return first;
    await this.o.persister.flush();
    return write();
  }

  async #announce(
    event: 'message.reaction' | 'message.edit' | 'message.revoked' | 'presence' | 'group.update',
    key: string,
    data: unknown,
  ) {
    this.o.live.publish(event, data);
    await this.o.outbox.queue(event, key, data);
  }

  async #presence(p: EnginePresence): Promise<void> {
    const data = { chatId: p.chatId, participant: p.participant, state: p.state, timestamp: iso(p.timestamp) };
    await this.#announce('presence', `${p.chatId}:${p.participant}:${p.timestamp}:${p.state}`, data);
  }

  async #groupUpdate(u: EngineGroupUpdate): Promise<void> {
    const { timestamp, ...rest } = u;
    await this.#announce('group.update', `${u.groupId}:${u.action}:${u.timestamp}:${u.actor ?? ''}`, {
      ...rest,
      timestamp: iso(timestamp),
    });
    if (this.o.engine.state() !== 'WORKING') return;
    try {
      this.storeGroup(await this.o.engine.groupInfo(u.groupId));
    } catch (err) {
      // No longer a member (removed, left): the stored group stays as it was last seen.
      if (!(err instanceof EngineError && err.code === 'group_not_found'))
        this.o.logger.debug({ err, groupId: u.groupId }, 'group refresh failed');
    }
  }
}
