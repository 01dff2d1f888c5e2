/**
 * One request of the gateway to an instance, through undici's `dispatch` with a handler of its own instead of
 * undici's `request` (which wraps every answer in a body stream of its own, an async resource and promises per read —
 * a tenth of the gateway's CPU per proxied request, BENCHMARKS.md gateway):
 * - an answer of declared length up to `wholeLimitBytes` is collected into one Buffer (`whole`), so the
 *   gateway can send it with its headers in one write;
 * - any other answer (larger, chunked, unsized) is handed over at its headers as a `Readable` (`body`) that applies
 *   backpressure to the instance's connection (paused while the reader is behind) and errors if the answer breaks off.
 * Time limits are the dispatcher's `headersTimeout` / `bodyTimeout` options (undici's errors, as with `request`), and
 * `queueTimeoutMs` for the wait until a connection is free to write the request on (a capped pool's queue).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

/** What the instance answered. Exactly one of `whole` and `body` is set. */
export interface UpstreamAnswer {
  statusCode: number;
  /** Lower-case names; repeated headers (e.g. `set-cookie`) as arrays. */
  headers: IncomingHttpHeaders;
  /** The whole body (declared length ≤ the limit; never for a HEAD). */
  whole?: Buffer;
  /** The body as it arrives (any other answer); destroying it stops reading the instance's answer. */
  body?: Readable;
}

/** The controller undici hands a dispatch handler (the part used here). */
interface Controller {
  pause(): void;
  resume(): void;
  abort(reason: Error): void;
}

/** A request's or answer's `Content-Length` in bytes, when it declares one (and is not chunked). */
export function declaredLength(m: { headers: IncomingHttpHeaders }): number | undefined {
  const v = m.headers['content-length'];
  if (typeof v !== 'string' || m.headers['transfer-encoding'] !== undefined) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** The request was not sent: its client had gone away by the time a connection to the instance was free. */
export class ClientGoneError extends Error {
  constructor() {
    super('the client went away before its request was sent');
    this.name = 'ClientGoneError';
  }
}

/**
 * The request was not sent: no connection to the instance was free to write it on within `waitedMs` (the pool's cap
 * was busy with others). It never reaches the instance, so sending it again runs it once.
 */
export class QueueTimeoutError extends Error {
  constructor(readonly waitedMs: number) {
    super(`no connection to the instance was free within ${waitedMs} ms`);
    this.name = 'QueueTimeoutError';
  }
}

/** What may stop a request before it is written (both checked only until a connection takes it). */
export interface SendGuard {
  /**
   * Asked when a connection is free to write the request on (after any wait in the dispatcher's queue): true aborts it
   * unsent.
   */
  abandoned?: () => boolean;
  /** Longest wait for a connection to write the request on, ms; beyond it the request is dropped unsent. None: no limit. */
  queueTimeoutMs?: number;
}

/**
 * Sends `opts` through `dispatcher`; resolves with the answer (see the file's docstring).
 * @param wholeLimitBytes largest body collected whole, bytes.
 * @throws ClientGoneError when `guard.abandoned()` was true; QueueTimeoutError when no connection took the request
 *   within `guard.queueTimeoutMs` (rejected at that moment; the request is dropped unsent when its turn comes);
 *   undici's errors (connection refused or reset, `HeadersTimeoutError`, …) until the answer's headers; after them a
 *   failure ends `whole`'s collection with the error, or destroys `body` with it.
 */
export function sendUpstream(
  dispatcher: Dispatcher,
  opts: Dispatcher.DispatchOptions,
  wholeLimitBytes: number,
  guard: SendGuard = {},
): Promise<UpstreamAnswer> {
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] | undefined; // collecting a whole body
    let answer: UpstreamAnswer | undefined;
    let stream: Readable | undefined;
    let settled = false;
    let ended = false; // the answer's body is complete, or failed
    let expired: QueueTimeoutError | undefined; // the wait for a connection outlasted guard.queueTimeoutMs
    let queueTimer: NodeJS.Timeout | undefined;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      if (queueTimer) clearTimeout(queueTimer);
      if (err) reject(err);
      else resolve(answer!);
    };
    const { abandoned, queueTimeoutMs } = guard;
    if (queueTimeoutMs !== undefined)
      queueTimer = setTimeout(() => {
        queueTimer = undefined;
        expired = new QueueTimeoutError(queueTimeoutMs);
        settle(expired);
      }, queueTimeoutMs);
    dispatcher.dispatch(opts, {
      onRequestStart(controller: Controller) {
        if (queueTimer) clearTimeout(queueTimer);
        queueTimer = undefined;
        if (expired) controller.abort(expired);
        else if (abandoned?.()) controller.abort(new ClientGoneError());
      },
      onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders) {
        if (statusCode < 200) return; // 1xx: informational, the answer follows
        answer = { statusCode, headers };
        const length = opts.method === 'HEAD' ? undefined : declaredLength({ headers });
        if (length !== undefined && length <= wholeLimitBytes) {
          chunks = [];
          return;
        }
        stream = new Readable({
          read: () => controller.resume(),
          // Destroyed by its reader before the end (the client went away): the instance's answer is not read further.
          destroy: (err, cb) => {
            if (!ended) controller.abort(err ?? new Error('the gateway stopped reading the answer'));
            cb(err);
          },
        });
        answer.body = stream;
        settle();
      },
      onResponseData(controller: Controller, chunk: Buffer) {
        if (chunks) chunks.push(chunk);
        else if (stream && !stream.push(chunk)) controller.pause();
      },
      onResponseEnd() {
        ended = true;
        if (chunks) {
          answer!.whole = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          settle();
        } else stream?.push(null);
      },
      onResponseError(_controller: Controller, err: Error) {
        ended = true;
        if (stream) stream.destroy(err);
        else settle(err);
      },
    } as Dispatcher.DispatchHandler);
  });
}

