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
 * Lifecycle operations (start, stop, logout, watchdog restarts, reconnects) run one at a time through a queue;
 * stop/logout called during a start abort that start (it tears its browser down) instead of waiting for a QR;
 * concurrent `start()` calls share one operation.
 *
 * Reconnects: a browser or page crash, whatsapp-web.js' `disconnected` (but a logout from the phone and the states of
 * `FINAL_DISCONNECTS`), a failed navigation or a start timeout restart the browser on the same profile (no new QR)
 * after the backoff of `../reconnect.ts`, DISCONNECTED meanwhile; FAILED once the budget is spent.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Browser } from 'puppeteer-core';
import wwebjs from 'whatsapp-web.js';
import type { ClientOptions as WClientOptions } from 'whatsapp-web.js';
import { clientIsWebjsClient, type WebjsClient as WClient } from './client.js';
import type { EngineGroup } from '../engine-sync.js';
import { DEFAULT_RECONNECT_POLICY, Reconnector } from '../reconnect.js';
import { closeBrowser, launchChromium, processTreePssBytes, removeStaleSingletonFiles, withTimeout } from './browser.js';
import {
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
import { delegateFeatures, type FeatureMethods } from '../features.js';
import { wireClient } from './client-events.js';
import { WebjsFeatures } from './features.js';
import { readChats, readContacts, sendChatState } from './directory.js';
import { fetchMessagesSince } from './history.js';
import type { WebjsEngineOptions } from './options.js';
import { errorMessage, widString } from './mapping.js';
import { sendTextMessage } from './send.js';
import { markChatRead, readGroups } from './sync.js';
import { ChromiumSandboxError } from './sandbox.js';
import { runScreenshot, type BrowserRun } from './run.js';
import { MemoryWatchdog } from './watchdog.js';

const { Client, LocalAuth } = wwebjs;
export type { WebjsEngineOptions } from './options.js';

/**
 * whatsapp-web.js engine. See the module comment for the browser ownership model.
 *
 * Extra API beyond {@link Engine}: {@link WebjsEngine.browserPid}, {@link WebjsEngine.profileDir},
 * {@link WebjsEngine.hasStoredSession}.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- the feature methods, see the end of this file
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
  private run: BrowserRun | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly watchdog: MemoryWatchdog;
  private pendingStart: Promise<void> | undefined;
  private readonly reconnector: Reconnector;
  /** Bumped by start/stop/logout: a retry scheduled before is dropped. */
  private epoch = 0;
  private login: LoginOptions = {};
  /** Message actions, group administration and media; the `Engine` methods of those delegate here (`../features.ts`). */
  readonly features = new WebjsFeatures({
    client: () => this.workingClient(),
    me: () => this.account_?.id ?? widString(this.run?.client?.info?.wid?._serialized),
    emit: (event, ...args) => this.safeEmit(event, ...args),
  });

  constructor(options: WebjsEngineOptions) {
    super();
    this.opts = options;
    this.log = options.logger.child({ component: 'engine-webjs' });
    this.profileDir = WebjsEngine.profileDirOf(options.dataDir);
    this.reconnector = new Reconnector({ ...DEFAULT_RECONNECT_POLICY, ...options.reconnect });
    this.watchdog = new MemoryWatchdog({
      limitBytes: options.memoryLimitBytes,
      intervalMs: options.memoryCheckMs,
      log: this.log,
      measure: () => this.memoryBytes(),
      eligible: () => this.state_ === 'WORKING' && this.run !== undefined && !this.run.ending,
      recycle: () => this.recycleBrowser(),
    });
  }

  /** LocalAuth's session directory for `dataDir` (default clientId): `<dataDir>/session`. */
  static profileDirOf(dataDir: string): string {
    return path.join(path.resolve(dataDir), 'session');
  }

  /**
   * True when the profile in `dataDir` holds WhatsApp Web's IndexedDB (it loaded there once, so a start may resume
   * without a QR); a bare `<dataDir>/session` is not (any launch creates it). Also true after a QR never scanned.
   */
  static hasStoredSession(dataDir: string): boolean {
    return existsSync(path.join(WebjsEngine.profileDirOf(dataDir), 'Default', 'IndexedDB', 'https_web.whatsapp.com_0.indexeddb.leveldb'));
  }

  state(): SessionState {
    return this.state_;
  }

  stateReason(): string | undefined {
    return this.reason_;
  }

  reconnectStatus(): ReconnectStatus | undefined {
    return this.reconnector.status();
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
    return this.run?.pid;
  }

  /**
   * Launches Chromium and whatsapp-web.js; resolves at the first QR / pairing code (SCAN_QR_CODE), at ready
   * (WORKING), at DISCONNECTED (browser launch failure, WhatsApp Web unreachable — e.g. `net::ERR_NAME_NOT_RESOLVED`
   * —, `startTimeoutMs` elapsed: retried with backoff) or FAILED; the browser of a failed attempt is already closed.
   * Never rejects. A no-op while a session runs; otherwise a spent reconnect budget is forgotten.
   * `options.phone` (digits): log in with a pairing code (whatsapp-web.js `pairWithPhoneNumber`, which calls
   * `requestPairingCode(phone)` once WhatsApp Web asks for authentication) instead of a QR.
   */
  start(options: LoginOptions = {}): Promise<void> {
    if (!this.run) {
      this.epoch++;
      this.reconnector.reset();
      this.login = options;
    }
    // Concurrent starts share one operation (and one browser).
    this.pendingStart ??= this.enqueue(() => this.doStart(options)).finally(() => {
      this.pendingStart = undefined;
    });
    return this.pendingStart;
  }

  /** Stops the session: destroys the client, closes Chromium (kills leftovers), state STOPPED. Keeps the session. */
  stop(): Promise<void> {
    this.epoch++;
    this.reconnector.reset();
    this.abortStart('STOPPED', 'stopped');
    return this.enqueue(async () => {
      if (this.run) await this.teardown(this.run, 'STOPPED', 'stopped');
      else if (this.state_ !== 'STOPPED') this.setState('STOPPED', 'stopped');
    });
  }

  /**
   * Logs out: when WORKING, `client.logout()` (tells WhatsApp to unlink this device, then LocalAuth removes the
   * session directory); in any case closes the browser and removes `<dataDir>/session`. State STOPPED.
   */
  logout(): Promise<void> {
    this.epoch++;
    this.reconnector.reset();
    this.abortStart('STOPPED', 'logged out');
    return this.enqueue(async () => {
      const run = this.run;
      if (run) {
        const client = run.client;
        const wasWorking = this.state_ === 'WORKING';
        run.ending = { state: 'STOPPED', reason: 'logged out' };
        if (wasWorking && client) {
          await withTimeout(client.logout(), 15_000, 'client.logout()').catch((err: unknown) =>
            this.log.warn({ err: errorMessage(err) }, 'whatsapp-web.js logout failed; removing the session anyway'),
          );
        }
        await this.teardown(run, 'STOPPED', 'logged out', false);
      }
      await rm(this.profileDir, { recursive: true, force: true, maxRetries: 4 });
      this.setState('STOPPED', 'logged out');
    });
  }

  /** See {@link Engine.sendText}: `Client.sendMessage` after checking the target (`send.ts`). */
  async sendText(to: string, text: string, options: SendTextOptions = {}): Promise<EngineMessage> {
    const client = this.workingClient();
    return sendTextMessage(client, to, text, options, this.account_?.id ?? widString(client.info?.wid?._serialized));
  }

  /** See {@link Engine.sendChatState}: `Chat.sendStateTyping()`, `sendStateRecording()` or `clearState()`. */
  async sendChatState(chatId: string, state: ChatState): Promise<void> {
    await sendChatState(this.workingClient(), toChatId(chatId), state);
  }

  async contacts(): Promise<EngineContact[]> {
    return readContacts(this.workingClient());
  }

  async chats(): Promise<EngineChat[]> {
    return readChats(this.workingClient());
  }

  /** See `EngineSync.groups`: the group chats of `Client.getChats()`. */
  async groups(): Promise<EngineGroup[]> {
    return readGroups(this.workingClient());
  }

  /** See `EngineSync.markChatRead`: `Chat.sendSeen()`. */
  async markChatRead(chatId: string): Promise<void> {
    await markChatRead(this.workingClient(), toChatId(chatId));
  }

  /** See {@link Engine.messagesSince}: `Chat.fetchMessages({ limit })`, filtered by time. */
  async messagesSince(chatId: string, sinceMs: number, limit: number): Promise<EngineMessage[]> {
    checkHistoryLimit(limit);
    const client = this.workingClient();
    return fetchMessagesSince(client, toChatId(chatId), sinceMs, limit, this.account_?.id ?? widString(client.info?.wid?._serialized));
  }

  /**
   * PNG of the WhatsApp Web page (QR screen, chats, Chromium's error page) while a browser runs. @throws EngineNotReadyError
   * when none runs (STOPPED, FAILED); with `retryAfterMs` while it starts and no page can be captured yet (`runScreenshot`).
   */
  async screenshot(): Promise<Buffer> {
    const png = await runScreenshot(this.run, () => this.state_);
    if (!png) throw new EngineNotReadyError(this.state_);
    return png;
  }

  /** PSS of the browser's process tree in bytes; undefined when no browser runs. */
  async memoryBytes(): Promise<number | undefined> {
    const pid = this.run?.pid;
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
    const s = this.run;
    if (s?.starting && !s.ending) {
      s.ending = { state, reason };
      s.settle();
    }
  }

  private async doStart(options: LoginOptions, reason?: string): Promise<void> {
    if (this.run) return; // already running: idempotent
    this.reconnector.cancel();
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const run: BrowserRun = { starting: true, settle, settled };
    this.run = run;
    this.account_ = undefined;
    this.qr_ = undefined;
    this.pairingCode_ = undefined;
    this.setState('STARTING', reason);
    const t0 = Date.now();
    try {
      const removed = await removeStaleSingletonFiles(this.profileDir);
      if (removed.length > 0) this.log.warn({ profileDir: this.profileDir, removed }, 'removed stale Chromium lock files');
      if (!run.ending && this.opts.launchBrowser === false) this.startClient(run, undefined, options);
      else if (!run.ending) {
        const browser = await launchChromium({
          executablePath: this.opts.chromiumPath,
          userDataDir: this.profileDir,
          extraArgs: this.opts.chromiumArgs,
          sandbox: this.opts.chromiumSandbox,
          logger: this.log,
        });
        run.browser = browser;
        run.pid = browser.process()?.pid;
        this.log.info({ browserPid: run.pid, profileDir: this.profileDir, ms: Date.now() - t0 }, 'browser launched');
        browser.once('disconnected', () =>
          this.endRun(run, 'FAILED', `browser exited unexpectedly (pid ${run.pid ?? '?'})`, { retry: true }),
        );
        run.page = (await browser.pages())[0]; // before whatsapp-web.js connects: the only page
        this.watchdog.start();
      }
      if (!run.ending && run.browser) this.startClient(run, run.browser, options);
    } catch (err) {
      this.endRun(run, 'FAILED', `browser launch failed: ${errorMessage(err)}`, { retry: !(err instanceof ChromiumSandboxError) });
    }

    const timeoutMs = this.opts.startTimeoutMs ?? 180_000;
    const timer = setTimeout(
      () => this.endRun(run, 'FAILED', `WhatsApp Web did not load within ${timeoutMs} ms`, { retry: true }),
      timeoutMs,
    );
    timer.unref();
    await run.settled;
    clearTimeout(timer);
    run.starting = false;
    if (run.ending) {
      await this.teardown(run, run.ending.state, run.ending.reason);
    }
    this.log.info({ state: this.state_, reason: this.reason_, ms: Date.now() - t0 }, 'start finished');
  }

  /** Creates the whatsapp-web.js client (on `browser`, when one was launched), wires its events and initializes it. */
  private startClient(run: BrowserRun, browser: Browser | undefined, options: LoginOptions): void {
    const phone = options.phone?.replace(/\D/g, '');
    const clientOptions: WClientOptions = {
      authStrategy: new LocalAuth({ dataPath: path.resolve(this.opts.dataDir) }),
      puppeteer: browser ? { browserWSEndpoint: browser.wsEndpoint() } : {},
      // whatsapp-web.js' default cache dir is ./.wwebjs_cache in the cwd; keep it on the data volume.
      webVersionCache: { type: 'local', path: path.join(path.resolve(this.opts.dataDir), 'wwebjs-cache') },
      ...(phone ? { pairWithPhoneNumber: { phoneNumber: phone, showNotification: true } } : {}),
    };
    const client = this.opts.createClient ? this.opts.createClient(clientOptions) : clientIsWebjsClient(new Client(clientOptions));
    run.client = client;
    this.wireClient(run, client);
    client.initialize().then(
      () => {
        this.log.debug('whatsapp-web.js initialized');
        // A renderer crash ("Aw, Snap!") leaves whatsapp-web.js without a page: start again.
        client.pupPage?.once('error', (err: Error) => this.endRun(run, 'FAILED', `page crashed: ${errorMessage(err)}`, { retry: true }));
      },
      (err: unknown) => {
        const msg = errorMessage(err);
        const reason = /net::ERR_/.test(msg) ? `WhatsApp Web unreachable: ${msg}` : `WhatsApp Web failed to load: ${msg}`;
        this.endRun(run, 'FAILED', reason, { retry: true });
      },
    );
  }

  /**
   * Marks `run` as ending in `state` and gets it torn down: by the start operation when it is still waiting,
   * else through the queue. Ignores sessions that are no longer current or already ending.
   */
  private endRun(run: BrowserRun, state: SessionState | undefined, reason: string, how: { wipe?: boolean; retry?: boolean } = {}): void {
    if (this.run !== run || run.ending) return;
    run.ending = { state, reason, ...how };
    this.log.info({ state, reason }, 'session ending');
    if (run.starting) run.settle();
    else void this.enqueue(() => this.teardown(run, state, reason));
  }

  /**
   * Destroys the client, closes Chromium (kills its process group if it does not exit) and, when `state` is given,
   * sets it. The session directory stays. No-op for a run already torn down.
   */
  private async teardown(run: BrowserRun, state: SessionState | undefined, reason: string, destroyClient = true): Promise<void> {
    if (this.run !== run) return;
    run.ending ??= { state, reason };
    this.watchdog.stop();
    if (destroyClient && run.client) {
      await withTimeout(run.client.destroy(), 5_000, 'client.destroy()').catch((err: unknown) =>
        this.log.debug({ err: errorMessage(err) }, 'client.destroy() failed'),
      );
    }
    if (run.browser) await closeBrowser(run.browser);
    this.log.info({ browserPid: run.pid }, 'browser closed');
    if (run.ending?.wipe) {
      // WhatsApp logged this device out: LocalAuth already removed the profile while Chromium ran; whatever Chromium
      // wrote back while closing must go too, so the next start shows a fresh QR.
      await rm(this.profileDir, { recursive: true, force: true, maxRetries: 4 }).catch((err: unknown) =>
        this.log.warn({ err: errorMessage(err) }, 'could not remove the session directory'),
      );
    }
    this.run = undefined;
    this.qr_ = undefined;
    this.pairingCode_ = undefined;
    if (state) {
      if (state !== 'WORKING') this.account_ = undefined;
      if (run.ending?.retry) this.retryLater(reason);
      else this.setState(state, reason);
    }
  }

  /** After a failed run: DISCONNECTED with a start scheduled after the backoff, or FAILED once the budget is spent. */
  private retryLater(reason: string): void {
    const epoch = this.epoch;
    const next = this.reconnector.failed(reason, () => {
      void this.enqueue(async () => {
        if (this.epoch !== epoch || this.run) return;
        await this.doStart(this.login, `reconnecting (attempt ${next!.attempt} of ${this.reconnector.policy.maxAttempts})`);
      });
    });
    if (!next) return this.setState('FAILED', `${reason}; gave up after ${this.reconnector.status()?.attempt ?? 0} reconnect attempts`);
    this.log.warn({ reason, attempt: next.attempt, delayMs: next.delayMs }, 'session lost: starting again after a delay');
    this.setState('DISCONNECTED', reason);
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

  /** Subscribes to `client`'s events; the state they change is this engine's, and only while `run` is current. */
  private wireClient(run: BrowserRun, client: WClient): void {
    wireClient(client, {
      live: () => this.run === run && !run.ending,
      authenticating: () => this.setState('AUTHENTICATING'),
      qr: (qr) => {
        this.qr_ = qr;
        this.setState('SCAN_QR_CODE');
        this.safeEmit('qr', qr);
        run.settle();
      },
      pairingCode: (code) => {
        this.pairingCode_ = code;
        this.setState('SCAN_QR_CODE');
        this.safeEmit('pairing_code', code);
        run.settle();
      },
      ready: (account) => {
        const first = this.state_ !== 'WORKING';
        this.account_ = account;
        this.qr_ = undefined;
        this.pairingCode_ = undefined;
        if (first) this.safeEmit('authenticated', account);
        this.reconnector.succeeded();
        this.setState('WORKING');
        run.settle();
      },
      end: (state, reason, how) => this.endRun(run, state, reason, how),
      emit: (event, ...args) => this.safeEmit(event, ...args),
      ownId: () => this.account_?.id ?? widString(client.info?.wid?._serialized),
      log: this.log,
    });
  }

  private workingClient(): WClient {
    const client = this.run?.client;
    if (this.state_ !== 'WORKING' || !client || this.run?.ending) throw new EngineNotReadyError(this.state_);
    return client;
  }

  /** The watchdog's recycle: tears the browser down and starts it again on the same profile (the session is kept). */
  private recycleBrowser(): Promise<void> {
    const run = this.run;
    if (!run || run.ending) return Promise.resolve();
    run.ending = { state: undefined, reason: 'memory limit' };
    return this.enqueue(async () => {
      await this.teardown(run, undefined, 'memory limit');
      if (!this.run) await this.doStart(this.login, 'restarting the browser: memory limit exceeded');
    });
  }
}

// The message actions, group administration and media of `Engine`, forwarded to `features`.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type -- defined by delegateFeatures
export interface WebjsEngine extends FeatureMethods {}
delegateFeatures(WebjsEngine.prototype);
