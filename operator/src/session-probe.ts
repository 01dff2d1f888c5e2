/**
 * The default session probe: GET http://<headless service>.<namespace>.svc:8080/health of an instance's pod, read
 * with kit's `getJson` (node:http — not fetch(), which would load undici: ~8 MiB of resident memory).
 */
import { getJson } from '@wacloud/kit/http-get-json';
import { PORTS, childNames, type SessionState, type WhatsAppInstance } from '@wacloud/crds';

export { getJson };

/** Reads the session state from the instance's /health (undefined when unreachable). */
export type SessionProbe = (wai: WhatsAppInstance) => Promise<{ state: SessionState; reason?: string } | undefined>;

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
