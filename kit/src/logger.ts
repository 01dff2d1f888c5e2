/**
 * The one logger factory of every wacloud service: pino JSON lines with ISO timestamps, `service` on every line, and
 * credentials redacted wherever {@link REDACT_PATHS} names them (request headers, passwords, tokens, keys, secrets),
 * and wherever a URL query carries one ({@link redactQueryTokens}: every `token=` / `access_token=` parameter of every
 * line — request URLs, error messages, stacks).
 */
import { pino, type DestinationStream, type Logger } from 'pino';

/** What the redacted values are replaced with. */
export const REDACT_CENSOR = '[redacted]';

const SECRET_FIELDS = [
  'password',
  'token',
  'secret',
  'internalKey',
  'internalApiKey',
  'accessToken',
  'jwtSecret',
  'dockerKeySecret',
  'authorization',
  'cookie',
];

/**
 * Log paths whose values are replaced by `[redacted]` (pino redaction syntax: `a.b`, `*.x` one level deep,
 * `a["x-y"]`): the credential headers of a request (Authorization, Cookie, X-Internal-Key) as pino-http logs them
 * (`req.headers.*`) and as raw header objects (`headers.*`), Set-Cookie of responses, and each secret-bearing field
 * name both at the top of a log line and one level down (`password`, `*.password`, `token`, `*.token`, …).
 */
export const REDACT_PATHS: readonly string[] = Object.freeze([
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-internal-key"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-internal-key"]',
  'res.headers["set-cookie"]',
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]),
]);

/** Query parameters whose values are credentials (WebSocket tickets; tokens some clients still put in URLs). */
const QUERY_TOKEN = /([?&](?:access_token|token|ticket|key|api_key|apikey)=)[^&#\s"\\]+/gi;

/**
 * `line` with the value of every `token`, `access_token`, `ticket`, `key`, `api_key` and `apikey` query parameter replaced by
 * `[redacted]` (a serialised log line or any text holding URLs).
 */
export function redactQueryTokens(line: string): string {
  return line.replace(QUERY_TOKEN, `$1${REDACT_CENSOR}`);
}

export interface LoggerOptions {
  /** The `service` field of every line, e.g. `wacloud-api`. */
  service: string;
  /** Lowest level written (`fatal` … `trace`, or `silent`). */
  level: string;
  /** Where lines go; default stdout. Tests pass a stream to read them back. */
  destination?: DestinationStream;
}

/**
 * Creates a service's root logger; derive per-request and per-component loggers with `logger.child({...})`.
 * @throws Error from pino when `level` is not a level name.
 */
export function createLogger(o: LoggerOptions): Logger {
  return pino(
    {
      level: o.level,
      base: { service: o.service },
      redact: { paths: [...REDACT_PATHS], censor: REDACT_CENSOR },
      timestamp: pino.stdTimeFunctions.isoTime,
      hooks: { streamWrite: redactQueryTokens },
    },
    o.destination,
  );
}

/**
 * An error's type, message and code (and its cause's message), without the stack: for expected failures — an instance
 * that does not answer yet, a refused connection — logged at info or warn, where a stack trace says nothing.
 */
export function errorBrief(err: unknown): { type: string; message: string; code?: string; cause?: string } {
  if (!(err instanceof Error)) return { type: typeof err, message: String(err) };
  const code = (err as { code?: unknown }).code;
  const cause = (err as { cause?: unknown }).cause;
  return {
    type: err.name,
    message: err.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(cause instanceof Error ? { cause: cause.message } : {}),
  };
}

export type { Logger };
