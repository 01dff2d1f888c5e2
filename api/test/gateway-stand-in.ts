/**
 * What the gateway tests that stand a real local HTTP server where an instance would be (the Gateway's own seam, no
 * platform) share: a loopback listener, the instance's token check answered for every token, a well-formed instance
 * token, and the gateway served as the api serves it (kit's `withFront` ahead of express).
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { pino } from 'pino';
import { Histogram } from 'prom-client';
import { withFront } from '@wacloud/kit';
import type { Gateway } from '../src/gateway.js';

/** A well-formed instance token (`wai_<16 hex>_<43 base64url>`); the stand-ins accept every token. */
export const INSTANCE_TOKEN = `wai_0123456789abcdef_${'A'.repeat(43)}`;

/** Starts `server` on a free loopback port. @returns its base URL (`http://127.0.0.1:<port>`). */
export async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * Answers the gateway's token check (`/internal/v1/tokens/verify`) as an instance that knows the token with rights `rw`.
 * @returns true when `req` was that check (answered), false for any other request (left to the caller).
 */
export function answerTokenCheck(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.url !== '/internal/v1/tokens/verify') return false;
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"valid":true,"permissions":"rw"}');
  return true;
}

/** A request listener serving `gateway`'s routes ahead of an express app that answers everything else 404. */
export function gatewayListener(gateway: Gateway): RequestListener {
  const app = express();
  app.use((_req, res) => void res.status(404).end());
  const httpDuration = new Histogram({ name: 'h', help: 'h', labelNames: ['method', 'route', 'status_code'], registers: [] });
  return withFront(app, gateway.front(), { logger: pino({ level: 'silent' }), httpDuration });
}
