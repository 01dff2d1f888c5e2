/** The `wacloud-simnet` binary as a child process: it serves the network to devices and stops on SIGTERM. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, freePort, startProcess } from '@wacloud/testenv';
import { hook, linkedDevice, type TestDevice } from './device.js';

const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');

it('serves the network to devices and stops on SIGTERM', async () => {
  expect(existsSync(main)).toBe(true); // built by `npm run build`
  const port = await freePort();
  const proc = startProcess({
    command: process.execPath,
    args: [main],
    env: { ...process.env, SIMNET_PORT: String(port), SIMNET_HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
  });
  const devices: TestDevice[] = [];
  try {
    const [, url] = await proc.waitForOutput(/simnet listening on (http:\/\/\S+)/, 15_000);
    expect(url).toBe(`http://127.0.0.1:${port}`);
    expect((await fetch(`${url}/health`)).status).toBe(200);

    const alice = await linkedDevice(url!, '15550009001');
    const bob = await linkedDevice(url!, '15550009002');
    devices.push(alice.device, bob.device);
    const res = await alice.device.request({ type: 'send', to: '15550009002@c.us', key: 'FEDCBA9876543210FEDC', body: 'across processes' });
    expect(res.ok).toBe(true);
    await eventually(() => bob.device.pushedMessages().some((m) => m.body === 'across processes'));
    await eventually(() => alice.device.ackOf('true_15550009002@c.us_FEDCBA9876543210FEDC') === 2);
    expect((await hook(url!, 'GET', '/logins')).body.logins).toEqual([]);
  } finally {
    await Promise.all(devices.map((d) => d.close()));
    expect(await proc.stop()).toBe(0);
  }
});

it('refuses an invalid environment with exit status 1', async () => {
  const proc = startProcess({ command: process.execPath, args: [main], env: { ...process.env, SIMNET_PORT: 'not-a-port' } });
  expect(await proc.exited).toBe(1);
  expect(proc.output()).toMatch(/SIMNET_PORT/);
});
