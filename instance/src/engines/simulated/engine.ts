/**
 * The `simulated` engine: a linked device of the simulated WhatsApp network (the `@wacloud/simnet` server), reached
 * over one WebSocket, so instances in different processes talk to each other through one simnet server.
 *
 * Mirrors whatsapp-web.js with LocalAuth: the device credentials live in `<dataDir>/simulated-session.json`;
 * with them `start()` resumes without a QR, without them the network issues rotating QRs (or a pairing code)
 * until the phone links the device through the server's test hooks. After the link (`authenticated`) or a resume
 * the session is AUTHENTICATING until the network's `ready` (queued pushes delivered), then WORKING. A dropped
 * connection or a failed start is retried with the shared reconnect policy (`../reconnect.ts`: DISCONNECTED, then
 * STARTING per attempt) and the session resumes; pushes missed meanwhile are delivered on reconnect. When the budget
 * is spent the session is FAILED. Listener exceptions are logged, never thrown into the engine.
 */
import { EventEmitter } from 'node:events';
import { pino, type Logger } from 'pino';
import WebSocket from 'ws';
import {
  MAX_BODY_CHARS,
  type ClientFrame,
  type PushEvent,
  type RequestFrame,
  type ResultMap,
  type ServerFrame,
} from '@wacloud/simnet/protocol';
import {
  EngineError,
  EngineNotReadyError,
  checkHistoryLimit,
  toChatId,
  type ChatState,
  type Engine,
  type EngineAccount,
  type EngineChat,
  type EngineContact,
  type EngineEvents,
  type EngineMessage,
  type LoginOptions,
  type ReconnectStatus,
  type SendTextOptions,
  type SessionState,
} from '../engine.js';
import type { EngineGroup } from '../engine-sync.js';
import { DEFAULT_RECONNECT_POLICY, Reconnector, type ReconnectPolicy } from '../reconnect.js';
import { delegateFeatures, type FeatureMethods } from '../features.js';
import { SimulatedFeatures } from './features.js';
import { sendFrame, withMediaRef } from './media.js';
import { PendingRequests } from './requests.js';
import { readGroups } from './sync.js';
import { renderScreen } from './screenshot.js';
import { closeSocket, wsUrlOf } from './socket.js';
import { SeenIds } from './seen.js';
import { SessionFile } from './stored-session.js';

export { SESSION_FILE } from './stored-session.js';

export interface SimulatedEngineOptions {
  /** Base URL of the simnet server, e.g. `http://127.0.0.1:7300`. */
  simnetUrl: string;
  /** Directory of the stored session (created when needed). */
  dataDir: string;
  logger?: Logger;
  /** How long a request (send, contacts, chats, logout) may wait for the server, ms. Default 10 000. */
  requestTimeoutMs?: number;
  /** Backoff and retry budget after a failure (defaults: `DEFAULT_RECONNECT_POLICY`, 1 s → 5 min, 20 retries). */
  reconnect?: Partial<ReconnectPolicy> | undefined;
}

/** States in which a start is still under way (start() waits through them). */
const UNSETTLED: ReadonlySet<SessionState> = new Set(['STARTING', 'AUTHENTICATING']);

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- the feature methods, see the end of this file
export class SimulatedEngine extends EventEmitter<EngineEvents> implements Engine {
  readonly kind = 'simulated' as const;

  readonly #wsUrl: string;
  readonly #sessionFile: SessionFile;
  readonly #log: Logger;
  readonly #reconnector: Reconnector;

  #state: SessionState = 'STOPPED';
  #reason: string | undefined;
  #account: EngineAccount | undefined;
  #qr: string | undefined;
  #code: string | undefined;
  #login: LoginOptions = {};

