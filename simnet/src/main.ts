#!/usr/bin/env node
/**
 * `wacloud-simnet`: runs the simulated WhatsApp network server (the package's bin, `node simnet/dist/main.js`).
 *
 * Environment: `SIMNET_PORT` (default 7300; 0 picks a free port), `SIMNET_HOST` (default 127.0.0.1),
 * `SIMNET_QR_INTERVAL_MS` (default 20000; also `20s`), `SIMNET_QR_MAX_COUNT` (default 6), `LOG_LEVEL` (default info).
 * Prints `simnet listening on http://HOST:PORT` once ready; exits 0 on SIGTERM/SIGINT, 1 on an invalid environment or
 * a startup error.
 */
import { ConfigError, createLogger, envDurationMs, envLogLevel, envPort, loadConfig } from '@wacloud/kit';
import { z } from 'zod';
import { createSimnetServer } from './server.js';

const shape = {
  /** Port of the HTTP server (hooks, /health) and the device WebSocket. */
  SIMNET_PORT: envPort.default(7300),
  /** Bind address. */
  SIMNET_HOST: z.string().min(1).default('127.0.0.1'),
  /** How long each QR is valid before the next one, ms. */
  SIMNET_QR_INTERVAL_MS: envDurationMs.pipe(z.number().min(1, 'must be at least 1 ms')).optional(),
  /** QRs shown before a login fails. */
  SIMNET_QR_MAX_COUNT: z.coerce.number().int().min(1).optional(),
  LOG_LEVEL: envLogLevel,
};

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(shape, { service: 'simnet' });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
  const logger = createLogger({ service: 'wacloud-simnet', level: config.logLevel });
  const server = await createSimnetServer({
    port: config.simnetPort,
    host: config.simnetHost,
    qrIntervalMs: config.simnetQrIntervalMs,
    qrMaxCount: config.simnetQrMaxCount,
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
