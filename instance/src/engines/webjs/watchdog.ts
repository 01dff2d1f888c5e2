/**
 * The `webjs` engine's memory watchdog: every `intervalMs` it measures the browser's memory (PSS over its process
 * tree) and, past `limitBytes` while the session may be recycled, asks the engine to restart the browser keeping the
 * stored session. One recycle at a time.
 */
import type { Logger } from 'pino';

export interface MemoryWatchdogOptions {
  /** Restart past this many bytes; ≤ 0 only measures. */
  limitBytes: number;
  /** Interval between measurements, ms; ≤ 0 disables the watchdog. */
  intervalMs: number;
  log: Logger;
  /** PSS of the running browser in bytes, undefined when none runs. */
  measure(): Promise<number | undefined>;
  /** Whether the browser may be recycled now (WORKING, its run current and not ending). */
  eligible(): boolean;
  /** Restarts the browser keeping the session; resolves once it is up again (or the restart gave up). */
  recycle(pssBytes: number): Promise<void>;
}

export class MemoryWatchdog {
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(private readonly o: MemoryWatchdogOptions) {}

  /** (Re)starts the periodic check. */
  start(): void {
    this.stop();
    if (this.o.intervalMs <= 0) return;
    this.#timer = setInterval(() => void this.tick(), this.o.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One check: recycles the browser when eligible and over the limit. Never throws. */
  async tick(): Promise<void> {
    if (this.#busy || !this.o.eligible()) return;
    const bytes = await this.o.measure().catch(() => undefined);
    if (bytes === undefined) return;
    const limit = this.o.limitBytes;
    this.o.log.debug({ pssBytes: bytes, limitBytes: limit }, 'browser memory');
    if (limit <= 0 || bytes <= limit || !this.o.eligible()) return;
    this.o.log.warn({ pssBytes: bytes, limitBytes: limit }, 'browser memory over the limit: restarting the browser (session kept)');
    this.#busy = true;
    try {
      await this.o.recycle(bytes);
    } catch (err) {
      this.o.log.error({ err }, 'browser restart failed');
    } finally {
      this.#busy = false;
    }
  }
}
