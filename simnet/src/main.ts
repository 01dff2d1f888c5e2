#!/usr/bin/env node
/**
 * `wacloud-simnet`: runs the simulated WhatsApp network server (the package's bin, `node simnet/dist/main.js`).
 *
 * Environment: `SIMNET_PORT` (default 7300; 0 picks a free port), `SIMNET_HOST` (default 127.0.0.1),
 * `SIMNET_QR_INTERVAL_MS` (default 20000), `SIMNET_QR_MAX_COUNT` (default 6), `LOG_LEVEL` (default info).
 * Prints `simnet listening on http://HOST:PORT` once ready; exits 0 on SIGTERM/SIGINT, 1 on a startup error.
 */
import { pino } from 'pino';
import { z } from 'zod';
import { createSimnetServer } from './server.js';

const envSchema = z.object({
  SIMNET_PORT: z.coerce.number().int().min(0).max(65535).default(7300),
  SIMNET_HOST: z.string().min(1).default('127.0.0.1'),
  SIMNET_QR_INTERVAL_MS: z.coerce.number().int().positive().optional(),
  SIMNET_QR_MAX_COUNT: z.coerce.number().int().positive().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

async function main(): Promise<void> {
  const parsed = envSchema.safeParse(process.env);
  if (!parsed.success) {
    console.error(`invalid environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    process.exit(1);
  }
  const env = parsed.data;
  const logger = pino({ level: env.LOG_LEVEL, base: { service: 'wacloud-simnet' } });
  const server = await createSimnetServer({
    port: env.SIMNET_PORT,
    host: env.SIMNET_HOST,
    qrIntervalMs: env.SIMNET_QR_INTERVAL_MS,
    qrMaxCount: env.SIMNET_QR_MAX_COUNT,
    logger,
  });
  console.log(`simnet listening on ${server.url}`);

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'simnet stopping');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'simnet close failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  console.error('simnet failed to start:', err);
  process.exit(1);
});
