/**
 * Fetching a media file by URL for a send, through the webhooks' SSRF guard (`webhooks/ssrf.ts`): the host is
 * resolved and every address checked (no private, loopback, link-local, metadata … addresses, unless the operator's
 * allow list `WEBHOOK_ALLOW_CIDRS` opens them), and the connection goes to the checked address (as `webhooks/post.ts`
 * does: no second resolution, so DNS rebinding cannot move it). Redirects are followed up to {@link MAX_REDIRECTS}
 * times, each target checked again. The answer is read up to `maxBytes` (a larger Content-Length is refused before
 * the body; a body that grows past it is cut) and the whole exchange is bounded by `timeoutMs`.
 */
import { http, https } from '../../node-http.js';
import { AppError } from '../../errors.js';
import { WebhookRefusedError, WebhookResolveError, pinnedLookup, type WebhookGuard } from '../../webhooks/ssrf.js';

export interface FetchMediaOptions {
  guard: WebhookGuard;
  /** Bound of the whole exchange (all redirects), ms. */
  timeoutMs: number;
  /** Largest body accepted, bytes. */
  maxBytes: number;
  /** Builds the error for a body over `maxBytes` (the caller knows the message type). */
  tooLarge: (size: number | undefined) => Error;
}

/** The fetched file: bytes, the answer's Content-Type and a file name from the URL's last path segment. */
export interface FetchedMedia {
  data: Buffer;
  contentType?: string | undefined;
  filename?: string | undefined;
}

const MAX_REDIRECTS = 3;

/**
 * GETs `url` through the guard.
 * @throws AppError `media_url_refused` (scheme, credentials or address refused), `media_url_unreachable` (name not
 *   resolved, connection error, timeout, an answer other than 2xx, too many redirects); `o.tooLarge(size)`.
 */
export async function fetchMedia(url: string, o: FetchMediaOptions): Promise<FetchedMedia> {
  const deadline = Date.now() + o.timeoutMs;
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const answer = await getOnce(current, o, deadline);
    if ('redirect' in answer) {
      current = new URL(answer.redirect, current).toString();
      continue;
    }
    const name = decodeURIComponent(new URL(current).pathname.split('/').pop() ?? '');
    return { ...answer, filename: name || undefined };
  }
  throw new AppError('media_url_unreachable', `The media URL redirected more than ${MAX_REDIRECTS} times.`);
}

async function getOnce(
  url: string,
  o: FetchMediaOptions,
  deadline: number,
): Promise<{ redirect: string } | Omit<FetchedMedia, 'filename'>> {
  let target;
  try {
    target = await o.guard.target(url);
  } catch (err) {
    if (err instanceof WebhookRefusedError) {
      throw new AppError('media_url_refused', `This media URL is refused: ${err.message.replace(/webhooks go to/, 'media comes from')}.`);
    }
    if (err instanceof WebhookResolveError) throw new AppError('media_url_unreachable', `The media URL did not answer: ${err.message}.`);
    throw err;
  }
  const { address, family } = target;
  const lookup = pinnedLookup(address, family);
  const mod = target.url.protocol === 'https:' ? https : http;
  const unreachable = (why: string, details?: unknown) =>
    new AppError('media_url_unreachable', `The media URL did not answer with the file: ${why}.`, details);
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      fn();
    };
    const req = mod.get(target.url, { lookup, agent: false, headers: { accept: '*/*', 'user-agent': 'wacloud-media-fetch' } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) return finish(() => resolve({ redirect: res.headers.location! }));
      if (status < 200 || status >= 300) return finish(() => reject(unreachable(`it answered ${status}`, { status })));
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > o.maxBytes) return finish(() => reject(o.tooLarge(declared)));
      const parts: Buffer[] = [];
      let read = 0;
      res.on('data', (c: Buffer) => {
        read += c.length;
        if (read > o.maxBytes) return finish(() => reject(o.tooLarge(undefined)));
        parts.push(c);
      });
      res.on('end', () => finish(() => resolve({ data: Buffer.concat(parts), contentType: res.headers['content-type'] })));
      res.on('error', (err) => finish(() => reject(unreachable(err.message))));
    });
    const timer = setTimeout(() => finish(() => reject(unreachable('it timed out'))), Math.max(1, deadline - Date.now()));
    req.on('error', (err: NodeJS.ErrnoException) => finish(() => reject(unreachable(err.code ?? err.message))));
  });
}
