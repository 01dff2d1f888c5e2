#!/usr/bin/env node
/**
 * `wacloud-instance`: runs one instance service from the environment (see config.ts). Stops gracefully on
 * SIGTERM/SIGINT (Kubernetes sends SIGTERM), keeping the stored WhatsApp session.
 */
import './lazy-builtins.js'; // first: what the dependencies below require and an idle instance never uses loads at first use
import { createLogger } from '@wacloud/kit';
import { ConfigError, loadInstanceConfig } from './config.js';
import { startInstanceApp } from './instance-app.js';

let config;
try {
  config = loadInstanceConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}
const logger = createLogger({ service: 'wacloud-instance', level: config.logLevel });
const app = await startInstanceApp(config, logger).catch((err: Error) => {
  logger.fatal({ err }, 'instance service failed to start');
  process.exit(1);
});
// whatsapp-web.js fires some promises without awaiting them (navigation, pairing code): log, never crash.
process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal: sig }, 'stopping');
    app
      .close()
      .then(() => process.exit(0))
      .catch((err: Error) => {
        logger.error({ err }, 'unclean stop');
        process.exit(1);
      });
  });
}
