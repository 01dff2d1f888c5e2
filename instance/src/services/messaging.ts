/**
 * Messaging: queuing text messages for the send queue (`outgoing/`: paced, durable, sent once, naming the sending
 * token), reading stored and queued messages, and the message statistics.
 */
import type { EngineLocation } from '../engines/engine-media.js';
import { toChatId, type Engine, type SessionState } from '../engines/engine.js';
import type { StoredMediaRef } from '../storage/media.js';
import { AppError } from '../errors.js';
import { findOutgoing, idempotentOutgoingId, insertOutgoing, newOutgoingId, OUTGOING_ID, requestHash } from '../storage/outgoing.js';
import { findMessageById, findMessages, messageStats, type MessageFilter, type Page } from '../storage/queries.js';
import type { OutgoingDoc, SentBy, Store } from '../storage/store.js';
import type { OutgoingSender } from './outgoing/sender.js';
import { toOutgoingView, type OutgoingView } from './outgoing/view.js';
import { toMessageView, type MessageView } from './views.js';

export interface SendText {
  /** Phone number (digits, `+` allowed) or chat id (`…@c.us`, `…@g.us`). */
  to: string;
  /** The text; a media message's caption (may be absent then). */
  text?: string | undefined;
  /** Serialized id of the message to quote. */
  quotedMessageId?: string | undefined;
  /** Forward this stored message (its body is `text`) instead of sending a new text. */
  forwardOf?: string | undefined;
  /** Absent or `chat` for a text; a media type (with `media`), `location` (with `location`) or `vcard` (with `vcard`). */
  type?: OutgoingDoc['type'];
  /** The file, already stored in GridFS (`MediaService.ingest`). */
  media?: StoredMediaRef | undefined;
  location?: EngineLocation | undefined;
  vcard?: string | undefined;
}

export interface SendOptions {
  /** The client's Idempotency-Key: a retry with the same key (same token) answers with the first message. */
  idempotencyKey?: string | undefined;
  /** Wait for sent or failed at most this long, ms (0: answer at once, queued). */
  waitMs?: number | undefined;
}

/** What a send answers: the queued message's view and whether it is new (`created`) or an Idempotency-Key retry. */
export interface SendResult {
  view: OutgoingView;
  created: boolean;
}

/** States in which no account is logged in: a send is refused at once (nothing could send it). */
const NOT_LOGGED_IN: ReadonlySet<SessionState> = new Set(['STOPPED', 'SCAN_QR_CODE', 'FAILED']);

export class MessagingService {
  constructor(
    private readonly engine: Engine,
    private readonly store: Store,
    private readonly sender: OutgoingSender,
  ) {}

