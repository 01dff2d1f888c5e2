/**
 * The `simulated` engine: a linked device of the simulated WhatsApp network (`simnet/`), reached over one
 * WebSocket, so instances in different processes talk to each other through one simnet server.
 *
 * Mirrors whatsapp-web.js with LocalAuth: the device credentials live in `<dataDir>/simulated-session.json`;
 * with them `start()` resumes without a QR, without them the network issues rotating QRs (or a pairing code)
 * until the phone links the device through the server's test hooks. A dropped connection is re-established
 * with exponential backoff (state STARTING meanwhile) and the session resumes; pushes missed meanwhile are
 * delivered on reconnect. Listener exceptions are logged, never thrown into the engine.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import QRCode from 'qrcode';
import WebSocket from 'ws';
import {
  EngineError,
  EngineNotReadyError,
  toChatId,
  type Engine,
  type EngineAccount,
  type EngineChat,
  type EngineContact,
  type EngineEvents,
  type EngineMessage,
  type LoginOptions,
  type SendTextOptions,
  type SessionState,
} from './engine.js';
import { MAX_BODY_CHARS, SIMNET_WS_PATH, type ClientFrame, type DeviceSession, type PushEvent, type RequestFrame, type ResultMap, type ServerFrame } from './simnet/protocol.js';

/** File in `dataDir` holding the stored session. */
export const SESSION_FILE = 'simulated-session.json';

export interface SimulatedEngineOptions {
  /** Base URL of the simnet server, e.g. `http://127.0.0.1:7300`. */
  simnetUrl: string;
  /** Directory of the stored session (created when needed). */
  dataDir: string;
  logger?: Logger;
  /** How long a request (send, contacts, chats, logout) may wait for the server, ms. Default 10 000. */
  requestTimeoutMs?: number;
  /** First reconnect delay, ms; doubles per failed attempt. Default 250. */
  reconnectInitialDelayMs?: number;
  /** Cap of the reconnect delay, ms. Default 5 000. */
  reconnectMaxDelayMs?: number;
  /** Connection attempts at start before giving up with FAILED (after a connection was up, retries never stop). Default 5. */
  startAttempts?: number;
}

/** What `simulated-session.json` holds. */
interface StoredSession extends DeviceSession {
  account: EngineAccount;
  savedAt: number;
}

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** Ids remembered to drop re-delivered pushes (delivery is at-least-once). */
const SEEN_IDS_MAX = 10_000;

const STATE_COLORS: Record<SessionState, string> = {
  STOPPED: '#757575ff',
  STARTING: '#1565c0ff',
  SCAN_QR_CODE: '#000000ff',
  WORKING: '#1b5e20ff',
  FAILED: '#b71c1cff',
};

export class SimulatedEngine extends EventEmitter<EngineEvents> implements Engine {
  readonly kind = 'simulated' as const;

  readonly #wsUrl: string;
  readonly #sessionPath: string;
  readonly #log: Logger;
  readonly #requestTimeoutMs: number;
  readonly #initialDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #startAttempts: number;

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
  /** A connection was up since the last start(): reconnect forever instead of failing. */
  #everConnected = false;
  #failures = 0;
  #lastError: string | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #nextReqId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #seen = new Set<string>();
  #settleWaiters: Array<() => void> = [];

