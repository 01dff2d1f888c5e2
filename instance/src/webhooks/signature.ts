/**
 * Webhook signatures: HMAC-SHA256 over `<timestamp>.<raw body>` with the webhook secret, hex, sent as
 * `X-Wacloud-Signature: v1=<hex>` next to `X-Wacloud-Timestamp: <unix seconds>`. Receivers recompute it over the
 * raw body and reject stale timestamps (replay protection), like Stripe's scheme.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-wacloud-signature';
export const TIMESTAMP_HEADER = 'x-wacloud-timestamp';
export const EVENT_ID_HEADER = 'x-wacloud-event-id';
export const EVENT_TYPE_HEADER = 'x-wacloud-event';
export const ATTEMPT_HEADER = 'x-wacloud-attempt';
/** On a batch of api events (`batch.ts`): how many events the body holds. */
export const BATCH_HEADER = 'x-wacloud-batch';

/** `v1=<hex hmac-sha256(secret, timestamp + "." + body)>`; `timestamp` in unix seconds. */
export function sign(secret: string, timestamp: number, rawBody: string | Buffer): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`;
}

/** Constant-time check of a signature header value; `toleranceS` bounds the timestamp's age (seconds). */
export function verify(
  secret: string,
  timestamp: number,
  rawBody: string | Buffer,
  header: string,
  toleranceS = 300,
  nowMs = Date.now(),
): boolean {
  if (!Number.isFinite(timestamp) || Math.abs(nowMs / 1000 - timestamp) > toleranceS) return false;
  const expected = Buffer.from(sign(secret, timestamp, rawBody));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
