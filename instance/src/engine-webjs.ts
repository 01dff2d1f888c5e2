/**
 * The `webjs` engine: whatsapp-web.js driving the system Chromium.
 *
 * wacloud owns the browser: it launches Chromium itself with puppeteer-core into the profile directory that
 * whatsapp-web.js' `LocalAuth({ dataPath: dataDir })` uses (`<dataDir>/session`), and hands whatsapp-web.js only the
 * DevTools endpoint (`puppeteer: { browserWSEndpoint }`). So the browser's PID, memory and shutdown are ours:
 * a memory watchdog measures PSS over the browser's process tree and restarts the browser (keeping the session)
 * past a limit, and every stop path kills the browser's process group so no Chromium outlives the session.
 *
 * LocalAuth with `browserWSEndpoint`: its `beforeBrowserInitialized` only creates `<dataDir>/session` and writes
 * `userDataDir` into the puppeteer options (it throws only for a *different* user-supplied `userDataDir`, which we
 * never pass); `puppeteer.connect` ignores `userDataDir`. Chromium was already launched on that same directory, so
 * the session is stored exactly where LocalAuth expects it, and LocalAuth's `logout()` removes that directory.
 *
 * Lifecycle operations (start, stop, logout, watchdog restarts) run one at a time through a queue; stop/logout
 * called during a start abort that start (it tears its browser down) instead of waiting for a QR; concurrent
 * `start()` calls share one operation.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Browser } from 'puppeteer-core';
import wwebjs from 'whatsapp-web.js';
import type {
  Chat as WChat,
  Client as WClient,
  ClientOptions as WClientOptions,
  Contact as WContact,
  GroupChat as WGroupChat,
  Message as WMessage,
} from 'whatsapp-web.js';
import { closeBrowser, launchChromium, processTreePssBytes, removeStaleSingletonFiles, withTimeout } from './browser.js';
import {
  EngineError,
  EngineNotReadyError,
  toChatId,
  type Ack,
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

const { Client, LocalAuth } = wwebjs;

/** Message types that are protocol noise rather than conversation; not emitted as `message`. */
const IGNORED_MESSAGE_TYPES = new Set(['e2e_notification', 'notification_template', 'protocol', 'ciphertext', 'gp2']);

export interface WebjsEngineOptions {
  /** Persistent directory of this instance (a PVC in Kubernetes). The session lives in `<dataDir>/session`. */
  dataDir: string;
  /** Chromium executable, e.g. /usr/bin/chromium. */
  chromiumPath: string;
  /** Restart the browser (keeping the session) when its PSS exceeds this many bytes while WORKING; ≤ 0 disables. */
  memoryLimitBytes: number;
  /** Interval of the memory watchdog, ms. */
  memoryCheckMs: number;
  logger: Logger;
  /**
   * How long `start()` waits for the first QR / pairing code / ready before giving up with FAILED, ms
   * (default 180 000; WhatsApp Web of a large account can take minutes to sync).
   */
  startTimeoutMs?: number | undefined;
  /** Extra Chromium flags (appended to the defaults of `browser.ts`). */
  chromiumArgs?: readonly string[] | undefined;
}

/** One browser + whatsapp-web.js client, from launch to teardown. Event handlers ignore sessions no longer current. */
interface Session {
  browser?: Browser | undefined;
  /** PID of the Chromium browser process (leader of its process group). */
  pid?: number | undefined;
  client?: WClient | undefined;
  /**
   * Set once the session is ending: the state it ends in (undefined: no state change, e.g. a watchdog restart),
   * and whether the stored session must be removed after the browser closed (logged out from the phone).
   */
  ending?: { state: SessionState | undefined; reason: string; wipe?: boolean } | undefined;
  /** True while the start operation waits for its outcome (then endings are handled by that operation). */
  starting: boolean;
  /** Wakes the start operation (first QR/code, ready, or an ending). */
  settle: () => void;
  settled: Promise<void>;
  /** Serializes `message` emission (quoted-message lookups are async) so events keep WhatsApp's order. */
  emitChain: Promise<void>;
}

/**
 * whatsapp-web.js engine. See the module comment for the browser ownership model.
 *
 * Extra API beyond {@link Engine}: {@link WebjsEngine.browserPid}, {@link WebjsEngine.profileDir},
 * {@link WebjsEngine.hasStoredSession}.
 */
