/**
 * The default session probe: GET http://<headless service>.<namespace>.svc:8080/health of an instance's pod, read
 * with node:http. Not fetch(): Node's fetch (undici) parses HTTP with llhttp compiled to WebAssembly, which the
 * image's `--lite-mode` (no WebAssembly, operator/Dockerfile) does not have — and loading undici and compiling its
 * parser would cost a few MiB of resident memory on the first probe. node:http uses Node's built-in C++ parser.
 */
import http from 'node:http';
import { PORTS, childNames, type SessionState, type WhatsAppInstance } from '@wacloud/crds';

/** Reads the session state from the instance's /health (undefined when unreachable). */
export type SessionProbe = (wai: WhatsAppInstance) => Promise<{ state: SessionState; reason?: string } | undefined>;

/** Largest /health body read, bytes (a larger one counts as unreadable). */
const MAX_BODY_BYTES = 64 * 1024;

/** GET `url`, resolving with the JSON body of a 2xx answer, else undefined (never rejects). Gives up after `timeoutMs` ms. */
export function getJson(url: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve) => {
    const req = http.get(url, { signal: AbortSignal.timeout(timeoutMs), agent: false }, (res) => {
      const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (!ok || size > MAX_BODY_BYTES) res.destroy();
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

/** Default probe: GET http://<headless service>.<namespace>.svc:8080/health (the pod itself) with a timeout (ms). */
export function httpSessionProbe(timeoutMs: number, url = sessionHealthUrl): SessionProbe {
  return async (wai) => {
    const body = (await getJson(url(wai), timeoutMs)) as { session?: { state?: SessionState; reason?: string } } | undefined;
    const s = body?.session;
    return s?.state ? { state: s.state, ...(s.reason ? { reason: s.reason } : {}) } : undefined;
  };
}

/** The /health URL of an instance's pod, through its headless Service. */
export function sessionHealthUrl(wai: WhatsAppInstance): string {
  return `http://${childNames(wai.metadata.name!).headlessService}.${wai.metadata.namespace}.svc:${PORTS.public.port}/health`;
}
