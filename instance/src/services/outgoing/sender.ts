/**
 * The send queue's one sender loop per instance process. Every message of `POST /v1/messages` is a record of the
 * `outgoing` collection (`queued`); the loop sends them one at a time while the session is WORKING, paced by
 * {@link Pacer}, optionally after showing "typing…" for a time proportional to the text:
 *
 *   queued ──▶ sending (written BEFORE the engine call) ──▶ sent (WhatsApp id, then acks on the stored message)
 *                  │                                   └──▶ failed (a reason: chat not found, not on WhatsApp, …)
 *                  └── interrupted (kill -9, connection lost, timeout): the chat's history is searched for the
 *                      message before anything else is sent ({@link findSentCopy}); found → sent, else queued again.
 *
 * Once the engine took a message, its message record and then `sent` are written while the loop goes on with other
 * chats (that chat waits for them), so the engine calls follow one another without those writes in between.
 *
 * A record found `queued` at start is sent once; one found `sending` is reconciled first, so a kill -9 sends nothing
 * twice except within the window that `reconcile.ts` documents. Records are written by `_id` only and by this loop
 * only, so FerretDB's non-atomic conditional updates never matter.
 */
import type { Logger } from 'pino';
import type { EngineMediaInfo } from '../../engines/engine-media.js';
import { EngineError, EngineNotReadyError, type Engine, type EngineMessage } from '../../engines/engine.js';
import type { StoredMediaRef } from '../../storage/media.js';
import type { Metrics } from '../../metrics.js';
import { findOutgoing, unfinishedOutgoing, updateOutgoing } from '../../storage/outgoing.js';
import type { MessageDoc, OutgoingDoc, Store } from '../../storage/store.js';
import type { EventRecorder } from '../event-recorder.js';
import { runGuarded } from '../guarded.js';
import type { LiveEvents } from '../live-events.js';
import { ChatQueues } from './chat-queues.js';
import { Pacer, type PacingOptions } from './pacing.js';
import { sendContent, type ContentFields, type MediaAccess } from './content.js';
import { findSentCopy } from './reconcile.js';
import { toOutgoingView } from './view.js';

/** Engine codes that say the message was not sent and will not be: the record fails with the reason. */
const FINAL_CODES = new Set([
  'chat_not_found',
  'number_not_on_whatsapp',
  'invalid_message',
  'invalid_request',
  'media_missing',
  // A forward whose message is gone:
  'message_not_found',
  'message_revoked',
]);
/** First retry delay after a failure that may be transient, ms (doubles per attempt, at most {@link RETRY_MAX_MS}). */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 60_000;
/** Longest {@link OutgoingSender.stop} waits for the send in flight, ms. */
const STOP_WAIT_MS = 10_000;

export interface TypingOptions {
  /** "typing…" shown per character of the text before sending, ms; 0 turns it off. */
  msPerChar: number;
  /** Upper bound of the typing time, ms. */
  maxMs: number;
}

export interface OutgoingSenderOptions {
  engine: Engine;
  store: Store;
  recorder: EventRecorder;
  live: LiveEvents;
  metrics: Metrics;
  logger: Logger;
  pacing: PacingOptions;
  typing: TypingOptions;
  /** Engine attempts before a message that keeps failing is `failed`. */
  maxAttempts: number;
  /** Media storage, for records that send a file. */
  media?: MediaAccess | undefined;
}

/**
 * A queued record as the loop keeps it (the loop is its only writer, so the copy in memory is the record): its id,
 * chat, order and earliest next attempt (epoch ms).
 */
interface Pending {
  id: string;
  chatId: string;
  createdAt: number;
  notBefore: number;
  doc: OutgoingDoc;
}

type Settled = (doc: OutgoingDoc) => void;

