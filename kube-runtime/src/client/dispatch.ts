/**
 * One request through an undici dispatcher with a handler of its own (as `api/src/gateway/upstream.ts`), instead of
 * undici's `request`, which wraps every answer in a body stream, an async resource and promises per read:
 * - {@link collectAnswer}: the whole answer as one Buffer (every call of the Kubernetes API but watches);
 * - {@link streamAnswer}: a 2xx answer's body handed over as UTF-8 text as it arrives (a watch), any other collected.
 * Time limits are the dispatch options' `headersTimeout` / `bodyTimeout` (undici's errors); the caller's `signal`
 * aborts the request with its reason (the AbortError).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import type { Dispatcher } from 'undici';

/** A request ready to send. */
export interface Dispatched {
  dispatcher: Dispatcher;
  opts: Dispatcher.DispatchOptions;
  signal?: AbortSignal | undefined;
  /** Maps undici's error (or the abort's reason) to what the caller throws. */
  failure: (e: Error) => unknown;
}

/** A complete answer: status and body. */
export interface Answer {
  statusCode: number;
  body: Buffer;
}

/** A streamed answer once it ended: `body` is the collected body of a non-2xx answer (empty for a 2xx one). */
export interface StreamEnd extends Answer {
  /** Why the stream ended early: undici's error, the abort's reason, or what `onText` returned. */
  error?: Error;
}

/** The controller undici hands a dispatch handler (the part used here). */
interface Controller {
  abort(reason: Error): void;
}

interface Callbacks {
  /** The answer's head (final status, not 1xx). */
  head(statusCode: number, headers: IncomingHttpHeaders): void;
  data(controller: Controller, chunk: Buffer): void;
  end(): void;
  /** A failure or abort, before or after the head. */
  error(err: Error): void;
}

/** Dispatches `d` with `cb`; the caller's signal aborts the request (also while it waits in the pool's queue). */
function send(d: Dispatched, cb: Callbacks): void {
  const { signal } = d;
  let controller: Controller | undefined;
  let done = false;
  const onAbort = () => {
    const reason = signal!.reason as Error;
    if (controller) controller.abort(reason);
    else finish(reason); // still queued: undici aborts it when it would be written (onRequestStart)
  };
  const finish = (err?: Error) => {
    if (done) return;
    done = true;
    signal?.removeEventListener('abort', onAbort);
    if (err) cb.error(err);
    else cb.end();
  };
  if (signal?.aborted) return cb.error(signal.reason as Error);
  signal?.addEventListener('abort', onAbort, { once: true });
  d.dispatcher.dispatch(d.opts, {
    onRequestStart(c: Controller) {
      controller = c;
      if (done) c.abort(signal?.reason as Error);
    },
    onResponseStart(_c: Controller, statusCode: number, headers: IncomingHttpHeaders) {
      if (statusCode >= 200 && !done) cb.head(statusCode, headers);
    },
    onResponseData(c: Controller, chunk: Buffer) {
      if (!done) cb.data(c, chunk);
    },
    onResponseEnd() {
      finish();
    },
    onResponseError(_c: Controller, err: Error) {
      finish(err);
    },
  } as Dispatcher.DispatchHandler);
}

/**
 * Sends `d`; resolves with the whole answer (any status).
 * @throws what `d.failure` makes of undici's error (connection refused or reset, `HeadersTimeoutError`,
 *   `BodyTimeoutError`, …) or of the abort's reason.
 */
export function collectAnswer(d: Dispatched): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let statusCode = 0;
    const chunks: Buffer[] = [];
    send(d, {
      head: (s) => (statusCode = s),
      data: (_c, chunk) => chunks.push(chunk),
      end: () => resolve({ statusCode, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }),
      error: (err) => reject(d.failure(err)),
    });
  });
}

/**
 * Sends `d`; a 2xx answer's body goes to `onText` as UTF-8 text chunk by chunk (never a character cut in two). When
 * `onText` returns an error the request is aborted with it. Resolves once the answer ended or broke off after its
 * head (`error` says why it broke off).
 * @throws what `d.failure` makes of an error before the answer's head (connection refused, `HeadersTimeoutError`, the
 *   abort's reason).
 */
export function streamAnswer(d: Dispatched, onText: (text: string) => Error | undefined): Promise<StreamEnd> {
  return new Promise((resolve, reject) => {
    let statusCode = 0;
    let decoder: StringDecoder | undefined; // a 2xx answer's
    const chunks: Buffer[] = []; // any other answer's body
    send(d, {
      head: (s) => {
        statusCode = s;
        if (s < 300) decoder = new StringDecoder('utf8');
      },
      data: (c, chunk) => {
        if (!decoder) return void chunks.push(chunk);
        const stop = onText(decoder.write(chunk));
        if (stop) c.abort(stop);
      },
      end: () => resolve({ statusCode, body: Buffer.concat(chunks) }),
      error: (err) => (statusCode ? resolve({ statusCode, body: Buffer.concat(chunks), error: err }) : reject(d.failure(err))),
    });
  });
}
