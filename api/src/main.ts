#!/usr/bin/env node
/**
 * `wacloud-api`: the main backend (see config.ts for the environment). Stops on SIGTERM/SIGINT; instances keep
 * running (the process and docker providers adopt them at the next start).
 */
import { ConfigError, loadConfig, type ApiConfig } from './config.js';
import { createLogger } from './logger.js';
import { startApi } from './service.js';

let config: ApiConfig;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
  throw err;
}
const logger = createLogger(config.logLevel);
process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
const api = await startApi(config, logger).catch((err: Error) => {
  logger.fatal({ err }, 'api failed to start');
  process.exit(1);
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    logger.info({ signal: sig }, 'stopping');
    api.close().then(
      () => process.exit(0),
      (err: Error) => {
        logger.error({ err }, 'unclean stop');
        process.exit(1);
      },
    );
  });
}