export class OutgoingSender {
  readonly #pacer: Pacer;
  readonly #pending = new ChatQueues<Pending>();
  /** Records left `sending` by an interrupted attempt: reconciled (not before `notBefore`) before their chat gets more. */
  #uncertain: Array<{ doc: OutgoingDoc; notBefore: number }> = [];
  readonly #waiters = new Map<string, Set<Settled>>();
  #wake: (() => void) | undefined;
  #stopped = false;
  #inFlight = 0;
  #loop: Promise<void> | undefined;
  /** Sends the engine took whose records are still being written (each to its chat id); their chats wait for them. */
  readonly #recording = new Map<Promise<void>, string>();

  constructor(private readonly o: OutgoingSenderOptions) {
    this.#pacer = new Pacer(o.pacing);
    o.engine.on('state', (state) => state === 'WORKING' && this.#notify());
  }

  /** Loads the unfinished records (queued: to send; sending: to reconcile) and starts the loop. @throws the driver's error. */
  async start(): Promise<void> {
    for (const doc of await unfinishedOutgoing(this.o.store)) {
      if (doc.status === 'sending') this.#uncertain.push({ doc, notBefore: 0 });
      else this.#pending.add(pendingOf(doc));
    }
    if (this.#pending.size || this.#uncertain.length) {
      this.o.logger.info({ queued: this.#pending.size, interrupted: this.#uncertain.length }, 'send queue resumed');
    }
    this.#loop = this.#run();
  }

  /** Takes a freshly inserted `queued` record. */
  enqueue(doc: OutgoingDoc): void {
    this.#pending.add(pendingOf(doc));
    this.#announce(doc);
    this.#notify();
  }

  /** Messages queued or being sent (the queue depth metric). */
  depth(): number {
    return this.#pending.size + this.#uncertain.length + this.#inFlight;
  }

  /**
   * Resolves with record `id` once it is `sent` or `failed`, or with undefined after `timeoutMs` (ms).
   * @throws the driver's error.
   */
  async settled(id: string, timeoutMs: number): Promise<OutgoingDoc | undefined> {
    let resolveIt: Settled = () => {};
    const done = new Promise<OutgoingDoc>((resolve) => (resolveIt = resolve));
    const set = this.#waiters.get(id) ?? new Set<Settled>();
    set.add(resolveIt);
    this.#waiters.set(id, set);
    let timer: NodeJS.Timeout | undefined;
    try {
      const now = await findOutgoing(this.o.store, id);
      if (now && (now.status === 'sent' || now.status === 'failed')) return now;
      const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
      return await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
      set.delete(resolveIt);
      if (set.size === 0) this.#waiters.delete(id);
    }
  }

  /**
   * Stops the loop after the send in flight and the records of the sends the engine took (waiting at most
   * {@link STOP_WAIT_MS}); queued records stay for the next start.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#notify();
    let timer: NodeJS.Timeout | undefined;
    const finished = (async () => {
      await this.#loop;
      await Promise.all(this.#recording.keys());
    })();
    await Promise.race([finished, new Promise((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)))]);
    clearTimeout(timer);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Waits `ms` (ms) whatever notifies come meanwhile, unless stopped. */
  async #pause(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!this.#stopped && Date.now() < until) await this.#sleep(until - Date.now());
  }

  /** Waits `ms` (ms), or until {@link #notify} when undefined; a notify always ends the wait early. */
  #sleep(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => this.#notify(), ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.#step();
      } catch (err) {
        // A database error outside a send: wait a little and go on (the records are where they were).
        this.o.logger.error({ err }, 'send queue step failed');
        await this.#sleep(RETRY_BASE_MS);
      }
    }
  }

  async #step(): Promise<void> {
    if (this.o.engine.state() !== 'WORKING') return this.#sleep(undefined);
    const now = Date.now();
    const due = this.#uncertain.findIndex((u) => u.notBefore <= now);
    if (due >= 0) {
      // The history match must see every message sent so far claimed by its record.
      await Promise.all(this.#recording.keys());
      return this.#reconcile(this.#uncertain.splice(due, 1)[0]!.doc);
    }
    const next = this.#next(now);
    if ('waitMs' in next) return this.#sleep(next.waitMs);
    await this.#pause(this.#pacer.jitterMs());
    if (this.#stopped || this.o.engine.state() !== 'WORKING') return;
    await this.#send(next.item);
  }

  /**
   * The oldest of the chats' first records (by `createdAt`) whose chat, bucket and retry time allow a send now; else
   * how long to wait (undefined: a notify). Looks at one record per chat: one chat's messages go in order.
   */
  #next(now: number): { item: Pending } | { waitMs: number | undefined } {
    let waitMs: number | undefined;
    const wait = (ms: number) => (waitMs = waitMs === undefined ? ms : Math.min(waitMs, ms));
    const bucket = this.#pacer.bucketWaitMs(now);
    // A chat with an interrupted send waits for its reconciliation, one with a send being recorded for that record.
    const held = new Set<string>(this.#recording.values());
    for (const u of this.#uncertain) {
      held.add(u.doc.chatId);
      wait(u.notBefore - now);
    }
    let best: Pending | undefined;
    for (const item of this.#pending.heads()) {
      if (held.has(item.chatId)) continue;
      const ready = Math.max(item.notBefore - now, this.#pacer.chatWaitMs(item.chatId, now), bucket);
      if (ready > 0) wait(ready);
      else if (!best || item.createdAt < best.createdAt) best = item;
    }
    return best ? { item: best } : { waitMs };
  }

  #forget(item: Pending): void {
    this.#pending.remove(item.chatId, item.id);
  }

  async #send(item: Pending): Promise<void> {
    const { engine, store, recorder } = this.o;
    const doc = item.doc;
    const sending = { status: 'sending' as const, sendingAt: new Date(), attempts: doc.attempts + 1 };
    // Durable before the engine call: a crash from here on is reconciled against the chat's history.
    await updateOutgoing(store, doc._id, sending);
    Object.assign(doc, sending);
    this.#forget(item);
    this.#inFlight++;
    this.#announce(doc);
    let sent: HeldSend;
    try {
      await this.#typing(doc);
      this.#pacer.take(doc.chatId, Date.now());
      sent = await sendHeld(engine, recorder, doc, this.o.media);
    } catch (err) {
      try {
        return await this.#failed(doc, item, err);
      } finally {
        this.#inFlight--;
      }
    }
    this.#record(doc, sent);
  }

  /**
   * Writes what a send the engine took leaves — the message record (and the file's link), then the record `sent` —
   * while the loop goes on with other chats: these writes are not needed before the next engine call, and this chat
   * waits for them ({@link #next}), so each chat's records still become `sent` in order. A crash meanwhile leaves the
   * record `sending`, reconciled at the next start like a crash right after the engine call.
   */
  #record(doc: OutgoingDoc, sent: HeldSend): void {
    const done: Promise<void> = (async () => {
      try {
        await sent.record();
      } catch (err) {
        // It went out: the status says so even though its message record could not be written now.
        this.o.logger.error({ err: err instanceof RecordError ? err.cause : err, id: doc._id }, 'a sent message could not be recorded');
      }
      await this.#markSent(doc, sent.message);
    })()
      .catch((err: unknown) => {
        // The record stays `sending` in the database: reconciled at the next start.
        this.o.logger.error({ err, id: doc._id }, 'send queue step failed');
      })
      .finally(() => {
        this.#inFlight--;
        this.#recording.delete(done);
        this.#notify();
      });
    this.#recording.set(done, doc.chatId);
  }

  /** Shows "typing…" for a time proportional to the text (bounded) when configured; failures only log. */
  async #typing(doc: OutgoingDoc): Promise<void> {
    const { msPerChar, maxMs } = this.o.typing;
    if (msPerChar <= 0) return;
    try {
      await this.o.engine.sendChatState(doc.chatId, 'typing');
    } catch (err) {
      this.o.logger.debug({ err, id: doc._id }, 'typing indicator failed');
      return;
    }
    await this.#pause(Math.min(maxMs, doc.body.length * msPerChar));
  }

  async #failed(doc: OutgoingDoc, item: Pending, err: unknown): Promise<void> {
    const { store, logger, metrics } = this.o;
    const code = err instanceof EngineError ? err.code : err instanceof EngineNotReadyError ? 'session_not_ready' : 'engine_error';
    const error = { code, message: err instanceof Error ? err.message : String(err) };
    if (err instanceof EngineNotReadyError) {
      // Refused before anything went out: queued again, sent once the session is back.
      await this.#requeue(doc, item, error, 0);
    } else if (err instanceof EngineError && FINAL_CODES.has(err.code)) {
      await this.#markFailed(doc, error);
    } else {
      // Unknown outcome (connection lost, timeout, a browser error): it may have gone out; reconcile before a retry.
      logger.warn({ err, id: doc._id }, 'send interrupted; checking the chat history before a retry');
      metrics.sends.inc({ result: 'interrupted' });
      doc.error = error;
      await updateOutgoing(store, doc._id, { error });
      this.#uncertain.push({ doc, notBefore: Date.now() + retryDelayMs(doc.attempts) });
    }
  }

  /** Decides an interrupted attempt: sent (found in the chat's history), failed (attempts spent) or queued again. */
  async #reconcile(doc: OutgoingDoc): Promise<void> {
    let copy: EngineMessage | undefined;
    try {
      copy = await findSentCopy(this.o.engine, this.o.store, doc);
    } catch (err) {
      this.o.logger.warn({ err, id: doc._id }, 'could not read the chat history to check an interrupted send; retrying later');
      this.#uncertain.push({ doc, notBefore: Date.now() + retryDelayMs(doc.attempts) });
      return;
    }
    if (copy) {
      this.o.logger.info({ id: doc._id, messageId: copy.id }, 'an interrupted send had gone out: marked sent');
      await this.o.recorder.recordSent(copy, doc.sentBy);
      return this.#markSent(doc, copy);
    }
    const error = doc.error?.code ? doc.error : { code: 'interrupted', message: 'the send was interrupted before WhatsApp took it' };
    if (doc.attempts >= this.o.maxAttempts) return this.#markFailed(doc, error);
    await this.#requeue(doc, pendingOf(doc), error, retryDelayMs(doc.attempts));
  }

  async #requeue(doc: OutgoingDoc, item: Pending, error: { code: string; message: string }, delayMs: number): Promise<void> {
    doc.status = 'queued';
    doc.error = error;
    await updateOutgoing(this.o.store, doc._id, { status: 'queued', error });
    // Back in its place (the queue is ordered by creation), not before `delayMs`.
    this.#pending.add({ ...item, notBefore: Date.now() + delayMs });
    this.#announce(doc);
  }

  async #markSent(doc: OutgoingDoc, m: EngineMessage): Promise<void> {
    doc.status = 'sent';
    doc.messageId = m.id;
    doc.sentAt = new Date();
    delete doc.error;
    await updateOutgoing(this.o.store, doc._id, { status: 'sent', messageId: m.id, sentAt: doc.sentAt }, ['error']);
    this.o.metrics.sends.inc({ result: 'sent' });
    this.o.metrics.sendLatency.observe((doc.sentAt.getTime() - doc.createdAt.getTime()) / 1000);
    this.#announce(doc, m.ack);
  }

  async #markFailed(doc: OutgoingDoc, error: { code: string; message: string }): Promise<void> {
    doc.status = 'failed';
    doc.error = error;
    await updateOutgoing(this.o.store, doc._id, { status: 'failed', error });
    this.o.metrics.sends.inc({ result: 'failed' });
    this.o.logger.info({ id: doc._id, error }, 'message failed');
    this.#announce(doc);
    if (this.o.typing.msPerChar > 0) {
      void this.o.engine.sendChatState(doc.chatId, 'paused').catch(() => {});
    }
  }

  /** Publishes the record's status live and wakes the waiters of a final one. */
  #announce(doc: OutgoingDoc, ack?: EngineMessage['ack']): void {
    this.o.live.publish('message.status', toOutgoingView(doc, ack));
    if (doc.status !== 'sent' && doc.status !== 'failed') return;
    for (const settle of this.#waiters.get(doc._id) ?? []) runGuarded(this.o.logger, 'send waiter', () => settle({ ...doc }));
  }
}

