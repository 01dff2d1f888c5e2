/**
 * The instance's configuration: read once from the environment, validated with zod, defaults filled, frozen.
 * Startup fails fast with every problem listed when the environment is invalid.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number().int().min(0).max(65535);
/** A size in bytes. */
const bytes = z.coerce.number().int().positive();
/** A duration in milliseconds. */
const durationMs = z.coerce.number().int().positive();
/** A number of things (documents, operations). */
const count = z.coerce.number().int().positive();

const envSchema = z
  .object({
    /** Public API port (tokens r / w / rw). 0 picks a free port (tests). */
    PORT: port.default(8080),
    /** Internal API port (internal key; reachable only from the main api). */
    INTERNAL_PORT: port.default(8081),
    /** Port of a third server with only /metrics and /health (Prometheus scraping); 0 disables it. */
    METRICS_PORT: port.default(0),
    /** Address the servers bind to. */
    HOST: z.string().min(1).default('0.0.0.0'),
    /** MongoDB connection string naming the instance's own database. */
    MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// or mongodb+srv:// URI'),
    /** Bearer key of the internal API, given directly … */
    INTERNAL_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
    /** … or read from a file (a mounted Kubernetes Secret). */
    INTERNAL_API_KEY_FILE: z.string().min(1).optional(),
    /** WhatsApp engine. */
    ENGINE: z.enum(['webjs', 'simulated']).default('webjs'),
    /** Directory of the stored session (browser profile / simulated session); the PVC in Kubernetes. */
    DATA_DIR: z.string().min(1).default('./.data/instance'),
    /** Chromium executable for the webjs engine. */
    CHROMIUM_PATH: z.string().min(1).default('/usr/bin/chromium'),
    /** Restart the browser (keeping the session) when its memory (PSS) passes this many bytes. */
    BROWSER_MEMORY_LIMIT_BYTES: bytes.default(1536 * 1024 * 1024),
    /** How often the browser's memory is measured, ms. */
    BROWSER_MEMORY_CHECK_MS: durationMs.default(30_000),
    /** Simulated network's base URL (simulated engine only), e.g. http://127.0.0.1:7300. */
    SIMNET_URL: z.url().optional(),
    /** Start the engine at boot when a stored session exists (resume without a QR). */
    AUTO_START: bool.default(true),
    /** Default webhook receiver (can be changed through the internal API). */
    WEBHOOK_URL: z.url().optional(),
    /** Default webhook HMAC secret. */
    WEBHOOK_SECRET: z.string().min(1).optional(),
    /** Default webhook events, comma-separated (`*` for all). */
    WEBHOOK_EVENTS: z.string().default('message,message.ack,session.status'),
    /** Delivery attempts before an event is marked failed (dead letter). */
    WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
    /** First retry delay, ms (doubles per attempt, with jitter). */
    WEBHOOK_RETRY_BASE_MS: durationMs.default(5_000),
    /** Upper bound of a retry delay, ms. */
    WEBHOOK_RETRY_MAX_MS: durationMs.default(300_000),
    /** Timeout of one delivery request, ms. */
    WEBHOOK_TIMEOUT_MS: durationMs.default(10_000),
    /** Persistence: documents per batch written to MongoDB. */
    PERSIST_BATCH_SIZE: count.default(500),
    /** Persistence: longest a document waits in the buffer before a flush, ms. */
    PERSIST_FLUSH_MS: durationMs.default(200),
    /** Persistence: buffer bound in documents; beyond it the engine's events wait (backpressure, nothing dropped). */
    PERSIST_BUFFER_LIMIT: count.default(100_000),
    /** Largest accepted request body, bytes. */
    BODY_LIMIT_BYTES: bytes.default(256 * 1024),
    /** Instance id (for logs and metrics labels); the WhatsAppInstance name in Kubernetes. */
    INSTANCE_ID: z.string().min(1).default('local'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  });

/** Rules across variables, checked on the raw environment so they are reported together with the others. */
function crossFieldProblems(env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  if (!env.INTERNAL_API_KEY && !env.INTERNAL_API_KEY_FILE) problems.push('  INTERNAL_API_KEY: set INTERNAL_API_KEY or INTERNAL_API_KEY_FILE');
  if (env.ENGINE === 'simulated' && !env.SIMNET_URL) problems.push('  SIMNET_URL: required when ENGINE=simulated');
  return problems;
}

export type Env = z.infer<typeof envSchema>;

export interface Config {
  port: number;
  internalPort: number;
  metricsPort: number;
  host: string;
  mongodbUri: string;
  /** The internal API key (never logged). */
  internalApiKey: string;
  engine: 'webjs' | 'simulated';
  dataDir: string;
  chromiumPath: string;
  browserMemoryLimitBytes: number;
  browserMemoryCheckMs: number;
  simnetUrl: string | undefined;
  autoStart: boolean;
  webhook: { url: string | undefined; secret: string | undefined; events: string[] };
  webhookMaxAttempts: number;
  webhookRetryBaseMs: number;
  webhookRetryMaxMs: number;
  webhookTimeoutMs: number;
  persistBatchSize: number;
  persistFlushMs: number;
  persistBufferLimit: number;
  bodyLimitBytes: number;
  instanceId: string;
  logLevel: Env['LOG_LEVEL'];
}

/** Thrown by {@link loadConfig} with one line per invalid variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Validates `env` (default `process.env`) and returns the frozen configuration.
 * @throws ConfigError listing every invalid or missing variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const parsed = envSchema.safeParse(env);
  const lines = [...(parsed.success ? [] : parsed.error.issues.map((i) => `  ${i.path.join('.') || 'env'}: ${i.message}`)), ...crossFieldProblems(env)];
  if (!parsed.success || lines.length > 0) {
    throw new ConfigError(`invalid instance configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  let key = e.INTERNAL_API_KEY;
  if (!key && e.INTERNAL_API_KEY_FILE) {
    try {
      key = readFileSync(e.INTERNAL_API_KEY_FILE, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`invalid instance configuration:\n  INTERNAL_API_KEY_FILE: cannot read: ${(err as Error).message}`);
    }
    if (key.length < 16) throw new ConfigError('invalid instance configuration:\n  INTERNAL_API_KEY_FILE: key must be at least 16 characters');
  }
  return Object.freeze({
    port: e.PORT,
    internalPort: e.INTERNAL_PORT,
    metricsPort: e.METRICS_PORT,
    host: e.HOST,
    mongodbUri: e.MONGODB_URI,
    internalApiKey: key!,
    engine: e.ENGINE,
    dataDir: e.DATA_DIR,
    chromiumPath: e.CHROMIUM_PATH,
    browserMemoryLimitBytes: e.BROWSER_MEMORY_LIMIT_BYTES,
    browserMemoryCheckMs: e.BROWSER_MEMORY_CHECK_MS,
    simnetUrl: e.SIMNET_URL,
    autoStart: e.AUTO_START,
    webhook: Object.freeze({
      url: e.WEBHOOK_URL,
      secret: e.WEBHOOK_SECRET,
      events: Object.freeze(e.WEBHOOK_EVENTS.split(',').map((s) => s.trim()).filter(Boolean)) as string[],
    }),
    webhookMaxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
    webhookRetryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
    webhookRetryMaxMs: e.WEBHOOK_RETRY_MAX_MS,
    webhookTimeoutMs: e.WEBHOOK_TIMEOUT_MS,
    persistBatchSize: e.PERSIST_BATCH_SIZE,
    persistFlushMs: e.PERSIST_FLUSH_MS,
    persistBufferLimit: e.PERSIST_BUFFER_LIMIT,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    instanceId: e.INSTANCE_ID,
    logLevel: e.LOG_LEVEL,
  });
}
