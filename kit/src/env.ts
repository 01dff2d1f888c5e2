/**
 * Zod pieces for environment variables, shared by every wacloud service so the same kind of variable is read the same
 * way everywhere. Each takes the raw string of the environment (or `undefined` when unset) and outputs a typed value;
 * use them as fields of a {@link loadConfig} shape, with `.default(x)` (x of the output type) or `.optional()`.
 * Extra bounds: `.pipe(z.number().min(1, 'must be at least 1 ms'))` on the number pieces.
 */
import { z } from 'zod';

/** A boolean: `true`/`false`, `1`/`0`, `yes`/`no` (case-insensitive, trimmed). Output: `boolean`. */
export const envBoolean = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), 'must be true/false, 1/0 or yes/no')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A TCP port, an integer 0–65535 (0: pick a free port). Output: `number`. */
export const envPort = z
  .string()
  .trim()
  .regex(/^\d+$/, 'must be a port number 0–65535')
  .transform(Number)
  .pipe(z.number().int().max(65535, 'must be a port number 0–65535'));

const DURATION_UNITS_MS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration in milliseconds: a non-negative integer (`2000`), or a number with a unit — `500ms`, `30s`, `1.5s`, `5m`,
 * `1h` (case-insensitive). Output: `number`, integer milliseconds (rounded).
 */
export const envDurationMs = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(\d+|\d+(\.\d+)?(ms|s|m|h))$/, 'must be milliseconds, or a duration like 500ms, 30s, 5m or 1h')
  .transform((v) => {
    const [, n, unit] = /^([\d.]+)([a-z]*)$/.exec(v)!;
    return Math.round(Number(n) * DURATION_UNITS_MS[unit!]!);
  });

const SIZE_UNITS_BYTES: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * A size in bytes: a positive integer (`536870912`), or a number with a binary unit the way Docker and Kubernetes
 * write memory — `512k`, `512m`, `2g`, `1t`, also `512kb`, `1536Mi`, `2Gi`, `1.5g` (case-insensitive; every unit is
 * a power of 1024). Output: `number`, integer bytes (rounded), at least 1. For "0 means none", use
 * `z.literal('0').transform(() => 0).or(envSizeBytes)`.
 */
export const envSizeBytes = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(\d+|\d+(\.\d+)?([kmgt](i|b|ib)?|b))$/, 'must be bytes, or a size like 512m, 2g, 1536Mi or 2Gi')
  .transform((v) => {
    const [, n, unit] = /^([\d.]+)([a-z]*)$/.exec(v)!;
    return Math.round(Number(n) * SIZE_UNITS_BYTES[unit!.charAt(0)]!);
  })
  .pipe(z.number().int().min(1, 'must be at least 1 byte'));

/** The pino log levels; default `info`. Output: one of the level names. */
export const envLogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');

/** Log level names accepted by {@link envLogLevel}. */
export type LogLevel = z.output<typeof envLogLevel>;

/**
 * A comma-separated list: items trimmed, empty items dropped; unset is `[]`. Output: `string[]`. Validate the items
 * with `.pipe(z.array(z.string().regex(…)))`.
 */
export const envList = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/** A MongoDB connection string: `mongodb://…` or `mongodb+srv://…`. Output: `string`. */
export const envMongoUri = z
  .string()
  .trim()
  .regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// or mongodb+srv:// URI');
