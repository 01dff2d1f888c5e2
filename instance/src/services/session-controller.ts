/**
 * Session control: logging the WhatsApp account in (QR or pairing code) and out, the pending QR, the session status,
 * liveness and readiness, the screenshot. Also what follows from the engine's session events: the session-state and
 * reconnect metrics, the live `session.status` / `qr` / `pairing_code` events and the `session.status` webhook.
 * Every state change is an event with its reason (and, during a reconnect streak, the attempt and the next retry).
 */
import type { Logger } from 'pino';
import type { Engine, EngineAccount, SessionState } from '../engines/engine.js';
import { AppError } from '../errors.js';
import { loadQrcode } from '../qrcode.js';
import type { Metrics } from '../metrics.js';
import type { WebhookOutbox } from '../webhooks/outbox.js';
import { callEngine } from './engine-errors.js';
import { runGuarded } from './guarded.js';
import type { LiveEvents } from './live-events.js';

/** How long a login waits for a start already under way to show a QR, ms. */
export const LOGIN_WAIT_MS = 30_000;

/** A reconnect streak as `/health`, the event stream and webhooks show it. */
export interface ReconnectView {
  /** Retries scheduled or made so far. */
  attempt: number;
  maxAttempts: number;
  /** When the next retry starts (ISO 8601), while one is scheduled. */
  retryAt?: string | undefined;
  /** The budget is spent: FAILED until a new start, and `/health/live` answers 503. */
  exhausted: boolean;
}

/** The session status as `/health`, the event stream and webhooks show it. */
export interface SessionStatus {
  state: SessionState;
  /** Why the session is in this state (always for FAILED, STOPPED and DISCONNECTED). */
  reason?: string | undefined;
  /** The reconnect streak, while there is one. */
  reconnect?: ReconnectView | undefined;
  /** The logged-in account (WORKING only). */
  account?: EngineAccount | undefined;
}

/** The session status with what a person needs to log in: the QR (raw and as a PNG data URL) or the pairing code. */
export interface LoginView extends SessionStatus {
  qr?: string;
  /** `data:image/png;base64,…` */
  qrImage?: string;
  pairingCode?: string;
}

export interface SessionControllerOptions {
  engine: Engine;
  live: LiveEvents;
  outbox: WebhookOutbox;
  metrics: Metrics;
  logger: Logger;
}

const renderQr = async (qr: string) => (await loadQrcode()).toDataURL(qr, { errorCorrectionLevel: 'L', margin: 2, scale: 6 });

export class SessionController {
  readonly #engine: Engine;
  readonly #startedAt = Date.now();
  /** The last QR rendered, so each QR string is rendered once. */
  #qrCache: { qr: string; image: string } | undefined;
  /** The session was lost since it last was WORKING (a WORKING then counts as a reconnect). */
  #lost = false;