export class WebjsEngine extends EventEmitter<EngineEvents> implements Engine {
  readonly kind = 'webjs' as const;
  /** Chromium profile = LocalAuth's session directory (`<dataDir>/session`, LocalAuth's default clientId). */
  readonly profileDir: string;

  private readonly opts: WebjsEngineOptions;
  private readonly log: Logger;
  private state_: SessionState = 'STOPPED';
  private reason_: string | undefined;
  private account_: EngineAccount | undefined;
  private qr_: string | undefined;
  private pairingCode_: string | undefined;
  private session: Session | undefined;
  private queue: Promise<void> = Promise.resolve();
  private watchdog: NodeJS.Timeout | undefined;
  private restarting = false;
  private pendingStart: Promise<void> | undefined;

  constructor(options: WebjsEngineOptions) {
    super();
    this.opts = options;
    this.log = options.logger.child({ component: 'engine-webjs' });
    this.profileDir = WebjsEngine.profileDirOf(options.dataDir);
  }

  /** LocalAuth's session directory for `dataDir` (default clientId): `<dataDir>/session`. */
  static profileDirOf(dataDir: string): string {
    return path.join(path.resolve(dataDir), 'session');
  }

  /**
   * True when the profile in `dataDir` holds WhatsApp Web's IndexedDB, i.e. WhatsApp Web loaded there at least once
   * (a start may then resume without a QR). A bare `<dataDir>/session` is not enough: any launch creates it, even an
   * offline one. Still true after a QR that was never scanned (WhatsApp Web stores its keys before pairing).
   */
  static hasStoredSession(dataDir: string): boolean {
    return existsSync(
      path.join(WebjsEngine.profileDirOf(dataDir), 'Default', 'IndexedDB', 'https_web.whatsapp.com_0.indexeddb.leveldb'),
    );
  }

  state(): SessionState {
    return this.state_;
  }

  stateReason(): string | undefined {
    return this.reason_;
  }

  account(): EngineAccount | undefined {
    return this.state_ === 'WORKING' ? this.account_ : undefined;
  }

  qr(): string | undefined {
    return this.state_ === 'SCAN_QR_CODE' ? this.qr_ : undefined;
  }

  pairingCode(): string | undefined {
    return this.state_ === 'SCAN_QR_CODE' ? this.pairingCode_ : undefined;
  }

  /** PID of the running Chromium browser process, or undefined when no browser runs. */
  browserPid(): number | undefined {
    return this.session?.pid;
  }

  /**
   * Launches Chromium and whatsapp-web.js; resolves at the first QR / pairing code (SCAN_QR_CODE), at ready
   * (WORKING) or at FAILED (browser launch failure, WhatsApp Web unreachable — e.g. `net::ERR_NAME_NOT_RESOLVED` —,
   * `startTimeoutMs` elapsed); on FAILED the browser is already closed. Never rejects. A no-op while a session runs.
   * `options.phone` (digits): log in with a pairing code (whatsapp-web.js `pairWithPhoneNumber`, which calls
   * `requestPairingCode(phone)` once WhatsApp Web asks for authentication) instead of a QR.
   */
  start(options: LoginOptions = {}): Promise<void> {
    // Concurrent starts share one operation (and one browser).
    this.pendingStart ??= this.enqueue(() => this.doStart(options)).finally(() => {
      this.pendingStart = undefined;
    });
    return this.pendingStart;
  }

  /** Stops the session: destroys the client, closes Chromium (kills leftovers), state STOPPED. Keeps the session. */
  stop(): Promise<void> {
    this.abortStart('STOPPED', 'stopped');
    return this.enqueue(async () => {
      if (this.session) await this.teardown(this.session, 'STOPPED', 'stopped');
      else if (this.state_ !== 'STOPPED') this.setState('STOPPED', 'stopped');
    });
  }

