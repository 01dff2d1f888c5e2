/**
 * What follows from the engine's data events. Every message, ack, contact and chat is
 * - persisted in the background through the persister (chat touches coalesced),
 * - queued as a webhook event when subscribed (`message`, `message.any`, `message.ack`),
 * - published live to WebSocket subscribers (`message`, `message.ack`),
 * - counted in metrics (messages by direction).
 *
 * A message sent through the API is recorded once. The engine reports it twice: as the result of `sendText` and as a
 * `message` event, in either order (the simulated engine emits the event first, whatsapp-web.js may emit it later).
 * The sending service brackets each send with {@link EventRecorder.beginSend}; while a send is in flight, `fromMe`
 * messages from the engine are held (with their acks) instead of recorded. {@link EventRecorder.recordSent} then
 * records the message once, naming the token, and a later `message` event for it is dropped. Held messages of other
 * origins (sent from the phone meanwhile) are recorded when no send is in flight any more, at the latest after
 * {@link HOLD_MAX_MS}.
 *
 * Nothing lost at a crash: a message is appended to the inbound journal (when one is given) before it enters the
 * persister's batch or is announced, and the journal's entries left by a crash are {@link EventRecorder.replay}ed at
 * start. Messages fetched from the chat history after a reconnect ({@link EventRecorder.recordFetched}) take the same
 * path; ids recorded lately are remembered so a message reported twice (pushed again and fetched) is recorded once.
 */
import type { Logger } from 'pino';
import type { Ack, Engine, EngineChat, EngineContact, EngineMessage } from '../engines/engine.js';
import type { Metrics } from '../metrics.js';
import { ChatTouches } from '../storage/chat-touches.js';
import { toMessageDoc, writeSentMessage } from '../storage/messages.js';
import type { Journal, JournalEntry } from '../storage/journal.js';
import type { Persister } from '../storage/persistence.js';
import type { ChatDoc, MessageDoc, SentBy, Store } from '../storage/store.js';
import { chatFields } from '../storage/sync.js';
import type { WebhookOutbox } from '../webhooks/outbox.js';
import { runGuarded } from './guarded.js';
import type { LiveEvents } from './live-events.js';
import { toMessageView } from './views.js';

/** Longest a `fromMe` message is held while sends are in flight, ms. */
export const HOLD_MAX_MS = 30_000;
/** Ids of API-sent messages remembered to drop the engine's own report of them. */
const SENT_IDS_MAX = 10_000;
/** Ids of recorded messages remembered to drop a second report of them (a push and a history fetch). */
const RECORDED_IDS_MAX = 20_000;

type AckEvent = { id: string; chatId: string; ack: Ack };

/** A message held during a send, or being recorded by {@link EventRecorder.recordSent}, with acks that arrived meanwhile. */
interface Held {
  message?: EngineMessage;
  acks: AckEvent[];
  /** recordSent owns it (the hold timer no longer applies). */
  recording: boolean;
  timer?: NodeJS.Timeout;
}

export interface EventRecorderOptions {
  engine: Engine;
  store: Store;
  persister: Persister;
  outbox: WebhookOutbox;
  live: LiveEvents;
  metrics: Metrics;
  logger: Logger;
  /** Inbound journal: every message is appended here before anything else happens to it. */
  journal?: Journal | undefined;
}

export class EventRecorder {
  readonly #chatTouches: ChatTouches;
  readonly #held = new Map<string, Held>();
  readonly #sentIds = new Set<string>();
  readonly #recordedIds = new Set<string>();
  #sendsInFlight = 0;

