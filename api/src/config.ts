/**
 * The api's configuration: read once from the environment, validated with zod, defaults filled, frozen; startup
 * fails fast listing every invalid variable.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const here = path.dirname(fileURLToPath(import.meta.url));
const int = z.coerce.number().int();
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const envSchema = z.object({
  PORT: int.min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** The api's own database (users, ledger, instances). */
  MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// URI'),
  /** HS256 signing key of access tokens (≥ 32 characters) … */
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** … or a file holding it (a mounted Secret). */
  JWT_SECRET_FILE: z.string().min(1).optional(),
  JWT_ISSUER: z.string().min(1).default('wacloud'),
  /** Access token lifetime, seconds. */
  JWT_TTL_S: int.min(60).max(30 * 86_400).default(12 * 3600),
  /** Monthly price of one instance, minor currency units (cents). Billing rule: spec §2.2. */
  PRICE_MONTHLY_MINOR: int.min(0).default(1500),
  /** ISO 4217 currency code. */
  CURRENCY: z.string().regex(/^[A-Z]{3}$/).default('USD'),
  /** Largest single (emulated) deposit, minor units. */
  MAX_DEPOSIT_MINOR: int.min(1).default(100_000_00),
  /** Where instances run. */
  PROVIDER: z.enum(['process', 'kubernetes']).default('process'),
  /** Engine of new instances. */
  ENGINE: z.enum(['webjs', 'simulated']).default('simulated'),
  /** Simulated WhatsApp network (ENGINE=simulated). */
  SIMNET_URL: z.url().optional(),
  /** process provider: instance entry point. */
  INSTANCE_MAIN: z.string().default(path.resolve(here, '..', '..', 'instance', 'dist', 'main.js')),
  /** process provider: per-instance directories. */
  PROCESS_DATA_ROOT: z.string().default('./.data/instances'),
  /** process provider: MongoDB server for instance databases (default: the api's server). */
  INSTANCE_MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//).optional(),
  /** kubernetes provider: namespace of WhatsAppInstance resources (credentials: KUBECONFIG or in-cluster). */
  K8S_NAMESPACE: z.string().min(1).default('wacloud-instances'),
  /** Login throttling: failed logins per account and per client address within the window. */
  LOGIN_MAX_FAILURES_PER_ACCOUNT: int.min(1).default(10),
  LOGIN_MAX_FAILURES_PER_ADDRESS: int.min(1).default(100),
  LOGIN_WINDOW_S: int.min(1).default(900),
  /** Trust X-Forwarded-For from this many proxies (Ingress). */
  TRUST_PROXY_HOPS: int.min(0).default(0),
  /** Built dashboard to serve at / (embedded mode); empty: none. */
  DASHBOARD_DIR: z.string().default(''),
  /** Origins allowed to call the api from a browser (comma-separated), for a separately hosted dashboard. */
  CORS_ORIGINS: z.string().default(''),
  BODY_LIMIT_BYTES: int.min(1024).default(256 * 1024),
  /** Run the billing job in-process at 00:00 Etc/UTC (process/docker modes; Kubernetes uses the chart's CronJob). */
  BILLING_CRON: bool.optional(),
  /** Re-sync provider state with the database at start (process provider: adopt surviving instances). */
  RECONCILE_ON_START: bool.default(true),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type ApiConfig = Readonly<Omit<z.infer<typeof envSchema>, 'JWT_SECRET' | 'JWT_SECRET_FILE'> & { jwtSecret: string; corsOrigins: string[] }>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** @throws ConfigError listing every invalid variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const parsed = envSchema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `  ${i.path.join('.') || 'env'}: ${i.message}`);
  if (!env.JWT_SECRET && !env.JWT_SECRET_FILE) problems.push('  JWT_SECRET: set JWT_SECRET or JWT_SECRET_FILE');
  if (env.ENGINE === 'simulated' && (env.PROVIDER ?? 'process') === 'process' && !env.SIMNET_URL) problems.push('  SIMNET_URL: required when ENGINE=simulated');
  if (!parsed.success || problems.length) throw new ConfigError(`invalid api configuration:\n${problems.join('\n')}`);
  const { JWT_SECRET, JWT_SECRET_FILE, ...rest } = parsed.data;
  let jwtSecret = JWT_SECRET;
  if (!jwtSecret && JWT_SECRET_FILE) {
    try {
      jwtSecret = readFileSync(JWT_SECRET_FILE, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`invalid api configuration:\n  JWT_SECRET_FILE: cannot read: ${(err as Error).message}`);
    }
    if (jwtSecret.length < 32) throw new ConfigError('invalid api configuration:\n  JWT_SECRET_FILE: key must be at least 32 characters');
  }
  return Object.freeze({
    ...rest,
    jwtSecret: jwtSecret!,
    corsOrigins: rest.CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean),
  });
}
