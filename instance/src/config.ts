/**
 * The instance's configuration: read once from the environment with kit's loader (validated, defaults filled,
 * camelCase, frozen). Startup fails fast with every problem listed when the environment is invalid.
 */
import {
  ConfigError,
  envBoolean,
  envDurationMs,
  envList,
  envLogLevel,
  envMongoUri,
  envPort,
  envSizeBytes,
  loadConfig,
  type ConfigOf,
} from '@wacloud/kit';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';

/** A duration in milliseconds of at least 1 ms (also `30s`, `5m`, …). */
const durationMs = envDurationMs.pipe(z.number().min(1, 'must be at least 1 ms'));
/** Whether `v` is a CIDR or a single address. */
const isCidr = (v: string) => ipaddr.isValidCIDR(v) || ipaddr.isValid(v);
/** A number of things (documents, operations), at least 1. */
const count = z.coerce.number().int().min(1);

const shape = {
  /** Public API port (tokens r / w / rw). 0 picks a free port (tests). */
  PORT: envPort.default(8080),
  /** Internal API port (internal key; reachable only from the main api). */
  INTERNAL_PORT: envPort.default(8081),
  /** Port of a third server with only /metrics and /health (Prometheus scraping); 0 disables it. */
  METRICS_PORT: envPort.default(0),
  /** Address the servers bind to. */
  HOST: z.string().min(1).default('0.0.0.0'),
  /** MongoDB connection string naming the instance's own database. */
  MONGODB_URI: envMongoUri,
  /** Bearer key of the internal API, given directly or as INTERNAL_API_KEY_FILE (a mounted Kubernetes Secret). */
  INTERNAL_API_KEY: z.string().min(16, 'must be at least 16 characters'),
  /** WhatsApp engine. */
  ENGINE: z.enum(['webjs', 'simulated']).default('webjs'),
  /** Directory of the stored session (browser profile / simulated session); the PVC in Kubernetes. */
  DATA_DIR: z.string().min(1).default('./.data/instance'),
  /** Chromium executable for the webjs engine. */
  CHROMIUM_PATH: z.string().min(1).default('/usr/bin/chromium'),
  /**
   * Chromium's sandbox: `auto` (sandboxed where the kernel and container allow it, else `--no-sandbox` with a
   * warning), `on` (sandboxed or fail at launch), `off` (`--no-sandbox`, with a warning). See docs/security.md.
   */
  WACLOUD_CHROMIUM_SANDBOX: z.enum(['auto', 'on', 'off']).default('auto'),
  /** Restart the browser (keeping the session) when its memory (PSS) passes this many bytes (also `1536m`, `2g`). */
  BROWSER_MEMORY_LIMIT_BYTES: envSizeBytes.default(1536 * 1024 * 1024),
  /** How often the browser's memory is measured, ms. */
  BROWSER_MEMORY_CHECK_MS: durationMs.default(30_000),
  /**
   * Reconnect after a connection loss, a browser crash or a failed start (both engines, stored session kept): first
   * delay, ms (doubles per failed attempt, with jitter).
   */
  RECONNECT_INITIAL_DELAY_MS: durationMs.default(1_000),
  /** Reconnect: cap of one delay, ms (also `5m`). */
  RECONNECT_MAX_DELAY_MS: durationMs.default(300_000),
  /** Reconnect budget: retries in a row before the session is FAILED and `/health/live` fails (0: FAILED at once). */
  RECONNECT_MAX_ATTEMPTS: z.coerce.number().int().min(0).max(1_000).default(20),
  /** Reconnect budget: longest a streak of failures may last before FAILED, ms (also `1h`). */
  RECONNECT_MAX_MS: durationMs.default(3_600_000),
  /** Simulated network's base URL (simulated engine only), e.g. http://127.0.0.1:7300. */
  SIMNET_URL: z.url().optional(),
  /** Start the engine at boot when a stored session exists (resume without a QR). */
  AUTO_START: envBoolean.default(true),
  /** Default webhook receiver (can be changed through the internal API). */
  WEBHOOK_URL: z.url().optional(),
  /** Default webhook HMAC secret. */
  WEBHOOK_SECRET: z.string().min(1).optional(),
  /** Default webhook events, comma-separated (`*` for all). */
  WEBHOOK_EVENTS: envList.default(['message', 'message.ack', 'session.status']),
  /** Delivery attempts before an event is marked failed (dead letter). */
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
  /** First retry delay, ms (doubles per attempt, with jitter). */
  WEBHOOK_RETRY_BASE_MS: durationMs.default(5_000),
  /** Upper bound of a retry delay, ms. */
  WEBHOOK_RETRY_MAX_MS: durationMs.default(300_000),
  /** Timeout of one delivery request, ms. */
  WEBHOOK_TIMEOUT_MS: durationMs.default(10_000),
  /**
   * How long delivered events stay in the delivery log, ms (`720h`, 30 days, by default; `0`: for ever); removed
   * hourly after that (`webhooks/admin.ts`). Pending events are kept whatever their age.
   */
  WEBHOOK_LOG_RETENTION_MS: envDurationMs.default(30 * 24 * 3_600_000),
  /**
   * How long failed events (dead letters, which the tenant may replay) stay in the delivery log after their last
   * attempt, ms (`2160h`, 90 days, by default; `0`: for ever); removed hourly after that, each sweep logged with its
   * count (`webhooks/admin.ts`). Without it a receiver that stays down keeps every event's payload for ever.
   */
  WEBHOOK_FAILED_RETENTION_MS: envDurationMs.default(90 * 24 * 3_600_000),
  /**
   * Webhook deliveries in flight at once (parallel POSTs to the tenant's receiver, at most as many connections). 64: a
   * burst's deliveries keep up with the instance's ingest (16 left them waiting on the shared event loop; api/bench
   * `webhooks`, instance/README.md).
   */
  WEBHOOK_CONCURRENCY: count.max(256).default(64),
  /**
   * SSRF guard (docs/security.md): CIDRs receivers may be in although their class is refused (loopback, private, …),
   * comma-separated; set by the operator, e.g. `127.0.0.0/8` for a receiver on the same machine.
   */
  WEBHOOK_ALLOW_CIDRS: envList.pipe(z.array(z.string().refine(isCidr, 'must be a CIDR like 10.0.0.0/8 or fd00::/8'))),
  /** SSRF guard: CIDRs always refused, comma-separated (the cluster's service and pod ranges); wins over the allow list. */
  WEBHOOK_DENY_CIDRS: envList.pipe(z.array(z.string().refine(isCidr, 'must be a CIDR like 10.96.0.0/12'))),
  /** SSRF guard: DNS servers resolving receiver names (`ip` or `ip:port`), comma-separated; empty: the system resolver. */
  WEBHOOK_DNS_SERVERS: envList.pipe(
    z.array(z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[0-9.]+)(:\d{1,5})?$|^[0-9a-fA-F:]+$/, 'must be ip or ip:port')),
  ),
  /** Bytes of a receiver's answer read at most (the rest is dropped). */
  WEBHOOK_MAX_RESPONSE_BYTES: envSizeBytes.default(64 * 1024),
  /** Persistence: documents per batch written to MongoDB. */
  PERSIST_BATCH_SIZE: count.default(500),
  /** Persistence: longest a document waits in the buffer before a flush, ms. */
  PERSIST_FLUSH_MS: durationMs.default(200),
  /** Persistence: buffer bound in documents; beyond it operations spill to a file in DATA_DIR (nothing dropped). */
  PERSIST_BUFFER_LIMIT: count.default(100_000),
  /**
   * Inbound journal durability: `write` (each message handed to the kernel before the engine goes on: survives the
   * process's death, kill -9 included) or `fsync` (also flushed to the device: survives a power loss; slower).
   */
  JOURNAL_SYNC: z.enum(['write', 'fsync']).default('write'),
  /** Inbound journal: compact the file past this size, bytes (also `64m`); entries not yet in MongoDB are never dropped. */
  JOURNAL_MAX_BYTES: envSizeBytes.pipe(z.number().min(1)).default(64 * 1024 * 1024),
  /** Gap fill after every (re)connect: messages fetched per active chat at most (up to 10000); 0 disables it. */
  GAP_FILL_MESSAGES: z.coerce.number().int().min(0).max(10_000).default(100),
  /** Gap fill: active chats looked at per (re)connect at most. */
  GAP_FILL_CHATS: count.default(50),
  /** Gap fill: a chat is active when it has a message stored at most this long ago, ms (also `7d`). */
  GAP_FILL_ACTIVE_MS: durationMs.default(7 * 24 * 3600 * 1000),
  /** Sync after login: history import, the newest messages per chat stored when the session becomes WORKING (up to 10000); 0 disables it. */
  HISTORY_IMPORT_MESSAGES: z.coerce.number().int().min(0).max(10_000).default(50),
  // ── The send queue (POST /v1/messages): pacing, because bursts get numbers banned ──
  /** Messages per second an instance sends on average (token bucket refill); 0 turns the bucket and jitter off. */
  SEND_RATE_PER_S: z.coerce.number().min(0).max(1000).default(1),
  /** Messages that may go back to back after a quiet spell (token bucket size). */
  SEND_BURST: z.coerce.number().int().min(1).max(1000).default(3),
  /** Random extra delay before each send, 0 to this many ms (also `1s`); only while SEND_RATE_PER_S > 0. */
  SEND_JITTER_MS: envDurationMs.default(500),
  /** Least time between two sends to the same chat, ms (also `2s`); 0 for none. */
  SEND_CHAT_GAP_MS: envDurationMs.default(2_000),
  /** Typing simulation: "typing…" shown this many ms per character before each send; 0 (default) turns it off. */
  SEND_TYPING_MS_PER_CHAR: z.coerce.number().min(0).max(1000).default(0),
  /** Typing simulation: longest "typing…" before one send, ms (also `5s`). */
  SEND_TYPING_MAX_MS: envDurationMs.default(5_000),
  /** Attempts before a message whose sends keep failing (or end with an unknown outcome) is marked failed. */
  SEND_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  /** `POST /v1/messages?wait=true`: longest wait for sent or failed before answering 202 anyway, ms. */
  SEND_WAIT_MAX_MS: durationMs.default(30_000),
  // ── Media (services/media/): files of sends and of received messages, stored in GridFS ──
  /** Bytes of media files the instance may store (also `5g`); a send past it is refused (507); 0: no quota. */
  MEDIA_QUOTA_BYTES: envSizeBytes.default(5 * 1024 * 1024 * 1024),
  /** Longest fetch of a media URL for a send (all redirects), ms (also `30s`). */
  MEDIA_URL_TIMEOUT_MS: durationMs.default(30_000),
  /** Download the media of received messages into GridFS in the background (else only on demand). */
  MEDIA_DOWNLOAD: envBoolean.default(true),
  /** Largest accepted request body, bytes (also `256k`). */
  BODY_LIMIT_BYTES: envSizeBytes.default(256 * 1024),
  /** Instance id (for logs and metrics labels); the WhatsAppInstance name in Kubernetes. */
  INSTANCE_ID: z.string().min(1).default('local'),
  LOG_LEVEL: envLogLevel,
};

/** The instance's configuration: every variable above, camelCased (`MONGODB_URI` → `mongodbUri`). */
export type Config = ConfigOf<typeof shape>;

export { ConfigError };

/**
 * Validates `env` (default `process.env`) and returns the frozen configuration.
 * @throws ConfigError listing every invalid or missing variable (and SIMNET_URL missing for the simulated engine).
 */
export function loadInstanceConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return loadConfig(shape, {
    env,
    service: 'instance',
    secretFiles: ['INTERNAL_API_KEY'],
    check: (c) => (c.engine === 'simulated' && !c.simnetUrl ? ['SIMNET_URL: required when ENGINE=simulated'] : []),
  });
}
