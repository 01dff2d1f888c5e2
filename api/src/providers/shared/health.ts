/**
 * The instance's liveness as the providers see it: `GET <public URL>/health` (answered by every instance, no token),
 * and a short-lived cache of successes so that `endpoints()` — called for every gateway request — does not probe
 * each time.
 */
import { getJson } from '@wacloud/kit/http-get-json';

/** Timeout of one /health request, ms. */
export const HEALTH_TIMEOUT_MS = 2_000;
/** A /health success younger than this (ms) lets `endpoints()` skip its own probe. */
export const HEALTHY_CACHE_MS = 3_000;

/** Parsed `GET /health` of an instance that answered 200 `{status: "ok"}`. */
export interface Health {
  /** `session.state` of the answer (STOPPED, STARTING, SCAN_QR_CODE, AUTHENTICATING, WORKING, DISCONNECTED, FAILED) when present. */
  sessionState: string | undefined;
  /** The instance's uptime, ms, when present. */
  uptimeMs: number | undefined;
}

/**
 * `GET <baseUrl>/health` on a fresh connection (kit's `getJson`: no keep-alive — instances come and go, and a pooled
 * socket to a dead one would only delay the verdict).
 * @returns the parsed answer, or undefined on any failure, timeout, non-2xx status or a body without `status: "ok"`
 *   (never throws).
 */
export async function probeHealth(baseUrl: string, timeoutMs = HEALTH_TIMEOUT_MS): Promise<Health | undefined> {
  const body = (await getJson(`${baseUrl}/health`, timeoutMs)) as
    { status?: unknown; session?: { state?: unknown }; uptimeMs?: unknown } | null | undefined;
  if (body?.status !== 'ok') return undefined;
  return {
    sessionState: typeof body.session?.state === 'string' ? body.session.state : undefined,
    uptimeMs: typeof body.uptimeMs === 'number' ? body.uptimeMs : undefined,
  };
}

/**
 * When each run of an instance last answered /health. Keys name one run (`<id>@<pid>`, `<container>@<started at>`),
 * so a restarted instance is probed again; {@link forget} drops every run of one instance.
 */
export class HealthCache {
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxAgeMs = HEALTHY_CACHE_MS) {}

  /** Records a success of run `run` of `instance` now, forgetting its earlier runs. */
  mark(instance: string, run: string): void {
    this.forget(instance);
    this.seen.set(`${instance}@${run}`, Date.now());
  }

  /** Whether run `run` of `instance` answered within the last `maxAgeMs`. */
  isFresh(instance: string, run: string): boolean {
    return Date.now() - (this.seen.get(`${instance}@${run}`) ?? 0) <= this.maxAgeMs;
  }

  /** Forgets every run of `instance`. */
  forget(instance: string): void {
    for (const k of this.seen.keys()) if (k.startsWith(`${instance}@`)) this.seen.delete(k);
  }
}