  /**
   * Logs out: when WORKING, `client.logout()` (tells WhatsApp to unlink this device, then LocalAuth removes the
   * session directory); in any case closes the browser and removes `<dataDir>/session`. State STOPPED.
   */
  logout(): Promise<void> {
    this.abortStart('STOPPED', 'logged out');
    return this.enqueue(async () => {
      const session = this.session;
      if (session) {
        const client = session.client;
        const wasWorking = this.state_ === 'WORKING';
        session.ending = { state: 'STOPPED', reason: 'logged out' };
        if (wasWorking && client) {
          await withTimeout(client.logout(), 15_000, 'client.logout()').catch((err: unknown) =>
            this.log.warn({ err: errorMessage(err) }, 'whatsapp-web.js logout failed; removing the session anyway'),
          );
        }
        await this.teardown(session, 'STOPPED', 'logged out', false);
      }
      await rm(this.profileDir, { recursive: true, force: true, maxRetries: 4 });
      this.setState('STOPPED', 'logged out');
    });
  }

  async sendText(to: string, text: string, options: SendTextOptions = {}): Promise<EngineMessage> {
    const client = this.workingClient();
    const chatId = toChatId(to);
    let target = chatId;
    if (chatId.endsWith('@c.us')) {
      const numberId = await client.getNumberId(chatId);
      if (!numberId) throw new EngineError('number_not_on_whatsapp', `${chatId} is not on WhatsApp`);
      target = numberId._serialized;
    } else {
      const chat = await client.getChatById(chatId).catch(() => undefined);
      if (!chat) throw new EngineError('chat_not_found', `chat ${chatId} does not exist`);
    }
    const sent = await client.sendMessage(
      target,
      text,
      options.quotedMessageId ? { quotedMessageId: options.quotedMessageId } : undefined,
    );
    return this.toEngineMessage(sent, client);
  }

  async contacts(): Promise<EngineContact[]> {
    const client = this.workingClient();
    const [contacts, chats] = await Promise.all([client.getContacts(), client.getChats()]);
    const participants = new Map<string, string[]>();
    for (const chat of chats) {
      if (chat.isGroup) {
        participants.set(
          chat.id._serialized,
          ((chat as WGroupChat).participants ?? []).map((p) => p.id._serialized),
        );
      }
    }
    return contacts.map((c) => toEngineContact(c, participants.get(c.id._serialized)));
  }

  async chats(): Promise<EngineChat[]> {
    const client = this.workingClient();
    return (await client.getChats()).map(toEngineChat);
  }

  /**
   * PNG of the WhatsApp Web page (QR screen, chats, or Chromium's error page after a failed load) while a browser
   * runs. @throws EngineNotReadyError when no browser runs (STOPPED, or FAILED — the browser is closed on FAILED).
   */
  async screenshot(): Promise<Buffer> {
    const session = this.session;
    if (!session?.browser || session.ending) throw new EngineNotReadyError(this.state_);
    const page = session.client?.pupPage ?? (await session.browser.pages()).at(-1);
    if (!page) throw new EngineNotReadyError(this.state_);
    return Buffer.from(await page.screenshot({ type: 'png' }));
  }

