/**
 * What a proxied request's time was spent on, for operators telling a slow instance from a slow gateway (the route's
 * whole time is `http_request_duration_seconds{route="/v1/instances/:id/api/*"}`, kit's request log):
 * - `wacloud_gateway_upstream_seconds{method}`: from sending the request to the instance until its answer was in hand
 *   — the answer's whole body when it is held (declared length up to the gateway's body limit), its headers when it
 *   streams; with a refused gateway credential, both attempts and the credential's replacement. A wait for a free
 *   connection to the instance (`GatewayOptions.upstreamConnections`) is part of it: the instance is busy then.
 * - `wacloud_gateway_own_seconds{method}`: the rest of a request answered whole, from the gateway's first look at it
 *   to the answer handed to the client's socket — authentication, request budgets, the instance's endpoint and
 *   record, a held request body, writing the answer. Requests the gateway refuses itself (401, 429, …) are all own
 *   time. Streamed answers are not observed here: their relay time is the instance's and the client's as much as the
 *   gateway's.
 * A request whose client went away before its answer was sent is in neither histogram.
 * - `wacloud_gateway_queue_timeouts_total`: requests answered 503 `instance_busy` because no connection to their
 *   instance was free within the queue timeout (`GatewayOptions.queueTimeoutMs`); never sent. Any increase means an
 *   instance that cannot keep up with its clients, or is stuck (the chart's alert `WacloudGatewayInstanceBusy`).
 * Time before the gateway first sees a request (the api's event loop accepting and parsing it) is in neither; it is
 * the process's `nodejs_eventloop_lag_*` (BENCHMARKS.md, "Gateway: where a request's time goes").
 */
import { Counter, Histogram, type Registry } from 'prom-client';

/** Seconds; fine below 10 ms, where a gateway's own time lies. */
const OWN_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
/** Seconds; those of `http_request_duration_seconds`. */
const UPSTREAM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** The `method` label's values; any other method is counted as `other` (a client chooses the method). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export interface GatewayMetrics {
  /** Records a proxied request: `upstreamMs` undefined when it never reached the instance; `ownMs` undefined when its answer streamed. */
  observe(method: string, ownMs: number | undefined, upstreamMs: number | undefined): void;
  /** Counts a request refused unsent after waiting for a connection to its instance for the queue timeout. */
  queueTimedOut(): void;
}

/** Registers the gateway's histograms and counter on `registry` (see the file's docstring). */
export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  const registers = [registry];
  const own = new Histogram({
    name: 'wacloud_gateway_own_seconds',
    help: 'Time of a proxied request answered whole spent in the gateway itself (not waiting for the instance), seconds',
    labelNames: ['method'],
    buckets: OWN_BUCKETS,
    registers,
  });
  const upstream = new Histogram({
    name: 'wacloud_gateway_upstream_seconds',
    help: 'Time from sending a proxied request to the instance until its answer was in hand (whole, or its headers when it streams), seconds',
    labelNames: ['method'],
    buckets: UPSTREAM_BUCKETS,
    registers,
  });
  const queueTimeouts = new Counter({
    name: 'wacloud_gateway_queue_timeouts_total',
    help: 'Proxied requests answered 503 instance_busy, never sent: no connection to their instance was free within the queue timeout',
    registers,
  });
  return {
    queueTimedOut: () => queueTimeouts.inc(),
    observe(method, ownMs, upstreamMs) {
      const m = METHODS.has(method) ? method : 'other';
      if (ownMs !== undefined) own.observe({ method: m }, ownMs / 1000);
      if (upstreamMs !== undefined) upstream.observe({ method: m }, upstreamMs / 1000);
    },
  };
}
