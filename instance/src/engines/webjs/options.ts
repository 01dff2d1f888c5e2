/** Options of the `webjs` engine. */
import type { Logger } from 'pino';
import type { Client, ClientOptions } from 'whatsapp-web.js';
import type { ReconnectPolicy } from '../reconnect.js';
import type { ChromiumSandboxMode } from './sandbox.js';

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
  /** Chromium's sandbox: `on`, `auto` (default; falls back to `--no-sandbox` with a warning) or `off`. */
  chromiumSandbox?: ChromiumSandboxMode | undefined;
  /** Backoff and retry budget after a failure (defaults: `DEFAULT_RECONNECT_POLICY`, 1 s → 5 min, 20 retries). */
  reconnect?: Partial<ReconnectPolicy> | undefined;
  /**
   * Builds the whatsapp-web.js client (default `new Client(options)`): the library boundary, where tests put a
   * stand-in that speaks whatsapp-web.js' events over the real browser the engine launched.
   */
  createClient?: ((options: ClientOptions) => Client) | undefined;
}
