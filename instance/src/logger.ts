/**
 * The one pino logger of the instance service. Child loggers per request (pino-http) and per component.
 * Authorization headers, tokens, keys and secrets are redacted wherever they appear.
 */
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-internal-key"]',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'internalApiKey',
  '*.internalApiKey',
  'password',
  '*.password',
];

/** Creates the root logger. `level` from config; `destination` for tests (default stdout). */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'wacloud-instance' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };
