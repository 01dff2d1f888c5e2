/**
 * GET of a small JSON document over `node:http`, on a fresh connection (no keep-alive: the targets — instances — come
 * and go, and a pooled socket to a dead one would only delay the verdict). Used for an instance's `GET /health` by the
 * api's providers (api/src/providers/shared/health.ts) and the operator's session probe (operator/src/session-probe.ts).
 * Not `fetch()`: Node's fetch (undici) parses HTTP with llhttp compiled to WebAssembly (which V8's `--lite-mode`
 * lacks), and loading undici costs ~8 MiB of resident memory; `node:http` uses Node's built-in parser.
 */
import type * as NodeHttp from 'node:http';
import { createRequire } from 'node:module';

/**
 * `node:http` loaded with require: an ESM import of it reads every export, and its lazy `WebSocket`, `CloseEvent` and
 * `MessageEvent` getters load undici (~8 MiB of resident memory in a process that never uses them).
 */
const http = createRequire(import.meta.url)('node:http') as typeof NodeHttp;

/** Largest body read by default, bytes (a larger one counts as unreadable). */
export const GET_JSON_MAX_BYTES = 64 * 1024;

/**
 * `GET url`, giving up after `timeoutMs` (ms).
 * @returns the parsed body of a 2xx answer; undefined on a refused or failed connection, a timeout, another status, a
 *   body over `maxBytes` (bytes) or one that is not JSON. Never rejects.
 */
export function getJson(url: string, timeoutMs: number, maxBytes = GET_JSON_MAX_BYTES): Promise<unknown> {
  return new Promise((resolve) => {
    const req = http.get(url, { signal: AbortSignal.timeout(timeoutMs), agent: false, headers: { connection: 'close' } }, (res) => {
      const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (!ok || size > maxBytes) res.destroy();
        else chunks.push(c);
      });
      res.on('end', () => {
        try {
          resolve(ok ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined);
        } catch {
          resolve(undefined);
        }
      });
      res.on('close', () => resolve(undefined));
      res.on('error', () => resolve(undefined));
    });
    req.on('error', () => resolve(undefined));
  });
}
