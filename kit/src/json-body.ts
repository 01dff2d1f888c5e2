/**
 * JSON request bodies, read by `raw-body` without a charset and decoded by the platform's `TextDecoder`, so iconv-lite's
 * codec tables (every encoding module, ~1.6 MiB of an idle instance's RSS) are never loaded: `express.json()`
 * (body-parser) asks iconv-lite for a decoder at the first body, and iconv-lite then loads all its encodings.
 *
 * Behaves as `express.json({ limit, strict: true, type })` did: bodies of the matching media types only (others pass
 * on untouched); `Content-Encoding` gzip, deflate, br or zstd inflated (the limit counts inflated bytes), other codings
 * 415; charset `utf-*` (default `utf-8`) as body-parser accepts for JSON, decoded by `TextDecoder` — `utf-8`,
 * `utf-16`, `utf-16le`, `utf-16be`; `utf-32` and `utf-7`, which only iconv-lite decodes, and any other charset are
 * 415 (RFC 8259 §8.1: JSON between systems is UTF-8); a byte-order mark is skipped; an empty body is `{}`; the body must
 * be an object or an array. Beyond the limit 413 `payload_too_large`; not JSON 400 `invalid_json`; a bad charset or
 * coding 415 `unsupported_media_type`. On an error the rest of the request is read off before answering.
 */
import { finished, type Duplex, type Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import zlib from 'node:zlib';
import { parse as parseContentType } from 'content-type';
import type { Request, RequestHandler } from 'express';
import getRawBody from 'raw-body';
import { KitError } from './http-error.js';

export interface JsonBodyOptions {
  /** The largest body accepted, in bytes (inflated). */
  limitBytes: number;
  /** The media types parsed (`req.is` patterns, e.g. `application/*+json`). */
  types: string[];
}

/** Middleware setting `req.body` to the parsed JSON body of requests of `types`; errors as described in the module. */
export function jsonBody(o: JsonBodyOptions): RequestHandler {
  return (req, _res, next) => {
    if (req.readableEnded || !req.is(o.types)) return next();
    const charset = requestCharset(req);
    let decoder: TextDecoder;
    let stream: Request | Duplex;
    try {
      if (!charset.startsWith('utf-')) throw unsupportedCharset(charset);
      try {
        decoder = new TextDecoder(charset);
      } catch {
        throw unsupportedCharset(charset);
      }
      stream = bodyStream(req);
    } catch (err) {
      return readOff(req, req, () => next(err));
    }
    const length = stream === req ? req.headers['content-length'] : undefined;
    getRawBody(stream, { length, limit: o.limitBytes }, (err, buf) => {
      if (err) return readOff(req, stream, () => next(err));
      if (stream !== req) {
        req.unpipe(stream as Duplex);
        stream.on('error', () => {});
        stream.destroy();
        req.resume();
      }
      try {
        req.body = parseStrict(decoder.decode(buf));
      } catch (e) {
        return next(e);
      }
      next();
    });
  };
}

/** The request's charset, lower-case; `utf-8` when none or the header does not parse (as body-parser). */
function requestCharset(req: Request): string {
  try {
    return (parseContentType(req.headers['content-type'] ?? '').parameters.charset || 'utf-8').toLowerCase();
  } catch {
    return 'utf-8';
  }
}

function unsupportedCharset(charset: string): KitError {
  return new KitError('unsupported_media_type', `unsupported charset "${charset.toUpperCase()}"`);
}

/** The request itself, or an inflating stream it is piped into for a `Content-Encoding`. */
function bodyStream(req: Request): Request | Duplex {
  const coding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  const inflate =
    coding === 'identity'
      ? undefined
      : coding === 'gzip'
        ? zlib.createGunzip()
        : coding === 'deflate'
          ? zlib.createInflate()
          : coding === 'br'
            ? zlib.createBrotliDecompress()
            : coding === 'zstd'
              ? zlib.createZstdDecompress()
              : null;
  if (inflate === null) throw new KitError('unsupported_media_type', `unsupported content encoding "${coding}"`);
  if (inflate === undefined) return req;
  req.pipe(inflate);
  return inflate;
}

/** Detaches `stream` from the request, then reads the request off and calls `done` once it has ended or closed. */
function readOff(req: Request, stream: Readable, done: () => void): void {
  if (stream !== req) {
    req.unpipe();
    stream.destroy();
  }
  if (req.readableEnded) return done();
  finished(req, () => done());
  req.resume();
}

/** `JSON.parse` of an object or array body (`{}` when empty); 400 `invalid_json` otherwise. */
function parseStrict(text: string): unknown {
  if (text.length === 0) return {};
  const first = /^[ \t\n\r]*(.?)/.exec(text)?.[1] ?? '';
  if (first !== '{' && first !== '[')
    throw new KitError(
      'invalid_json',
      `The body is not valid JSON: it is not an object or an array (it starts with ${JSON.stringify(first)}).`,
    );
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new KitError('invalid_json', `The body is not valid JSON: ${String((e as Error).message).slice(0, 200)}`);
  }
}