  constructor(private readonly opts: EventRecorderOptions) {
    this.#chatTouches = new ChatTouches(opts.persister);
    const e = opts.engine;
    e.on('message', (m) => this.#guard(() => this.#onMessage(m)));
    e.on('message_ack', (a) => this.#guard(() => this.#onAck(a)));
    e.on('contact', (c) => this.#guard(() => this.#onContact(c)));
    e.on('chat', (c) => this.#guard(() => this.#onChat(c)));
  }

  /** Marks the start of a send through the API; call the returned function once it ended, whatever the outcome. */
  beginSend(): () => void {
    this.#sendsInFlight++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.#sendsInFlight === 0) for (const id of [...this.#held.keys()]) this.#release(id);
    };
  }

  /**
   * Records message `m` sent through the API by the token `sentBy`: written at once (not batched) so the response and an
   * immediate read agree, then published and queued as webhooks like any message. When the database refuses the
   * write, the record is left to the persister (retried, never dropped). Resolves with the stored record.
   */
  async recordSent(m: EngineMessage, sentBy: SentBy): Promise<MessageDoc> {
    this.#rememberSent(m.id);
    const held = this.#held.get(m.id) ?? { acks: [], recording: false };
    clearTimeout(held.timer);
    held.recording = true;
    this.#held.set(m.id, held);
    const ack = Math.max(m.ack, held.message?.ack ?? -1) as Ack;
    const doc = toMessageDoc({ ...m, ack }, sentBy);
    let written = true;
    let journalSeq: number | undefined;
    try {
      await writeSentMessage(this.opts.store, doc);
    } catch (err) {
      this.opts.logger.warn({ err, id: m.id }, 'could not write a sent message at once; the persister will');
      written = false;
      journalSeq = this.#journal(doc);
    }
    this.#held.delete(m.id);
    await this.#holdingEntry(journalSeq, async () => {
      if (!written) this.opts.persister.enqueue({ kind: 'message', doc, journalSeq });
      // The message is published before the acks that arrived meanwhile (each call publishes synchronously first).
      await Promise.all([this.#announce(doc, m), ...held.acks.map((a) => this.#onAck(a))]);
    });
    return doc;
  }

  /**
   * Replays journal entries left by a crash (call once at start, before the engine starts): each message is queued
   * for storage (insert-or-ignore by id) with its chat touch and webhook events (stable ids: stored once); the entry is
   * released once the message and its events are written. Not published live (nobody could have been listening) nor
   * counted again.
   */
  async replay(entries: JournalEntry[]): Promise<void> {
    for (const { seq, doc } of entries) {
      this.#remember(this.#recordedIds, doc._id, RECORDED_IDS_MAX);
      await this.#holdingEntry(seq, async () => {
        this.opts.persister.enqueue({ kind: 'message', doc, journalSeq: seq });
        this.#chatTouches.touch(doc.chatId, doc.isGroup, doc.timestamp, doc);
        const view = toMessageView(doc);
        // Stored before they are delivered (no journal entry named): one delivered before the crash is not sent again.
        if (!doc.fromMe) await this.opts.outbox.queue('message', doc._id, view);
        await this.opts.outbox.queue('message.any', doc._id, view);
      });
    }
  }

  /**
   * Records messages fetched from the chat history (gap fill after a reconnect) like engine `message` events: journal,
   * storage, events. Messages recorded or sent lately are skipped. Resolves with the number recorded.
   */
  async recordFetched(messages: EngineMessage[]): Promise<number> {
    let n = 0;
    for (const m of messages) {
      if (this.#sentIds.has(m.id) || this.#recordedIds.has(m.id) || this.#held.has(m.id)) continue;
      await this.#record(m);
      n++;
    }
    return n;
  }

  /** Whether message `id` was recorded (or sent through the API) by this process lately. */
  recordedLately(id: string): boolean {
    return this.#recordedIds.has(id) || this.#sentIds.has(id);
  }

  /** Queues the coalesced chat touches and stops their timer (before the persister's final flush). */
  close(): void {
    this.#chatTouches.close();
  }

  #guard(fn: () => unknown): void {
    runGuarded(this.opts.logger, 'engine event handling', fn);
  }

  #rememberSent(id: string): void {
    this.#remember(this.#sentIds, id, SENT_IDS_MAX);
  }

