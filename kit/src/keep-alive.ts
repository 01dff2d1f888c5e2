/**
 * How long wacloud's HTTP servers keep an idle keep-alive connection open (`server.keepAliveTimeout`): 65 s instead of
 * Node's 5 s, for two reasons measured or known here (BENCHMARKS.md, "Gateway: connections and warm-up"):
 * - **A busy Node server takes new connections slowly**: libuv (1.52 in the Node 24 used here; its pull request 3696
 *   of 2022) accepts one connection per turn of the event loop, and a loaded instance's turns last ~100–150 ms, so 64
 *   connections opened at once into it joined over up to ~5 s, their first requests waiting as long. The api's
 *   gateway (undici) keeps its connections to an instance while the instance's answers say it may
 *   (`Keep-Alive: timeout=65`, less undici's 2 s margin): with Node's 5 s, every pause of 5 s in a tenant's traffic
 *   cost new connections, opened when the traffic resumes — often into a busy instance.
 * - **A proxy in front must close first**: an ingress or load balancer in front of the api typically holds idle upstream
 *   connections for 60 s; a server that closes sooner races the proxy's next request on the same connection (a 502 at
 *   the client). 65 s is longer than those 60 s.
 * Idle connections cost the server a socket each (kilobytes); services close them all at shutdown
 * (`closeAllConnections`).
 */
import type { Server } from 'node:http';

/** Idle keep-alive connections are kept this long, ms. */
export const IDLE_KEEP_ALIVE_MS = 65_000;

/**
 * Sets `server`'s idle keep-alive time to {@link IDLE_KEEP_ALIVE_MS} (see the module's docstring).
 * @returns `server`.
 */
export function holdIdleConnections<S extends Server>(server: S): S {
  server.keepAliveTimeout = IDLE_KEEP_ALIVE_MS;
  return server;
}