/**
 * Reads `stream` to its end into one buffer, at most `maxBytes`, by its `data` and `end` events (an async iterator over
 * the stream costs a proxied request ~7 µs more: BENCHMARKS.md, "Gateway: the hop's floor at one request at a time").
 * @throws the error `tooLarge()` makes, past `maxBytes` (the stream is paused and the rest left unread: the caller
 *   decides what becomes of it — kit's `withFront` reads and drops a request's unread rest when it answers an error,
 *   `wholeBody` destroys an answer's); the stream's error; an Error when the stream closes before its end.
 */
export function readCapped(stream: Readable, maxBytes: number, tooLarge: () => Error): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let read = 0;
    const settle = (err: Error | undefined) => {
      stream.off('data', onData).off('end', onEnd).off('error', settle).off('close', onClose);
      if (err) reject(err);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      read += chunk.length;
      if (read <= maxBytes) return void chunks.push(chunk);
      stream.pause();
      settle(tooLarge());
    };
    const onEnd = () => settle(undefined);
    const onClose = () => settle(stream.readableEnded ? undefined : new Error('the body closed before its end'));
    stream.on('data', onData).on('end', onEnd).on('error', settle).on('close', onClose);
  });
}

/**
 * The whole body of `answer` ({@link UpstreamAnswer.whole}, or its stream read to the end), at most `maxBytes`.
 * @throws as {@link readCapped}; the stream is destroyed (past `maxBytes`: the rest of the instance's answer not read).
 */
export async function wholeBody(answer: UpstreamAnswer, maxBytes: number, tooLarge: () => Error): Promise<Buffer> {
  const body = answer.body;
  if (answer.whole || !body) return answer.whole ?? Buffer.alloc(0);
  return readCapped(body, maxBytes, tooLarge).catch((err: unknown) => {
    body.destroy();
    throw err;
  });
}
