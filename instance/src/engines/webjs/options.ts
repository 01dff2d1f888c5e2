/** Options of the `webjs` engine. */
import type { Logger } from 'pino';
import type { ClientOptions } from 'whatsapp-web.js';
import type { WebjsClient } from './client.js';
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
   * stand-in implementing {@link WebjsClient} (typed with whatsapp-web.js' own definitions) — over the real browser
   * the engine launched, or without one (see {@link launchBrowser}).
   */
  createClient?: ((options: ClientOptions) => WebjsClient) | undefined;
  /**
   * Whether the engine launches Chromium (default true). Only with a {@link createClient} stand-in that drives no
   * browser (the engine contract suite): then the client gets no DevTools endpoint, there is no screenshot, memory
   * figure or watchdog, and everything else is the engine's real code.
   */
  launchBrowser?: boolean | undefined;
}
