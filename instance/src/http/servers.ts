/**
 * The instance's HTTP servers: the public API on PORT (instance tokens, plus the `/v1/events` WebSocket), the
 * internal API on INTERNAL_PORT (internal key), and, when METRICS_PORT is set, a scrape-only server with `/metrics`
 * and `/health`, `/health/live`, `/health/ready`. The public port's `/openapi.json` documents the public routes only; the internal port's documents both (each built
 * once, on first request).
 */
import { http } from '../node-http.js';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { createApp, holdIdleConnections, type RouteDef } from '@wacloud/kit';
import type { Metrics } from '../metrics.js';
import { instanceOpenApi } from '../openapi.js';
import type { LiveEvents } from '../services/live-events.js';
import type { SessionController } from '../services/session-controller.js';
import type { TokenService } from '../services/tokens.js';
import { internalKeyAuth, tokenAuth } from './auth.js';
import { attachEventStream } from './events-ws.js';

export interface HttpServersOptions {
  /** Bind address; `0.0.0.0` is reported as 127.0.0.1 in the URLs. */
  host: string;
  /** Ports; 0 picks a free one. `metricsPort` 0 runs no scrape server. */
  port: number;
  internalPort: number;
  metricsPort: number;
  /** Largest accepted request body, bytes. */
  bodyLimitBytes: number;
  internalApiKey: string;
  /** The service version shown in the OpenAPI document. */
  version: string;
  publicRoutes: RouteDef[];
  internalRoutes: RouteDef[];
  tokens: TokenService;
  session: SessionController;
  live: LiveEvents;
  metrics: Metrics;
  /** The service's logger; request logs go to its child `component: http`, the event stream's to `component: events`. */
  logger: Logger;
}

export interface HttpServers {
  publicUrl: string;
  internalUrl: string;
  /** The express applications (tests walk their routers to check /openapi.json). */
  apps: { public: Express; internal: Express };
  /** Drops event-stream subscribers and closes every server and connection. */
  close(): Promise<void>;
}

/** Starts the servers and resolves once all listen. @throws the listen error (e.g. EADDRINUSE). */
export async function startHttpServers(o: HttpServersOptions): Promise<HttpServers> {
  let fullDoc: unknown;
  let publicDoc: unknown;
  const common = {
    logger: o.logger.child({ component: 'http' }),
    registry: o.metrics.registry,
    httpDuration: o.metrics.httpDuration,
    bodyLimitBytes: o.bodyLimitBytes,
  };
  const apps = {
    public: createApp({
      ...common,
      routes: o.publicRoutes,
      authenticate: tokenAuth(o.tokens),
      openapi: () => (publicDoc ??= instanceOpenApi({ public: o.publicRoutes }, o.version)),
    }),
    internal: createApp({
      ...common,
      routes: o.internalRoutes,
      authenticate: internalKeyAuth(o.internalApiKey),
      openapi: () => (fullDoc ??= instanceOpenApi({ public: o.publicRoutes, internal: o.internalRoutes }, o.version)),
    }),
  };
  // The gateway's connections outlive pauses in a tenant's traffic (kit's keep-alive.ts).
  const publicServer = holdIdleConnections(http.createServer(apps.public));
  const internalServer = holdIdleConnections(http.createServer(apps.internal));
  const events = attachEventStream(publicServer, {
    session: o.session,
    live: o.live,
    tokens: o.tokens,
    logger: o.logger.child({ component: 'events' }),
  });
  const pa = await listen(publicServer, o.port, o.host);
  const ia = await listen(internalServer, o.internalPort, o.host);
  // Optional scrape-only server: /metrics and the health probes, nothing else (public routes need tokens anyway).
  const healthRoutes = o.publicRoutes.filter((r) => ['health', 'healthLive', 'healthReady'].includes(r.operationId));
  const metricsServer = o.metricsPort
    ? http.createServer(
        createApp({
          ...common,
          routes: healthRoutes,
          authenticate: async () => undefined,
          openapi: () => (publicDoc ??= instanceOpenApi({ public: o.publicRoutes }, o.version)),
        }),
      )
    : undefined;
  if (metricsServer) await listen(metricsServer, o.metricsPort, o.host);
  const host = o.host === '0.0.0.0' ? '127.0.0.1' : o.host;
  return {
    publicUrl: `http://${host}:${pa.port}`,
    internalUrl: `http://${host}:${ia.port}`,
    apps,
    async close() {
      events.close();
      await Promise.all([closeServer(publicServer), closeServer(internalServer), ...(metricsServer ? [closeServer(metricsServer)] : [])]);
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server.address() as AddressInfo));
  });
}

function closeServer(s: Server): Promise<void> {
  return new Promise((resolve) => {
    s.close(() => resolve());
    s.closeAllConnections();
  });
}
