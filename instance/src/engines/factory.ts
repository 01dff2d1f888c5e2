/**
 * Chooses and builds the engine named by config (`ENGINE`). Engines are loaded lazily so the simulated engine never
 * loads whatsapp-web.js and puppeteer.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Engine } from './engine.js';
import type { ReconnectPolicy } from './reconnect.js';
import { SESSION_FILE } from './simulated/stored-session.js';

/** The engine `config.engine` names, configured from `config`; it starts STOPPED. */
export async function createEngine(config: Config, logger: Logger): Promise<Engine> {
  const log = logger.child({ component: 'engine', engine: config.engine });
  const reconnect: ReconnectPolicy = {
    initialDelayMs: config.reconnectInitialDelayMs,
    maxDelayMs: config.reconnectMaxDelayMs,
    maxAttempts: config.reconnectMaxAttempts,
    maxElapsedMs: config.reconnectMaxMs,
  };
  if (config.engine === 'simulated') {
    const { SimulatedEngine } = await import('./simulated/engine.js');
    return new SimulatedEngine({ simnetUrl: config.simnetUrl!, dataDir: config.dataDir, logger: log, reconnect });
  }
  const { WebjsEngine } = await import('./webjs/engine.js');
  return new WebjsEngine({
    dataDir: config.dataDir,
    chromiumPath: config.chromiumPath,
    chromiumSandbox: config.wacloudChromiumSandbox,
    memoryLimitBytes: config.browserMemoryLimitBytes,
    memoryCheckMs: config.browserMemoryCheckMs,
    reconnect,
    logger: log,
  });
}

/**
 * Whether a stored WhatsApp session exists in DATA_DIR (so a start resumes without a QR):
 * whatsapp-web.js LocalAuth keeps its browser profile in `<DATA_DIR>/session` (a session exists once WhatsApp Web
 * stored its IndexedDB there), the simulated engine `<DATA_DIR>/simulated-session.json`.
 */
export async function hasStoredSession(config: Config): Promise<boolean> {
  if (config.engine === 'simulated') return existsSync(path.join(config.dataDir, SESSION_FILE));
  const { WebjsEngine } = await import('./webjs/engine.js');
  return WebjsEngine.hasStoredSession(config.dataDir);
}