  /** PSS of the browser's process tree in bytes; undefined when no browser runs. */
  async memoryBytes(): Promise<number | undefined> {
    const pid = this.session?.pid;
    return pid === undefined ? undefined : processTreePssBytes(pid);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Lifecycle

  private enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.queue.then(op);
    this.queue = run.catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'lifecycle operation failed'));
    return run;
  }

  /** Makes a start in progress give up (its operation tears the browser down and ends in `state`). */
  private abortStart(state: SessionState, reason: string): void {
    const s = this.session;
    if (s?.starting && !s.ending) {
      s.ending = { state, reason };
      s.settle();
    }
  }

  private async doStart(options: LoginOptions, reason?: string): Promise<void> {
    if (this.session) return; // already running: idempotent
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const session: Session = { starting: true, settle, settled, emitChain: Promise.resolve() };
    this.session = session;
    this.account_ = undefined;
    this.qr_ = undefined;
    this.pairingCode_ = undefined;
    this.setState('STARTING', reason);
    const t0 = Date.now();
    try {
      const removed = await removeStaleSingletonFiles(this.profileDir);
      if (removed.length > 0) this.log.warn({ profileDir: this.profileDir, removed }, 'removed stale Chromium lock files');
      if (!session.ending) {
        const browser = await launchChromium({
          executablePath: this.opts.chromiumPath,
          userDataDir: this.profileDir,
          extraArgs: this.opts.chromiumArgs,
        });
        session.browser = browser;
        session.pid = browser.process()?.pid;
        this.log.info({ browserPid: session.pid, profileDir: this.profileDir, ms: Date.now() - t0 }, 'browser launched');
        browser.once('disconnected', () =>
          this.endSession(session, 'FAILED', `browser exited unexpectedly (pid ${session.pid ?? '?'})`),
        );
        this.startWatchdog();
      }
      if (!session.ending && session.browser) this.startClient(session, session.browser, options);
    } catch (err) {
      this.endSession(session, 'FAILED', `browser launch failed: ${errorMessage(err)}`);
    }

    const timeoutMs = this.opts.startTimeoutMs ?? 180_000;
    const timer = setTimeout(
      () => this.endSession(session, 'FAILED', `WhatsApp Web did not load within ${timeoutMs} ms`),
      timeoutMs,
    );
    timer.unref();
    await session.settled;
    clearTimeout(timer);
    session.starting = false;
    if (session.ending) {
      await this.teardown(session, session.ending.state, session.ending.reason);
    }
    this.log.info({ state: this.state_, reason: this.reason_, ms: Date.now() - t0 }, 'start finished');
  }

  /** Creates the whatsapp-web.js client on `browser`, wires its events and initializes it (not awaited). */
  private startClient(session: Session, browser: Browser, options: LoginOptions): void {
    const phone = options.phone?.replace(/\D/g, '');
    const clientOptions: WClientOptions = {
      authStrategy: new LocalAuth({ dataPath: path.resolve(this.opts.dataDir) }),
      puppeteer: { browserWSEndpoint: browser.wsEndpoint() },
      // whatsapp-web.js' default cache dir is ./.wwebjs_cache in the cwd; keep it on the data volume.
      webVersionCache: { type: 'local', path: path.join(path.resolve(this.opts.dataDir), 'wwebjs-cache') },
      ...(phone ? { pairWithPhoneNumber: { phoneNumber: phone, showNotification: true } } : {}),
    };
    const client = new Client(clientOptions);
    session.client = client;
    this.wireClient(session, client);
    client.initialize().then(
      () => this.log.debug('whatsapp-web.js initialized'),
      (err: unknown) => {
        const msg = errorMessage(err);
        const reason = /net::ERR_/.test(msg)
          ? `WhatsApp Web unreachable: ${msg}`
          : `WhatsApp Web failed to load: ${msg}`;
        this.endSession(session, 'FAILED', reason);
      },
    );
  }

  /**
   * Marks `session` as ending in `state` and gets it torn down: by the start operation when it is still waiting,
   * else through the queue. Ignores sessions that are no longer current or already ending.
   */
  private endSession(session: Session, state: SessionState | undefined, reason: string, wipe = false): void {
    if (this.session !== session || session.ending) return;
    session.ending = { state, reason, wipe };
    this.log.info({ state, reason }, 'session ending');
    if (session.starting) session.settle();
    else void this.enqueue(() => this.teardown(session, state, reason));
  }

  /**
   * Destroys the client, closes Chromium (kills its process group if it does not exit) and, when `state` is given,
   * sets it. The session directory stays. No-op for a session already torn down.
   */
  private async teardown(
    session: Session,
    state: SessionState | undefined,
    reason: string,
    destroyClient = true,
  ): Promise<void> {
    if (this.session !== session) return;
    session.ending ??= { state, reason };
    this.stopWatchdog();
    if (destroyClient && session.client) {
      await withTimeout(session.client.destroy(), 5_000, 'client.destroy()').catch((err: unknown) =>
        this.log.debug({ err: errorMessage(err) }, 'client.destroy() failed'),
      );
    }
    if (session.browser) await closeBrowser(session.browser);
    this.log.info({ browserPid: session.pid }, 'browser closed');
    if (session.ending?.wipe) {
      // WhatsApp logged this device out: LocalAuth already removed the profile while Chromium ran; whatever Chromium
      // wrote back while closing must go too, so the next start shows a fresh QR.
      await rm(this.profileDir, { recursive: true, force: true, maxRetries: 4 }).catch((err: unknown) =>
        this.log.warn({ err: errorMessage(err) }, 'could not remove the session directory'),
      );
    }
    this.session = undefined;
    this.qr_ = undefined;
    this.pairingCode_ = undefined;
    if (state) {
      if (state !== 'WORKING') this.account_ = undefined;
      this.setState(state, reason);
    }
  }

  private setState(state: SessionState, reason?: string): void {
    if (this.state_ === state && this.reason_ === reason) return;
    this.state_ = state;
    this.reason_ = reason;
    this.log.info({ state, reason }, 'session state');
    this.safeEmit('state', state, reason);
  }

  private safeEmit<K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]): void {
    try {
      // EventEmitter's generic overloads cannot relate K to its argument tuple here.
      (this.emit as (e: K, ...a: EngineEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error({ err: errorMessage(err), event }, 'engine event listener threw');
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // whatsapp-web.js events

  private wireClient(session: Session, client: WClient): void {
    const live = (): boolean => this.session === session && !session.ending;
    const guard =
      <A extends unknown[]>(name: string, fn: (...args: A) => void | Promise<void>) =>
      (...args: A): void => {
        if (!live()) return;
        try {
          const r = fn(...args);
          if (r instanceof Promise) r.catch((err: unknown) => this.log.warn({ err: errorMessage(err), event: name }, 'event handler failed'));
        } catch (err) {
          this.log.warn({ err: errorMessage(err), event: name }, 'event handler failed');
        }
      };

    client.on(
      'qr',
      guard('qr', (qr: string) => {
        this.qr_ = qr;
        this.setState('SCAN_QR_CODE');
        this.safeEmit('qr', qr);
        session.settle();
      }),
    );
    client.on(
      'code',
      guard('code', (code: string) => {
        this.pairingCode_ = code;
        this.setState('SCAN_QR_CODE');
        this.safeEmit('pairing_code', code);
        session.settle();
      }),
    );
    client.on(
      'authenticated',
      guard('authenticated', () => this.log.info('whatsapp-web.js authenticated; waiting for ready')),
    );
    client.on(
      'ready',
      guard('ready', () => {
        const wid = client.info?.wid;
        const account: EngineAccount = {
          id: wid?._serialized ?? '',
          phone: wid?.user ?? '',
          pushname: client.info?.pushname || undefined,
        };
        const first = this.state_ !== 'WORKING';
        this.account_ = account;
        this.qr_ = undefined;
        this.pairingCode_ = undefined;
        if (first) this.safeEmit('authenticated', account);
        this.setState('WORKING');
        session.settle();
      }),
    );
    client.on(
      'auth_failure',
      guard('auth_failure', (message: string) => this.endSession(session, 'FAILED', `authentication failed: ${message}`)),
    );
    client.on(
      'disconnected',
      guard('disconnected', (reason: string) => {
        if (reason === 'LOGOUT') this.endSession(session, 'STOPPED', 'logged out from the phone', true);
        else this.endSession(session, 'FAILED', `disconnected: ${reason}`);
      }),
    );
    client.on(
      'change_state',
      guard('change_state', (state: string) => this.log.info({ waState: state }, 'WhatsApp connection state')),
    );
    client.on(
      'message_create',
      guard('message_create', (msg: WMessage) => {
        if (msg.isStatus || IGNORED_MESSAGE_TYPES.has(msg.type)) return;
        session.emitChain = session.emitChain
          .then(async () => {
            const m = await this.toEngineMessage(msg, client);
            if (live()) this.safeEmit('message', m);
          })
          .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'could not map a message'));
      }),
    );
    client.on(
      'message_ack',
      guard('message_ack', (msg: WMessage, ack: number) => {
        this.safeEmit('message_ack', { id: msg.id._serialized, chatId: chatIdOf(msg), ack: toAck(ack) });
      }),
    );
    client.on(
      'contact_changed',
      guard('contact_changed', (_msg: WMessage, _oldId: string, newId: string, isContact: boolean) => {
        const id = widString(newId);
        this.safeEmit('contact', {
          id,
          number: id.endsWith('@c.us') ? id.split('@')[0] : undefined,
          isGroup: false,
          isMyContact: isContact || undefined,
        });
      }),
    );
    client.on(
      'unread_count',
      guard('unread_count', (chat: WChat) => this.safeEmit('chat', toEngineChat(chat))),
    );
  }

  /** Maps a whatsapp-web.js message; looks the quoted message up in the page when there is one (one evaluate). */
  private async toEngineMessage(msg: WMessage, client: WClient): Promise<EngineMessage> {
    const chatId = chatIdOf(msg);
    const isGroup = chatId.endsWith('@g.us');
    const me = this.account_?.id ?? widString(client.info?.wid?._serialized);
    const author = msg.fromMe ? me || widString(msg.from) : isGroup ? widString(msg.author) : widString(msg.from);
    let quotedMessageId: string | undefined;
    if (msg.hasQuotedMsg) {
      const quoted = await msg.getQuotedMessage().catch(() => undefined);
      quotedMessageId = quoted?.id?._serialized;
    }
    return {
      id: msg.id._serialized,
      chatId,
      author,
      fromMe: msg.fromMe,
      isGroup,
      type: String(msg.type),
      body: msg.body ?? '',
      timestamp: (msg.timestamp ?? 0) * 1000,
      ack: toAck(msg.ack),
      quotedMessageId,
    };
  }

  private workingClient(): WClient {
    const client = this.session?.client;
    if (this.state_ !== 'WORKING' || !client || this.session?.ending) throw new EngineNotReadyError(this.state_);
    return client;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Memory watchdog

  private startWatchdog(): void {
    this.stopWatchdog();
    if (this.opts.memoryCheckMs <= 0) return;
    this.watchdog = setInterval(() => void this.checkMemory(), this.opts.memoryCheckMs);
    this.watchdog.unref();
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  /** One watchdog tick: restarts the browser (stop + start from the stored session) when WORKING and over the limit. */
  private async checkMemory(): Promise<void> {
    const session = this.session;
    if (!session || session.ending || this.restarting) return;
    const bytes = await this.memoryBytes();
    if (bytes === undefined) return;
    const limit = this.opts.memoryLimitBytes;
    this.log.debug({ pssBytes: bytes, limitBytes: limit }, 'browser memory');
    if (limit <= 0 || bytes <= limit || this.state_ !== 'WORKING' || this.session !== session) return;
    this.log.warn(
      { pssBytes: bytes, limitBytes: limit, browserPid: session.pid },
      'browser memory over the limit: restarting the browser (session kept)',
    );
    this.restarting = true;
    session.ending = { state: undefined, reason: 'memory limit' };
    await this.enqueue(async () => {
      await this.teardown(session, undefined, 'memory limit');
      if (!this.session) await this.doStart({}, 'restarting the browser: memory limit exceeded');
    }).finally(() => {
      this.restarting = false;
    });
  }
}

// -----------------------------------------------------------------------------------------------------------------
// Mapping helpers

/** whatsapp-web.js ids are usually strings but may arrive as `{ _serialized }` objects (Wid); normalize. */
function widString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && '_serialized' in value) return String(value._serialized);
  return '';
}

/** The chat a message belongs to: `id.remote`, else the peer (`to` for own messages, `from` otherwise). */
function chatIdOf(msg: WMessage): string {
  return widString(msg.id?.remote) || widString(msg.fromMe ? msg.to : msg.from);
}

/** Clamps WhatsApp's ack number to {@link Ack}. */
function toAck(ack: unknown): Ack {
  const n = typeof ack === 'number' && Number.isFinite(ack) ? Math.trunc(ack) : 0;
  return Math.max(-1, Math.min(4, n)) as Ack;
}

function toEngineContact(c: WContact, participants: string[] | undefined): EngineContact {
  return {
    id: c.id._serialized,
    number: c.isGroup ? undefined : c.number || c.id.user || undefined,
    name: c.name || undefined,
    pushname: c.pushname || undefined,
    isGroup: c.isGroup,
    isMyContact: c.isMyContact,
    participants: c.isGroup ? (participants ?? []) : undefined,
  };
}

function toEngineChat(c: WChat): EngineChat {
  return {
    id: c.id._serialized,
    name: c.name || undefined,
    isGroup: c.isGroup,
    unreadCount: c.unreadCount ?? 0,
    lastMessageAt: c.timestamp ? c.timestamp * 1000 : undefined,
  };
}

/** Error text of anything thrown (whatsapp-web.js sometimes throws plain strings). */
function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}