/** A failure to record a message the engine did send (not a send failure); `sent` is the engine's message. */
class RecordError extends Error {
  constructor(
    readonly sent: EngineMessage,
    cause: unknown,
  ) {
    super('recording a sent message failed', { cause });
  }
}

/** A message the engine took, not recorded yet. */
export interface HeldSend {
  message: EngineMessage;
  /**
   * Records the message once, naming the record's `sentBy` (call exactly once); resolves with the stored record.
   * @throws RecordError (its `cause` the driver's error).
   */
  record(): Promise<MessageDoc>;
}

/**
 * Sends `doc` (its text, media file, location or contact card: `content.ts`) through the engine; the engine's own
 * report of it is held ({@link EventRecorder.beginSend}) until {@link HeldSend.record} claims it.
 * @throws what {@link Engine.sendText} throws (the hold ended).
 */
export async function sendHeld(
  engine: Engine,
  recorder: EventRecorder,
  doc: ContentFields & Pick<OutgoingDoc, 'sentBy'>,
  media?: MediaAccess,
): Promise<HeldSend> {
  const endSend = recorder.beginSend();
  let message: EngineMessage;
  try {
    message = await sendContent(engine, doc, media);
  } catch (err) {
    endSend();
    throw err;
  }
  const record = async (): Promise<MessageDoc> => {
    try {
      // A sent file is stored already: the record says so (its `media.fileId`) from the first write on; the file is
      // named after the message by a second write at the same time.
      const link = doc.media && media ? media.linkSent(doc.media, message.id) : undefined;
      const recorded = recorder.recordSent(doc.media ? withStoredMedia(message, doc.media) : message, doc.sentBy);
      // recordSent claimed the message id as it started: the engine's report of it is dropped from now on.
      endSend();
      const [linked, stored] = await Promise.allSettled([link, recorded]);
      if (linked.status === 'rejected') throw linked.reason;
      if (stored.status === 'rejected') throw stored.reason;
      return stored.value;
    } catch (err) {
      throw new RecordError(message, err);
    } finally {
      endSend();
    }
  };
  return { message, record };
}