  constructor(options: SimulatedEngineOptions) {
    super();
    const base = new URL(options.simnetUrl);
    base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
    base.pathname = SIMNET_WS_PATH;
    this.#wsUrl = base.toString();
    this.#sessionPath = path.join(options.dataDir, SESSION_FILE);
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'engine-simulated' });
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#initialDelayMs = options.reconnectInitialDelayMs ?? 250;
    this.#maxDelayMs = options.reconnectMaxDelayMs ?? 5_000;
    this.#startAttempts = options.startAttempts ?? 5;
  }

  state(): SessionState {
    return this.#state;
  }

  stateReason(): string | undefined {
    return this.#reason;
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
   * FAILED (server unreachable after `startAttempts` tries, login timed out) or STOPPED (stopped meanwhile).
   * Never rejects.
   */
  start(options: LoginOptions = {}): Promise<void> {
    if (this.#state === 'SCAN_QR_CODE' || this.#state === 'WORKING') return Promise.resolve();
    const settled = new Promise<void>((resolve) => this.#settleWaiters.push(resolve));
    if (this.#state === 'STARTING') return settled;
    this.#login = { phone: options.phone };
    this.#wanted = true;
    this.#everConnected = false;
    this.#failures = 0;
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
        await this.#request({ type: 'logout', reqId: this.#nextReqId++ });
      } catch (err) {
        this.#log.warn({ err }, 'simnet logout request failed; forgetting the session locally');
      }
    }
    await this.#deleteSession();
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
    const frame: RequestFrame = { type: 'send', reqId: this.#nextReqId++, to: toChatId(to), key: randomBytes(10).toString('hex').toUpperCase(), body: text };
    if (options.quotedMessageId !== undefined) frame.quotedMessageId = options.quotedMessageId;
    const { message } = await this.#request(frame, (result) => {
      // Emitted while handling the response frame, so listeners see the message before any ack of it.
      this.#remember(result.message.id);
      this.#emit('message', result.message);
    });
    return message;
  }

  /** @throws EngineNotReadyError unless WORKING. */
  async contacts(): Promise<EngineContact[]> {
    this.#requireWorking();
    return (await this.#request({ type: 'contacts', reqId: this.#nextReqId++ })).contacts;
  }

  /** @throws EngineNotReadyError unless WORKING. */
  async chats(): Promise<EngineChat[]> {
    this.#requireWorking();
    return (await this.#request({ type: 'chats', reqId: this.#nextReqId++ })).chats;
  }

  /**
   * PNG: the QR while waiting for a scan; otherwise a status image (a QR encoding the state, tinted by state).
   * @throws EngineNotReadyError when STOPPED.
   */
  async screenshot(): Promise<Buffer> {
    if (this.#state === 'STOPPED') throw new EngineNotReadyError(this.#state);
    if (this.#state === 'SCAN_QR_CODE' && this.#qr) return QRCode.toBuffer(this.#qr, { type: 'png', margin: 4, width: 264 });
    const parts = [`wacloud simulated engine: ${this.#state}`];
    if (this.#code) parts.push(`pairing code ${this.#code.slice(0, 4)}-${this.#code.slice(4)}`);
    if (this.#state === 'WORKING' && this.#account) parts.push(`as ${this.#account.id}`);
    if (this.#reason && this.#state === 'FAILED') parts.push(this.#reason);
    return QRCode.toBuffer(parts.join(' · '), { type: 'png', margin: 4, width: 264, color: { dark: STATE_COLORS[this.#state], light: '#ffffffff' } });
  }

  /** Always undefined: no browser runs. */
  async memoryBytes(): Promise<number | undefined> {
    return undefined;
  }

  // ── Connection ──────────────────────────────────────────────────────────────────────────────────────────────

  #connect(): void {
    this.#reconnectTimer = undefined;
    const ws = new WebSocket(this.#wsUrl, { handshakeTimeout: 5_000 });
    this.#ws = ws;
    this.#connected = false;
    ws.on('open', () => {
      if (ws !== this.#ws) return;
      this.#connected = true;
      this.#everConnected = true;
      this.#failures = 0;
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
    ws.on('close', () => {
      if (ws !== this.#ws) return;
      this.#onClose();
    });
  }

  /** Opens the session on a fresh connection: resume with stored credentials, else log in. */
  async #hello(ws: WebSocket): Promise<void> {
    const session = await this.#readSession();
    if (ws !== this.#ws) return;
    if (session) this.#sendFrame({ type: 'resume', deviceId: session.deviceId, token: session.token });
    else this.#sendLogin();
  }

  #sendLogin(): void {
    this.#sendFrame(this.#login.phone ? { type: 'login', phone: this.#login.phone.replace(/\D/g, '') } : { type: 'login' });
  }

  #onClose(): void {
    const wasConnected = this.#connected;
    this.#ws = undefined;
    this.#connected = false;
    this.#rejectPending(new EngineError('connection_lost', 'connection to the simulated network was lost'));
    if (!this.#wanted) return;
    if (!wasConnected) this.#failures++;
    if (!this.#everConnected && this.#failures >= this.#startAttempts) {
      this.#wanted = false;
      const cause = this.#lastError ? `: ${this.#lastError}` : '';
      this.#setState('FAILED', `simulated network unreachable at ${this.#wsUrl} after ${this.#failures} attempts${cause}`);
      return;
    }
    const delay = Math.min(this.#initialDelayMs * 2 ** Math.max(0, this.#failures - 1), this.#maxDelayMs);
    this.#log.info({ delay, failures: this.#failures }, 'simnet connection closed; reconnecting');
    this.#qr = undefined;
    this.#setState('STARTING', 'connection lost; reconnecting');
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
  }

  /** Stops everything and settles in `state`. */
  async #shutdown(state: 'STOPPED' | 'FAILED', reason: string): Promise<void> {
    this.#wanted = false;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    const ws = this.#ws;
    this.#ws = undefined;
    this.#connected = false;
    this.#rejectPending(new EngineError('connection_lost', `session ${reason}`));
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
        this.#saveSession(frame.session, frame.account);
        this.#authenticated(frame.account);
        return;
      case 'resumed':
        this.#authenticated(frame.account);
        return;
      case 'session_invalid':
        this.#log.warn({ reason: frame.reason }, 'stored session rejected; logging in anew');
        this.#account = undefined;
        void this.#deleteSession().then(() => {
          if (ws === this.#ws) this.#sendLogin();
        });
        return;
      case 'logged_out':
        this.#account = undefined;
        void this.#deleteSession().then(() => this.#shutdown('STOPPED', 'logged out'));
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
      case 'response': {
        const pending = this.#pending.get(frame.reqId);
        if (!pending) return;
        this.#pending.delete(frame.reqId);
        clearTimeout(pending.timer);
        if (frame.ok) pending.resolve(frame.result);
        else pending.reject(new EngineError(frame.error.code, frame.error.message));
        return;
      }
      case 'error':
        this.#log.warn({ error: frame.error }, 'simnet rejected a frame');
        return;
      default:
        this.#log.warn({ frame }, 'unknown simnet frame');
    }
  }

  #authenticated(account: EngineAccount): void {
    this.#account = account;
    this.#qr = undefined;
    this.#code = undefined;
    this.#emit('authenticated', account);
    this.#setState('WORKING');
  }

  #onPush(event: PushEvent): void {
    switch (event.kind) {
      case 'message':
        if (this.#seen.has(event.message.id)) return;
        this.#remember(event.message.id);
        this.#emit('message', event.message);
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
    }
  }

  #remember(id: string): void {
    this.#seen.add(id);
    if (this.#seen.size > SEEN_IDS_MAX) {
      const oldest = this.#seen.values().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
  }

  #sendFrame(frame: ClientFrame): boolean {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  /**
   * Sends a request and resolves with its result; `onResult` runs synchronously while the response frame is
   * handled (before later frames). @throws EngineError from the server, `connection_lost` or `timeout`.
   */
  #request<T extends RequestFrame>(frame: T, onResult?: (result: ResultMap[T['type']]) => void): Promise<ResultMap[T['type']]> {
    return new Promise((resolve, reject) => {
      if (!this.#sendFrame(frame)) {
        reject(new EngineError('connection_lost', 'not connected to the simulated network'));
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(frame.reqId);
        reject(new EngineError('timeout', `simnet did not answer ${frame.type} within ${this.#requestTimeoutMs} ms`));
      }, this.#requestTimeoutMs);
      this.#pending.set(frame.reqId, {
        resolve: (result) => {
          const typed = result as ResultMap[T['type']];
          try {
            onResult?.(typed);
          } finally {
            resolve(typed);
          }
        },
        reject,
        timer,
      });
    });
  }

  #rejectPending(err: Error): void {
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(err);
    }
    this.#pending.clear();
  }

  // ── State and events ────────────────────────────────────────────────────────────────────────────────────────

  #requireWorking(): void {
    if (this.#state !== 'WORKING') throw new EngineNotReadyError(this.#state);
  }

  #setState(state: SessionState, reason?: string): void {
    const changed = state !== this.#state;
    this.#state = state;
    if (state === 'FAILED' || state === 'STOPPED') this.#reason = reason;
    if (changed) {
      this.#log.info({ state, reason }, 'session state');
      this.#emit('state', state, reason);
    }
    if (state !== 'STARTING') {
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

  // ── Stored session ──────────────────────────────────────────────────────────────────────────────────────────

  async #readSession(): Promise<StoredSession | undefined> {
    try {
      const parsed = JSON.parse(await readFile(this.#sessionPath, 'utf8')) as Partial<StoredSession>;
      if (typeof parsed.deviceId === 'string' && typeof parsed.token === 'string' && parsed.account) return parsed as StoredSession;
      this.#log.warn({ path: this.#sessionPath }, 'stored session is malformed; ignoring it');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#log.warn({ err }, 'cannot read the stored session');
    }
    return undefined;
  }

  /**
   * Writes the session atomically (temp file + rename). Synchronous (a few hundred bytes) so that no frame
   * after `authenticated` is handled before the session is stored and announced.
   */
  #saveSession(session: DeviceSession, account: EngineAccount): void {
    const stored: StoredSession = { deviceId: session.deviceId, token: session.token, account, savedAt: Date.now() };
    try {
      mkdirSync(path.dirname(this.#sessionPath), { recursive: true });
      const tmp = `${this.#sessionPath}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(stored, null, 2), { mode: 0o600 });
      renameSync(tmp, this.#sessionPath);
    } catch (err) {
      this.#log.error({ err }, 'cannot store the session; the next start will need a new QR');
    }
  }

  async #deleteSession(): Promise<void> {
    await rm(this.#sessionPath, { force: true }).catch((err: unknown) => this.#log.warn({ err }, 'cannot delete the stored session'));
  }
}

/** Closes a socket gracefully, terminating it when the close handshake takes over 1 s. */
function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, 1_000);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.on('error', () => undefined);
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(1000, 'stopped');
  });
}
