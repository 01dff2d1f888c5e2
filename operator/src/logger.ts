/** The operator's pino logger (JSON to stdout; Authorization and tokens redacted). */
import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'wacloud-operator' },
    redact: { paths: ['headers.authorization', 'authorization', 'token', '*.token'], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
