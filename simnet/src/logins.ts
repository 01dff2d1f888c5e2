/**
 * Pending logins of the simulated network: a connection that asked to log in is shown rotating QRs (a new one every
 * `qrIntervalMs`, at most `qrMaxCount`) or one pairing code (for a phone-number login, valid as long), until a phone
 * scans/confirms it through the test hooks or the login times out with `login_failed`.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Link } from './model.js';

interface Login {
  link: Link;
  /** Phone of a pairing-code login. */
  phone?: string;
  qr?: string;
  code?: string;
  shown: number;
  timer: NodeJS.Timeout;
}

const PAIRING_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTVWXYZ';

/** `2@<ref>,<noise key>,<identity key>,<adv secret>` like WhatsApp Web's QR payload. */
function newQr(): string {
  const b64 = (n: number) => randomBytes(n).toString('base64');
  return `2@${b64(66)},${b64(32)},${b64(32)},${b64(32)}`;
}

/** 8 characters of WhatsApp's pairing alphabet (no 0, I, O, U). */
function newPairingCode(): string {
  let code = '';
  for (let i = 0; i < 8; i++) code += PAIRING_ALPHABET[randomInt(PAIRING_ALPHABET.length)];
  return code;
}

export class PendingLogins {
  readonly #byLink = new Map<Link, Login>();

  /**
   * @param qrIntervalMs validity of one QR, ms
   * @param qrMaxCount QRs shown before the login fails; a pairing code lives `qrIntervalMs × qrMaxCount` ms
   */
  constructor(
    private readonly qrIntervalMs: number,
    private readonly qrMaxCount: number,
  ) {}

  get size(): number {
    return this.#byLink.size;
  }

  has(link: Link): boolean {
    return this.#byLink.has(link);
  }

  /** What devices show right now, for demos and tests. */
  list(): Array<{ qr?: string | undefined; code?: string | undefined; phone?: string | undefined }> {
    return [...this.#byLink.values()].map((l) => ({ qr: l.qr, code: l.code, phone: l.phone }));
  }

  /** Starts a login on `link`: a pairing code for `phone`, else rotating QRs. Sends the first frame at once. */
  begin(link: Link, phone: string | undefined): void {
    const lifetimeMs = this.qrIntervalMs * this.qrMaxCount;
    if (phone !== undefined) {
      const code = newPairingCode();
      const login: Login = {
        link,
        phone,
        code,
        shown: 1,
        timer: setTimeout(() => this.#fail(login, `pairing code not confirmed within ${lifetimeMs} ms`), lifetimeMs),
      };
      this.#byLink.set(link, login);
      link.send({ type: 'pairing_code', code, expiresInMs: lifetimeMs });
      return;
    }
    const qr = newQr();
    const login: Login = {
      link,
      qr,
      shown: 1,
      timer: setInterval(() => {
        if (login.shown >= this.qrMaxCount) {
          this.#fail(login, `QR code not scanned in time (${login.shown} codes shown, ${lifetimeMs} ms)`);
          return;
        }
        login.qr = newQr();
        login.shown++;
        link.send({ type: 'qr', qr: login.qr, expiresInMs: this.qrIntervalMs });
      }, this.qrIntervalMs),
    };
    this.#byLink.set(link, login);
    link.send({ type: 'qr', qr, expiresInMs: this.qrIntervalMs });
  }

  /** Ends the login of `link` (if any) without a frame: the connection closed or the device got linked. */
  end(link: Link): void {
    const login = this.#byLink.get(link);
    if (!login) return;
    clearTimeout(login.timer);
    this.#byLink.delete(link);
  }

  /** Ends and returns the login whose current QR is `qr`. */
  takeByQr(qr: string): { link: Link } | undefined {
    const login = [...this.#byLink.values()].find((l) => l.qr === qr);
    if (login) this.end(login.link);
    return login;
  }

  /** Ends and returns the pairing-code login waiting for `code` (already normalized: no dash, upper case). */
  takeByCode(code: string): { link: Link; phone: string } | undefined {
    const login = [...this.#byLink.values()].find((l) => l.code === code);
    if (!login?.phone) return undefined;
    this.end(login.link);
    return { link: login.link, phone: login.phone };
  }

  /** Stops every timer (server shutdown). */
  close(): void {
    for (const link of [...this.#byLink.keys()]) this.end(link);
  }

  #fail(login: Login, reason: string): void {
    this.end(login.link);
    login.link.send({ type: 'login_failed', reason });
  }
}