  /** Adds `id` to a bounded set (the oldest id goes past `max`). */
  #remember(set: Set<string>, id: string, max: number): void {
    set.add(id);
    if (set.size > max) {
      const oldest = set.values().next().value;
      if (oldest !== undefined) set.delete(oldest);
    }
  }

  /** Appends `doc` to the journal; its sequence number, or undefined without a journal or when the append failed. */
  #journal(doc: MessageDoc): number | undefined {
    const journal = this.opts.journal;
    if (!journal) return undefined;
    try {
      return journal.append(doc);
    } catch (err) {
      this.opts.metrics.journalErrors.inc();
      this.opts.logger.error({ err, id: doc._id }, 'journal append failed: this message is only in memory until its batch is written');
      return undefined;
    }
  }

  async #onMessage(m: EngineMessage): Promise<void> {
    if (this.#sentIds.has(m.id)) return; // recorded by recordSent
    if (this.#recordedIds.has(m.id)) return; // recorded already (replayed, or fetched from the history)
    const held = this.#held.get(m.id);
    if (held) {
      held.message ??= m;
      return;
    }
    if (m.fromMe && this.#sendsInFlight > 0) {
      const entry: Held = { message: m, acks: [], recording: false };
      entry.timer = setTimeout(() => this.#guard(() => this.#release(m.id)), HOLD_MAX_MS);
      entry.timer.unref();
      this.#held.set(m.id, entry);
      return;
    }
    await this.#record(m);
  }

  /** Records a held message that no send claimed, then its acks. */
  async #release(id: string): Promise<void> {
    const held = this.#held.get(id);
    if (!held || held.recording) return;
    this.#held.delete(id);
    clearTimeout(held.timer);
    await Promise.all([...(held.message ? [this.#record(held.message)] : []), ...held.acks.map((a) => this.#onAck(a))]);
  }

  /** A message from the engine: queued for storage, its chat touched, announced. */
  async #record(m: EngineMessage): Promise<void> {
    const doc = toMessageDoc(m);
    // Durable first: the journal entry is written before the batch, the live event and the webhooks.
    const journalSeq = this.#journal(doc);
    this.#remember(this.#recordedIds, m.id, RECORDED_IDS_MAX);
    await this.#holdingEntry(journalSeq, async () => {
      this.opts.persister.enqueue({ kind: 'message', doc, journalSeq });
      await this.#announce(doc, m, journalSeq);
    });
  }

  /**
   * Runs `queue` (which queues a message and its webhook events) with the message's journal entry `seq` held until
   * everything it queued is written: the events are queued after an await (the settings' read on a cache miss), so
   * they may miss the message's batch (`Persister.holdJournal`). Without an entry, just runs it.
   */
  async #holdingEntry(seq: number | undefined, queue: () => Promise<void>): Promise<void> {
    const release = seq === undefined ? undefined : this.opts.persister.holdJournal(seq);
    try {
      await queue();
    } finally {
      release?.();
    }
  }

  /**
   * Counts, touches the chat, publishes and queues the webhooks of a recorded message (`journalSeq`: its journal
   * entry, when it has one).
   */
  async #announce(doc: MessageDoc, m: EngineMessage, journalSeq?: number): Promise<void> {
    this.opts.metrics.messages.inc({ direction: m.fromMe ? 'out' : 'in' });
    this.#chatTouches.touch(m.chatId, m.isGroup, doc.timestamp, doc);
    const view = toMessageView(doc);
    this.opts.live.publish('message', view);
    if (!m.fromMe) await this.opts.outbox.queue('message', m.id, view, journalSeq);
    await this.opts.outbox.queue('message.any', m.id, view, journalSeq);
  }

  async #onAck(a: AckEvent): Promise<void> {
    const held = this.#held.get(a.id);
    if (held) {
      held.acks.push(a);
      return;
    }
    this.opts.persister.enqueue({ kind: 'ack', id: a.id, ack: a.ack });
    const data = { id: a.id, chatId: a.chatId, ack: a.ack };
    this.opts.live.publish('message.ack', data);
    await this.opts.outbox.queue('message.ack', `${a.id}:${a.ack}`, data);
  }

  #onContact(c: EngineContact): void {
    this.opts.persister.enqueue({
      kind: 'contact',
      doc: {
        _id: c.id,
        number: c.number,
        name: c.name,
        pushname: c.pushname,
        isGroup: c.isGroup,
        isMyContact: c.isMyContact,
        participants: c.participants,
        updatedAt: new Date(),
      },
    });
  }

  #onChat(c: EngineChat): void {
    this.opts.persister.enqueue({ kind: 'chat', doc: { _id: c.id, ...chatFields(c) } as ChatDoc });
  }
}