/**
 * Sends `doc` through the engine and records the message once, naming `doc.sentBy` ({@link sendHeld}, then its record).
 * Resolves with the engine's message and the stored record.
 * @throws what {@link Engine.sendText} throws; a RecordError (its `cause` the driver's error) when recording failed.
 */
export async function sendAndRecord(
  engine: Engine,
  recorder: EventRecorder,
  doc: ContentFields & Pick<OutgoingDoc, 'sentBy'>,
  media?: MediaAccess,
): Promise<{ message: EngineMessage; record: MessageDoc }> {
  const sent = await sendHeld(engine, recorder, doc, media);
  return { message: sent.message, record: await sent.record() };
}

/** `m` with its media marked as stored in GridFS as `ref` (the message record's `media.status` and `fileId`). */
function withStoredMedia(m: EngineMessage, ref: StoredMediaRef): EngineMessage {
  const media = { ...m.media, mimetype: m.media?.mimetype ?? ref.mimetype, size: ref.size, status: 'stored', fileId: ref.fileId };
  return { ...m, media: media as EngineMediaInfo };
}

function pendingOf(doc: OutgoingDoc): Pending {
  return { id: doc._id, chatId: doc.chatId, createdAt: doc.createdAt.getTime(), notBefore: 0, doc };
}

/** Delay before attempt `attempts + 1` after a failure, ms: doubling from {@link RETRY_BASE_MS}, bounded. */
function retryDelayMs(attempts: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, attempts - 1));
}
