/**
 * Requests of the simulated engine to the network: each carries a `reqId` and is answered by one `response` frame,
 * or fails with `connection_lost` (socket gone) or `timeout`.
 */
import type { RequestFrame, ResultMap } from '@wacloud/simnet/protocol';
import { EngineError } from '../engine.js';

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class PendingRequests {
  readonly #pending = new Map<number, Pending>();
  #nextReqId = 1;

  /** @param timeoutMs how long a request may wait for its response, ms */
  constructor(private readonly timeoutMs: number) {}

  /** A fresh request id. */
  nextId(): number {
    return this.#nextReqId++;
  }

  /**
   * Sends `frame` with `send` and resolves with its result; `onResult` runs synchronously while the response frame is
   * handled (before later frames).
   * @throws EngineError from the server, `connection_lost` when `send` returns false or the socket drops, `timeout`.
   */
  request<T extends RequestFrame>(
    frame: T,
    send: (frame: T) => boolean,
    onResult?: (result: ResultMap[T['type']]) => void,
  ): Promise<ResultMap[T['type']]> {
    return new Promise((resolve, reject) => {
      if (!send(frame)) {
        reject(new EngineError('connection_lost', 'not connected to the simulated network'));
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(frame.reqId);
        reject(new EngineError('timeout', `simnet did not answer ${frame.type} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
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

  /** Settles request `reqId` with a response frame's outcome; unknown ids are ignored. */
  settle(reqId: number, outcome: { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } }): void {
    const pending = this.#pending.get(reqId);
    if (!pending) return;
    this.#pending.delete(reqId);
    clearTimeout(pending.timer);
    if (outcome.ok) pending.resolve(outcome.result);
    else pending.reject(new EngineError(outcome.error.code, outcome.error.message));
  }

  /** Fails every request in flight with `err`. */
  rejectAll(err: Error): void {
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(err);
    }
    this.#pending.clear();
  }
}
