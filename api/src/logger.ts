/**
 * The api's logger: kit's factory (pino, ISO times, one redaction list for every wacloud service: authorization
 * headers, passwords, tokens, keys, secrets) with service `wacloud-api`.
 */
import { createLogger as createServiceLogger, type Logger } from '@wacloud/kit';

/** A logger at `level` (`fatal` … `trace`, `silent`). */
export function createLogger(level: string): Logger {
  return createServiceLogger({ service: 'wacloud-api', level });
}