  /** The session should be running (false after stop/logout/FAILED): governs reconnects. */
  #wanted = false;
  #ws: WebSocket | undefined;
  #connected = false;
  #lastError: string | undefined;
  readonly #requests: PendingRequests;
  readonly #seen = new SeenIds();
  #settleWaiters: Array<() => void> = [];
  /** Message actions, group administration and media; the `Engine` methods of those delegate here (`../features.ts`). */
  readonly features: SimulatedFeatures;

  constructor(options: SimulatedEngineOptions) {
    super();
    this.#wsUrl = wsUrlOf(options.simnetUrl);
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'engine-simulated' });
    this.#sessionFile = new SessionFile(options.dataDir, this.#log);
    this.#requests = new PendingRequests(options.requestTimeoutMs ?? 10_000);
    this.#reconnector = new Reconnector({ ...DEFAULT_RECONNECT_POLICY, ...options.reconnect });
    this.features = new SimulatedFeatures({
      simnetUrl: options.simnetUrl,
      requireWorking: () => this.#requireWorking(),
      request: (type, fields, onResult) => (
        this.#requireWorking(),
        this.#request({ ...fields, type, reqId: this.#requests.nextId() } as never, onResult)
      ),
      emit: (event, ...args) => this.#emit(event, ...args),
      remember: (id) => this.#seen.add(id),
    });
  }

  state(): SessionState {
    return this.#state;
  }

  stateReason(): string | undefined {
    return this.#reason;
  }

  reconnectStatus(): ReconnectStatus | undefined {
    return this.#reconnector.status();
  }

  account(): EngineAccount | undefined {
    return this.#state === 'WORKING' ? this.#account : undefined;
  }

  qr(): string | undefined {
    return this.#state === 'SCAN_QR_CODE' ? this.#qr : undefined;
  }

  pairingCode(): string | undefined {
    return this.#state === 'SCAN_QR_CODE' ? this.#code : undefined;
  }

  /**
   * Starts the session (idempotent). Resolves once WORKING, SCAN_QR_CODE (first QR or pairing code shown),
   * DISCONNECTED (the first attempt failed; retries go on), FAILED (login timed out, budget spent) or STOPPED
   * (stopped meanwhile). While DISCONNECTED or FAILED it starts anew at once with a fresh budget. Never rejects.
   */
  start(options: LoginOptions = {}): Promise<void> {
    if (this.#state === 'SCAN_QR_CODE' || this.#state === 'WORKING') return Promise.resolve();
    const settled = new Promise<void>((resolve) => this.#settleWaiters.push(resolve));
    if (UNSETTLED.has(this.#state)) return settled;
    this.#login = { phone: options.phone };
    this.#wanted = true;
    this.#reconnector.reset();
    this.#setState('STARTING');
    this.#connect();
    return settled;
  }

  /** Stops the session keeping the stored session; in-flight requests reject with `connection_lost`. */
  async stop(): Promise<void> {
    await this.#shutdown('STOPPED', 'stopped');
  }

  /**
   * Unlinks this device on the network (when connected), deletes the stored session and stops
   * (STOPPED, reason `logged out`). The next start needs a new QR.
   */
  async logout(): Promise<void> {
    if (this.#state === 'WORKING') {
      try {
        await this.#request({ type: 'logout', reqId: this.#requests.nextId() });
      } catch (err) {
        this.#log.warn({ err }, 'simnet logout request failed; forgetting the session locally');
      }
    }
    await this.#sessionFile.delete();
    await this.#shutdown('STOPPED', 'logged out');
  }

  /**
   * Sends a text message; resolves with it as the server accepted it (ack 1) after emitting it as a `message`.
   * @throws EngineNotReadyError unless WORKING.
   * @throws EngineError `invalid_message` (empty or over 65 536 characters), `number_not_on_whatsapp` (user not
   *   on the network), `chat_not_found` (unknown group or not a member, malformed id), `connection_lost`, `timeout`.
   */
  async sendText(to: string, text: string, options: SendTextOptions = {}): Promise<EngineMessage> {
    this.#requireWorking();
    if (text.length === 0 || text.length > MAX_BODY_CHARS) {
      throw new EngineError('invalid_message', `text must be 1 to ${MAX_BODY_CHARS} characters`);
    }
    return this.features.send(sendFrame(to, text, undefined, options));
  }

  /**
   * See {@link Engine.sendChatState}: the network's `chatstate` request.
   * @throws EngineNotReadyError unless WORKING; EngineError `chat_not_found`, `number_not_on_whatsapp`,
   *   `connection_lost`, `timeout`.
   */
  async sendChatState(chatId: string, state: ChatState): Promise<void> {
    this.#requireWorking();
    await this.#request({ type: 'chatstate', reqId: this.#requests.nextId(), chatId: toChatId(chatId), state });
  }

  /** @throws EngineNotReadyError unless WORKING. */
  async contacts(): Promise<EngineContact[]> {
    this.#requireWorking();
    return (await this.#request({ type: 'contacts', reqId: this.#requests.nextId() })).contacts;
  }

  /** @throws EngineNotReadyError unless WORKING. */
  async chats(): Promise<EngineChat[]> {
    this.#requireWorking();
    return (await this.#request({ type: 'chats', reqId: this.#requests.nextId() })).chats;
  }

  /** See `EngineSync.groups`: the network's `groups` request. @throws EngineNotReadyError unless WORKING. */
  async groups(): Promise<EngineGroup[]> {
    this.#requireWorking();
    return readGroups(await this.#request({ type: 'groups', reqId: this.#requests.nextId() }));
  }

  /** See `EngineSync.markChatRead`: the network's `read` request. @throws as {@link sendChatState}. */
  async markChatRead(chatId: string): Promise<void> {
    this.#requireWorking();
    await this.#request({ type: 'read', reqId: this.#requests.nextId(), chatId: toChatId(chatId) });
  }

  /**
   * See {@link Engine.messagesSince}: the network's `history` request (the chat's newest `limit` messages, like
   * whatsapp-web.js' `fetchMessages`), filtered by time here as the webjs engine does.
   * @throws EngineNotReadyError unless WORKING; EngineError `chat_not_found`, `connection_lost`, `timeout`; RangeError.
   */
  async messagesSince(chatId: string, sinceMs: number, limit: number): Promise<EngineMessage[]> {
    checkHistoryLimit(limit);
    this.#requireWorking();
    const { messages } = await this.#request({ type: 'history', reqId: this.#requests.nextId(), chatId: toChatId(chatId), limit });
    return messages.filter((m) => m.timestamp >= sinceMs).map(withMediaRef);
  }

  /**
   * PNG: the QR while waiting for a scan; otherwise a status image (a QR encoding the state, tinted by state).
   * @throws EngineNotReadyError when STOPPED.
   */
  async screenshot(): Promise<Buffer> {
    if (this.#state === 'STOPPED') throw new EngineNotReadyError(this.#state);
    return renderScreen({ state: this.#state, qr: this.#qr, pairingCode: this.#code, accountId: this.#account?.id, reason: this.#reason });
  }

  /** Always undefined: no browser runs. */
  async memoryBytes(): Promise<number | undefined> {
    return undefined;
  }

  // ── Connection ──────────────────────────────────────────────────────────────────────────────────────────────

  /** A scheduled retry: a new connection (resuming the stored session). */
  #retry(attempt: number): void {
    if (!this.#wanted) return;
    this.#setState('STARTING', `reconnecting (attempt ${attempt} of ${this.#reconnector.policy.maxAttempts})`);
    this.#connect();
  }

  #connect(): void {
    this.#lastError = undefined;
    const ws = new WebSocket(this.#wsUrl, { handshakeTimeout: 5_000 });
    this.#ws = ws;
    this.#connected = false;
    ws.on('open', () => {
      if (ws !== this.#ws) return;
      this.#connected = true;
      void this.#hello(ws);
    });
    ws.on('message', (data, isBinary) => {
      if (ws !== this.#ws || isBinary) return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(String(data)) as ServerFrame;
      } catch {
        this.#log.warn('simnet sent a frame that is not JSON');
        return;
      }
      try {
        this.#handle(ws, frame);
      } catch (err) {
        this.#log.error({ err, type: frame.type }, 'failed to handle a simnet frame');
      }
    });
    ws.on('error', (err) => {
      this.#lastError = err.message;
      this.#log.debug({ err }, 'simnet socket error');
    });
    ws.on('close', (code, reason) => {
      if (ws !== this.#ws) return;
      this.#onClose(code, reason.toString());
    });
  }

  /** Opens the session on a fresh connection: resume with stored credentials, else log in. */
  async #hello(ws: WebSocket): Promise<void> {
    const session = await this.#sessionFile.read();
    if (ws !== this.#ws) return;
    if (session) this.#sendFrame({ type: 'resume', deviceId: session.deviceId, token: session.token });
    else this.#sendLogin();
  }

  #sendLogin(): void {
    this.#sendFrame(this.#login.phone ? { type: 'login', phone: this.#login.phone.replace(/\D/g, '') } : { type: 'login' });
  }

  /** The socket closed (`code`, `reason`: the WebSocket close frame's): retry with backoff, or FAILED. */
  #onClose(code: number, reason: string): void {
    const wasConnected = this.#connected;
    this.#ws = undefined;
    this.#connected = false;
    this.#requests.rejectAll(new EngineError('connection_lost', 'connection to the simulated network was lost'));
    if (!this.#wanted) return;
    const cause = wasConnected
      ? `connection to the simulated network lost (${code}${reason ? ` ${reason}` : ''})`
      : `simulated network unreachable at ${this.#wsUrl}${this.#lastError ? `: ${this.#lastError}` : ''}`;
    this.#qr = undefined;
    this.#code = undefined;
    const next = this.#reconnector.failed(cause, () => this.#retry(next!.attempt));
    if (!next) {
      this.#wanted = false;
      const attempts = this.#reconnector.status()?.attempt ?? 0;
      this.#setState('FAILED', `${cause}; gave up after ${attempts} reconnect attempts`);
      return;
    }
    this.#log.info({ delayMs: next.delayMs, attempt: next.attempt, cause }, 'simnet connection closed; reconnecting');
    this.#setState('DISCONNECTED', cause);
  }

  /** Stops everything and settles in `state`. */
  async #shutdown(state: 'STOPPED' | 'FAILED', reason: string): Promise<void> {
    this.#wanted = false;
    // A budget spent by the last failure stays visible (liveness) until the next start.
    if (!(state === 'FAILED' && this.#reconnector.status()?.exhausted)) this.#reconnector.reset();
    const ws = this.#ws;
    this.#ws = undefined;
    this.#connected = false;
    this.#requests.rejectAll(new EngineError('connection_lost', `session ${reason}`));
    this.#qr = undefined;
    this.#code = undefined;
    if (this.#state !== state || this.#reason !== reason) this.#setState(state, reason);
    if (ws) await closeSocket(ws);
  }

  // ── Frames ──────────────────────────────────────────────────────────────────────────────────────────────────

  #handle(ws: WebSocket, frame: ServerFrame): void {
    switch (frame.type) {
      case 'qr':
        this.#qr = frame.qr;
        this.#code = undefined;
        this.#emit('qr', frame.qr);
        this.#setState('SCAN_QR_CODE');
        return;
      case 'pairing_code':
        this.#code = frame.code;
        this.#qr = undefined;
        this.#emit('pairing_code', frame.code);
        this.#setState('SCAN_QR_CODE');
        return;
      case 'login_failed':
        void this.#shutdown('FAILED', frame.reason);
        return;
      case 'authenticated':
        this.#sessionFile.save(frame.session, frame.account);
        this.#authenticated(frame.account);
        return;
      case 'resumed':
        this.#authenticated(frame.account);
        return;
      case 'ready':
        this.#reconnector.succeeded();
        this.#setState('WORKING');
        return;
      case 'session_invalid':
        this.#log.warn({ reason: frame.reason }, 'stored session rejected; logging in anew');
        this.#account = undefined;
        void this.#sessionFile.delete().then(() => {
          if (ws === this.#ws) this.#sendLogin();
        });
        return;
      case 'logged_out':
        this.#account = undefined;
        void this.#sessionFile.delete().then(() => this.#shutdown('STOPPED', 'logged out'));
        return;
      case 'conflict':
        // Another process resumed this session: stop instead of fighting over it (the stored session stays).
        void this.#shutdown('STOPPED', `conflict: ${frame.reason}`);
        return;
      case 'push':
        try {
          this.#onPush(frame.event);
        } finally {
          this.#sendFrame({ type: 'received', seq: frame.seq });
        }
        return;
      case 'response':
        this.#requests.settle(frame.reqId, frame);
        return;
      case 'error':
        this.#log.warn({ error: frame.error }, 'simnet rejected a frame');
        return;
      default:
        this.#log.warn({ frame }, 'unknown simnet frame');
    }
  }

  /** Linked or resumed: AUTHENTICATING until the network's `ready`. */
  #authenticated(account: EngineAccount): void {
    this.#account = account;
    this.#qr = undefined;
    this.#code = undefined;
    this.#emit('authenticated', account);
    this.#setState('AUTHENTICATING');
  }

  #onPush(event: PushEvent): void {
    switch (event.kind) {
      case 'message':
        if (this.#seen.has(event.message.id)) return;
        this.#seen.add(event.message.id);
        this.#emit('message', withMediaRef(event.message));
        return;
      case 'ack':
        this.#emit('message_ack', { id: event.id, chatId: event.chatId, ack: event.ack });
        return;
      case 'chat':
        this.#emit('chat', event.chat);
        return;
      case 'contact':
        this.#emit('contact', event.contact);
        return;
      case 'group':
        this.#emit('group', readGroups({ groups: [event.group] })[0]!);
        return;
      default:
        this.features.onPush(event);
    }
  }

  #sendFrame(frame: ClientFrame): boolean {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  /** Sends a request frame; see {@link PendingRequests.request}. */
  #request<T extends RequestFrame>(frame: T, onResult?: (result: ResultMap[T['type']]) => void): Promise<ResultMap[T['type']]> {
    return this.#requests.request(frame, (f) => this.#sendFrame(f), onResult);
  }

  // ── State and events ────────────────────────────────────────────────────────────────────────────────────────

  #requireWorking(): void {
    if (this.#state !== 'WORKING') throw new EngineNotReadyError(this.#state);
  }

  #setState(state: SessionState, reason?: string): void {
    const changed = state !== this.#state || reason !== this.#reason;
    this.#state = state;
    this.#reason = reason;
    if (changed) {
      this.#log.info({ state, reason }, 'session state');
      this.#emit('state', state, reason);
    }
    if (!UNSETTLED.has(state)) {
      const waiters = this.#settleWaiters;
      this.#settleWaiters = [];
      for (const settle of waiters) settle();
    }
  }

  /** Emits to listeners; a throwing listener is logged and never breaks the engine. */
  #emit<K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]): void {
    try {
      // Widened to the untyped emitter: TypeScript cannot relate a generic K to the emitter's argument tuples.
      (this as EventEmitter).emit(event, ...args);
    } catch (err) {
      this.#log.error({ err, event }, 'engine event listener threw');
    }
  }
}

// The message actions, group administration and media of `Engine`, forwarded to `features`.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type -- defined by delegateFeatures
export interface SimulatedEngine extends FeatureMethods {}
delegateFeatures(SimulatedEngine.prototype);
