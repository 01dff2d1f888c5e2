/** The api's pino logger: credentials (Authorization headers, passwords, tokens, keys) are redacted everywhere. */
import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'wacloud-api' },
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'authorization', 'password', '*.password', 'token', '*.token', 'internalKey', '*.internalKey', 'accessToken', '*.accessToken'],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
