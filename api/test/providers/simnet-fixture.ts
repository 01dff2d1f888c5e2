/** The simulated WhatsApp network as the provider tests run it: simnet's built entry point, on a free port of 127.0.0.1. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startProcess, type ManagedProcess } from '@wacloud/testenv';

const simnetMain = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'simnet', 'dist', 'main.js');

/** Starts simnet (`npx tsc -b` of simnet/ first) and resolves once it listens; stop it with `proc.stop()`. */
export async function startSimnet(): Promise<{ proc: ManagedProcess; url: string }> {
  const port = await freePort();
  const proc = startProcess({
    command: process.execPath,
    args: [simnetMain],
    env: { ...process.env, SIMNET_PORT: String(port), SIMNET_HOST: '127.0.0.1' },
  });
  await proc.waitForOutput(/simnet listening/, 20_000);
  return { proc, url: `http://127.0.0.1:${port}` };
}