  /**
   * Queues `msg` for the sender loop and resolves with its view (`queued`; with `waitMs`, `sent` or `failed` when that
   * came first). A retry with the same `idempotencyKey` from the same token resolves with the first message's current
   * view and queues nothing (the same member, for the main backend's gateway token, which members share).
   * @throws AppError `session_not_ready` (no account logged in), `idempotency_key_reused` (same key, other message);
   *   with `waitMs`, the failure's code when the message failed (`chat_not_found`, `number_not_on_whatsapp`,
   *   `engine_error`).
   */
  async send(msg: SendText, sentBy: SentBy, options: SendOptions = {}): Promise<SendResult> {
    const chatId = toChatId(msg.to);
    const type = msg.type && msg.type !== 'chat' ? msg.type : undefined;
    const body = type === 'vcard' ? (msg.vcard ?? '') : (msg.text ?? '');
    const content = type ? { type, sha256: msg.media?.sha256, location: msg.location, vcard: msg.vcard } : undefined;
    const hash = requestHash({ chatId, body, quotedMessageId: msg.quotedMessageId, forwardOf: msg.forwardOf, content });
    const key = options.idempotencyKey;
    let doc: OutgoingDoc = {
      // Keys are per sender: per token, and per member on the gateway's token (members share it).
      _id:
        key === undefined
          ? newOutgoingId()
          : idempotentOutgoingId(sentBy.member ? `${sentBy.tokenId}\0${sentBy.member.id}` : sentBy.tokenId, key),
      status: 'queued',
      chatId,
      body,
      ...(msg.quotedMessageId === undefined ? {} : { quotedMessageId: msg.quotedMessageId }),
      ...(msg.forwardOf === undefined ? {} : { forwardOf: msg.forwardOf }),
      ...(type ? { type } : {}),
      ...(msg.media ? { media: msg.media } : {}),
      ...(msg.location ? { location: msg.location } : {}),
      ...(msg.vcard ? { vcard: msg.vcard } : {}),
      sentBy,
      requestHash: hash,
      idempotent: key !== undefined,
      createdAt: new Date(),
      updatedAt: new Date(),
      attempts: 0,
    };
    let created = true;
    const existing = key === undefined ? null : await findOutgoing(this.store, doc._id);
    if (existing) {
      if (existing.requestHash !== hash) throw new AppError('idempotency_key_reused');
      doc = existing;
      created = false;
    } else {
      this.assertCanSend();
      const r = await insertOutgoing(this.store, doc);
      if (r.inserted) this.sender.enqueue({ ...doc });
      else {
        // Two requests with one key at once: the other one inserted first.
        if (r.existing.requestHash !== hash) throw new AppError('idempotency_key_reused');
        doc = r.existing;
        created = false;
      }
    }
    if (options.waitMs && doc.status !== 'sent' && doc.status !== 'failed') {
      doc = (await this.sender.settled(doc._id, options.waitMs)) ?? doc;
    }
    if (options.waitMs && doc.status === 'failed') throw failure(doc);
    return { view: await this.#view(doc), created };
  }

  /** @throws AppError `session_not_ready` when no account is logged in (nothing could send a message). */
  assertCanSend(): void {
    const state = this.engine.state();
    if (NOT_LOGGED_IN.has(state)) {
      throw new AppError('session_not_ready', `The WhatsApp session is ${state}; log in with POST /v1/session/login first.`);
    }
  }

  /**
   * One message: a queued one by its `out_…` id (with its status), else a stored one by its WhatsApp id.
   * @throws AppError `message_not_found`.
   */
  async get(id: string): Promise<MessageView | OutgoingView> {
    if (OUTGOING_ID.test(id)) {
      const queued = await findOutgoing(this.store, id);
      if (!queued) throw new AppError('message_not_found');
      return this.#view(queued);
    }
    const doc = await findMessageById(this.store, id);
    if (!doc) throw new AppError('message_not_found');
    return toMessageView(doc);
  }

  /** The view of a queued message, with the stored message's ack once sent. */
  async #view(doc: OutgoingDoc): Promise<OutgoingView> {
    const stored = doc.messageId ? await findMessageById(this.store, doc.messageId) : null;
    return toOutgoingView(doc, stored?.ack);
  }

  /** Stored messages matching `filter`, newest first. @throws AppError `invalid_cursor`. */
  async list(filter: MessageFilter): Promise<Page<MessageView>> {
    const page = await findMessages(this.store, filter);
    return { items: page.items.map(toMessageView), nextCursor: page.nextCursor };
  }

  /** Messages in/out per UTC day for the last 30 days (oldest first) and totals of messages, chats and contacts. */
  stats(): ReturnType<typeof messageStats> {
    return messageStats(this.store);
  }
}

/** The coded error a failed message answers `?wait=true` with. */
function failure(doc: OutgoingDoc): AppError {
  const code = doc.error?.code;
  const message = doc.error?.message ?? 'The message could not be sent.';
  if (code === 'chat_not_found' || code === 'number_not_on_whatsapp' || code === 'session_not_ready') return new AppError(code, message);
  return new AppError('engine_error', message, { engineCode: code, id: doc._id });
}
