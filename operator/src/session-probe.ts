/**
 * The default session probe: GET http://<name>-0.<governing service>.<namespace>.svc:8080/health of an instance's pod, read
 * with kit's `getJson` (node:http — not fetch(), which would load undici: ~8 MiB of resident memory).
 */
import { getJson } from '@wacloud/kit/http-get-json';
import { PORTS, instancePodHost, type SessionState, type WhatsAppInstance } from '@wacloud/crds';

export { getJson };

/**
 * Reads the session state from the instance's /health (undefined when unreachable); `serviceName`: the governing
 * Service of its StatefulSet (its pod's DNS name is `<name>-0.<serviceName>.<namespace>.svc`).
 */
export type SessionProbe = (wai: WhatsAppInstance, serviceName: string) => Promise<{ state: SessionState; reason?: string } | undefined>;

/** Default probe: GET http://<name>-0.<serviceName>.<namespace>.svc:8080/health (the pod itself) with a timeout (ms). */
export function httpSessionProbe(timeoutMs: number, url = sessionHealthUrl): SessionProbe {
  return async (wai, serviceName) => {
    const body = (await getJson(url(wai, serviceName), timeoutMs)) as { session?: { state?: SessionState; reason?: string } } | undefined;
    const s = body?.session;
    return s?.state ? { state: s.state, ...(s.reason ? { reason: s.reason } : {}) } : undefined;
  };
}

/** The /health URL of an instance's pod, by its DNS name under its StatefulSet's governing Service `serviceName`. */
export function sessionHealthUrl(wai: WhatsAppInstance, serviceName: string): string {
  return `http://${instancePodHost(wai.metadata.name!, serviceName)}.${wai.metadata.namespace}.svc:${PORTS.public.port}/health`;
}
