/**
 * The simulated engine's stored session, like whatsapp-web.js' LocalAuth: the linked device's credentials and account
 * in `<dataDir>/simulated-session.json` (mode 0600). With it a start resumes without a QR.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { DeviceSession } from '@wacloud/simnet/protocol';
import type { EngineAccount } from '../engine.js';

/** File in `dataDir` holding the stored session. */
export const SESSION_FILE = 'simulated-session.json';

/** What `simulated-session.json` holds. */
export interface StoredSession extends DeviceSession {
  account: EngineAccount;
  /** Epoch ms. */
  savedAt: number;
}

/** Reads, writes and deletes the stored session of one data directory; failures are logged, never thrown. */
export class SessionFile {
  readonly path: string;

  constructor(
    dataDir: string,
    private readonly log: Logger,
  ) {
    this.path = path.join(dataDir, SESSION_FILE);
  }

  /** The stored session, or undefined when there is none or it is malformed. */
  async read(): Promise<StoredSession | undefined> {
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as Partial<StoredSession>;
      if (typeof parsed.deviceId === 'string' && typeof parsed.token === 'string' && parsed.account) return parsed as StoredSession;
      this.log.warn({ path: this.path }, 'stored session is malformed; ignoring it');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ err }, 'cannot read the stored session');
    }
    return undefined;
  }

  /**
   * Writes the session atomically (temp file + rename). Synchronous (a few hundred bytes) so that no frame after
   * `authenticated` is handled before the session is stored and announced.
   */
  save(session: DeviceSession, account: EngineAccount): void {
    const stored: StoredSession = { deviceId: session.deviceId, token: session.token, account, savedAt: Date.now() };
    try {
      mkdirSync(path.dirname(this.path), { recursive: true });
      const tmp = `${this.path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(stored, null, 2), { mode: 0o600 });
      renameSync(tmp, this.path);
    } catch (err) {
      this.log.error({ err }, 'cannot store the session; the next start will need a new QR');
    }
  }

  async delete(): Promise<void> {
    await rm(this.path, { force: true }).catch((err: unknown) => this.log.warn({ err }, 'cannot delete the stored session'));
  }
}