  constructor(private readonly opts: SessionControllerOptions) {
    const e = (this.#engine = opts.engine);
    e.on('state', (state, reason) => this.#guard(() => this.#onState(state, reason)));
    e.on('qr', (qr) => this.#guard(() => this.#onQr(qr)));
    e.on('pairing_code', (code) => this.#guard(() => opts.live.publish('pairing_code', { code })));
    e.on('authenticated', (account) => this.#guard(() => opts.logger.info({ account: account.id }, 'session authenticated')));
  }

  /** Current session state. */
  state(): SessionState {
    return this.#engine.state();
  }

  /** The current session status (with its reason and reconnect streak when there are). */
  status(): SessionStatus {
    const state = this.#engine.state();
    const reason = this.#engine.stateReason();
    const rc = this.#engine.reconnectStatus();
    return {
      state,
      ...(reason === undefined ? {} : { reason }),
      ...(rc
        ? {
            reconnect: {
              attempt: rc.attempt,
              maxAttempts: rc.maxAttempts,
              ...(rc.retryAt === undefined ? {} : { retryAt: new Date(rc.retryAt).toISOString() }),
              exhausted: rc.exhausted,
            },
          }
        : {}),
      account: this.#engine.account(),
    };
  }

  /**
   * Liveness: false only once the session is FAILED because the reconnect budget is spent — restarting the process
   * (Kubernetes' liveness probe, Docker, the process supervisor) is then the next thing to try. Any other state,
   * FAILED for another reason included (a QR never scanned, a refused session), is alive.
   */
  live(): boolean {
    return !(this.#engine.state() === 'FAILED' && this.#engine.reconnectStatus()?.exhausted);
  }

  /** Readiness: the session is WORKING (messages can be sent and are received). */
  ready(): boolean {
    return this.#engine.state() === 'WORKING';
  }

  /** Milliseconds since the service started. */
  uptimeMs(): number {
    return Date.now() - this.#startedAt;
  }

  /**
   * Starts a login: resolves with the status and the QR (or, with `phone` in international digits, the pairing code)
   * once the engine shows one (or the state it reached instead: WORKING with a stored session, DISCONNECTED when the
   * network is away and retries go on). A login while one is under way returns the pending QR; a start under way is
   * waited for up to {@link LOGIN_WAIT_MS}.
   * @throws AppError `session_busy` when already logged in.
   */
  async login(phone?: string): Promise<LoginView> {
    const engine = this.#engine;
    const st = engine.state();
    if (st === 'WORKING') throw new AppError('session_busy', 'The session is already logged in; log out first to link another account.');
    // A start under way (also a reconnect attempt) is waited for; from STOPPED, DISCONNECTED or FAILED a new start
    // begins at once with a fresh reconnect budget.
    if (st === 'STARTING' || st === 'AUTHENTICATING') {
      await this.#waitForState(['SCAN_QR_CODE', 'WORKING', 'DISCONNECTED', 'FAILED', 'STOPPED'], LOGIN_WAIT_MS);
    } else if (st !== 'SCAN_QR_CODE') await engine.start({ phone });
    return this.#loginView();
  }

  /** The pending QR or pairing code. @throws AppError `qr_not_available` unless the session waits for a scan. */
  async pendingLogin(): Promise<LoginView> {
    const st = this.#engine.state();
    if (st !== 'SCAN_QR_CODE')
      throw new AppError('qr_not_available', `No QR code is pending (session is ${st}); start a login with POST /v1/session/login.`);
    return this.#loginView();
  }

  /** The pending QR, raw and as a PNG data URL, while the session waits for a scan; else undefined. */
  async pendingQr(): Promise<{ qr: string; image: string } | undefined> {
    const qr = this.#engine.qr();
    if (!qr || this.#engine.state() !== 'SCAN_QR_CODE') return undefined;
    if (this.#qrCache?.qr !== qr) this.#qrCache = { qr, image: await renderQr(qr) };
    return this.#qrCache;
  }

  /** Logs the account out and forgets the stored session; resolves with the status after. */
  async logout(): Promise<SessionStatus> {
    await this.#engine.logout();
    return this.status();
  }

  /**
   * PNG of what the session shows. @throws AppError `session_not_ready` (409) when no session runs, and one with
   * `details.retryAfterS` (seconds) while it starts and its screen cannot be captured yet (see `callEngine`).
   */
  screenshot(): Promise<Buffer> {
    return callEngine(() => this.#engine.screenshot());
  }

  async #loginView(): Promise<LoginView> {
    const pending = await this.pendingQr();
    const pairingCode = this.#engine.pairingCode();
    return {
      ...this.status(),
      ...(pending ? { qr: pending.qr, qrImage: pending.image } : {}),
      ...(pairingCode ? { pairingCode } : {}),
    };
  }

  /** Resolves when the engine reaches one of `states` (or after `timeoutMs`). */
  #waitForState(states: SessionState[], timeoutMs: number): Promise<void> {
    const engine = this.#engine;
    if (states.includes(engine.state())) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, timeoutMs);
      function onState(st: SessionState) {
        if (states.includes(st)) done();
      }
      function done() {
        clearTimeout(t);
        engine.off('state', onState);
        resolve();
      }
      engine.on('state', onState);
    });
  }

  #guard(fn: () => unknown): void {
    runGuarded(this.opts.logger, 'session event handling', fn);
  }

  async #onState(state: SessionState, reason?: string): Promise<void> {
    const m = this.opts.metrics;
    m.setSessionState(state);
    if (state !== 'SCAN_QR_CODE') this.#qrCache = undefined;
    const status = this.status();
    if (state === 'DISCONNECTED') {
      this.#lost = true;
      m.reconnectAttempts.inc();
    } else if (state === 'WORKING' && this.#lost) {
      this.#lost = false;
      m.reconnects.inc();
    } else if (state === 'FAILED' && status.reconnect?.exhausted) {
      this.#lost = false;
      m.reconnectsExhausted.inc();
    } else if (state === 'STOPPED') this.#lost = false;
    const data = {
      state,
      ...(reason ? { reason } : {}),
      ...(status.reconnect ? { reconnect: status.reconnect } : {}),
      account: this.#engine.account(),
    };
    this.opts.logger.info({ state, reason, reconnect: status.reconnect }, 'session state');
    this.opts.live.publish('session.status', data);
    await this.opts.outbox.queue('session.status', `${Date.now()}:${state}:${Math.random()}`, data);
  }

  async #onQr(qr: string): Promise<void> {
    const image = await renderQr(qr);
    this.#qrCache = { qr, image };
    this.opts.live.publish('qr', { qr, image });
    // For the api only (tenants read the QR from the session): the dashboard shows it live to owners and admins.
    await this.opts.outbox.queue('session.qr', qr, { qr, image });
  }
}
