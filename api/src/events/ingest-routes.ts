/**
 * `POST /internal/v1/instance-events`: where instances deliver their events (their `api` subscription; no user auth —
 * the per-instance HMAC signature is the credential, see `ingest.ts`). The raw body is kept for the signature check
 * ({@link rawEventBody}, mounted before the JSON parser).
 */
import express, { type Request, type RequestHandler } from 'express';
import { defineRoute, type RouteDef } from '@wacloud/kit';
import { z } from 'zod';
import * as s from '../schemas.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, batchAnswer, batchBody, deliveryBody, type Ingest } from './ingest.js';

export const INGEST_PATH = '/internal/v1/instance-events';

const route = defineRoute<undefined>();
const err = (description: string) => ({ description, schema: s.errorResponse });

/** The request's raw body, kept by {@link rawEventBody}. */
const RAW = Symbol('rawBody');
type WithRaw = Request & { [RAW]?: Buffer };

/**
 * Reads the body of ingest requests as bytes (kept for the signature) and parses it as JSON for the route's schema;
 * other requests pass untouched. `limitBytes`: the largest delivery.
 */
export function rawEventBody(limitBytes: number): RequestHandler {
  const raw = express.raw({ type: () => true, limit: limitBytes });
  return (req, res, next) => {
    if (req.method !== 'POST' || req.path !== INGEST_PATH) return next();
    raw(req, res, (e?: unknown) => {
      if (e) return next(e);
      const buf = Buffer.isBuffer(req.body) ? (req.body as Buffer) : Buffer.alloc(0);
      (req as WithRaw)[RAW] = buf;
      try {
        req.body = JSON.parse(buf.toString('utf8')) as unknown;
      } catch {
        req.body = undefined;
      }
      next();
    });
  };
}

export function ingestRoutes(ingest: Ingest): RouteDef[] {
  return [
    route({
      method: 'post',
      path: INGEST_PATH,
      operationId: 'ingestInstanceEvent',
      tags: ['internal'],
      scope: 'none',
      summary:
        "Instances deliver their events here (their `api` subscription). Signed: `X-Wacloud-Signature: v1=<hex HMAC-SHA256(secret, timestamp + '.' + raw body)>` " +
        "and `X-Wacloud-Timestamp` (unix seconds, within 5 min), the secret derived per instance from the api's JWT secret; " +
        'a redelivered event id is answered 200 `{duplicate: true}` without effect. Not for tenants. ' +
        'A batch body `{instanceId, events: [...]}` (instances subscribed with `batch`) is handled in order and answered ' +
        '200 `{accepted: k, results, error?}`: the first k events are taken; when k is short of the batch, event k failed ' +
        '(`error.code` `ingest_unavailable`) and it and those after are to be delivered again.',
      body: z.union([deliveryBody, batchBody]),
      responses: {
        200: {
          description: 'One event: taken (or a duplicate). A batch: how many, from the first, were taken',
          schema: z.union([z.object({ duplicate: z.boolean() }), batchAnswer]),
        },
        400: err('`invalid_request`: not a delivery body'),
        401: err('`invalid_signature`: missing or wrong signature, or a timestamp older than 5 min'),
        404: err('`instance_not_found`: no such instance'),
        503: err('`ingest_unavailable`: a handler failed (one event; a batch says so in its 200 answer); deliver again later'),
      },
      handler: ({ req }) =>
        ingest.receive((req as WithRaw)[RAW] ?? Buffer.alloc(0), {
          signature: req.get(SIGNATURE_HEADER),
          timestamp: req.get(TIMESTAMP_HEADER),
        }),
    }),
  ];
}
