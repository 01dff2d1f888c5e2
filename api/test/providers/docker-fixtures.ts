/** Docker set-up shared by the docker provider's tests and the provider contract suite. */
import type { Dockerd } from '@wacloud/testenv';
import { ProviderError } from '../../src/providers/provider.js';

/** Path of simnet's server in the instance image. */
export const SIMNET_MAIN_IN_IMAGE = '/app/simnet/dist/main.js';

/**
 * Creates the bridge network `net`, labelled `io.wacloud.test=<label>`, and returns its gateway address: where the
 * containers on it reach this host (they cannot reach its loopback).
 */
export async function createTestNetwork(d: Dockerd, net: string, label: string): Promise<string> {
  await d.docker(['network', 'create', '--driver', 'bridge', '--label', `io.wacloud.test=${label}`, net]);
  return (await d.docker(['network', 'inspect', net, '--format', '{{(index .IPAM.Config 0).Gateway}}'])).trim();
}

/**
 * Runs the simulated WhatsApp network from the instance image as container `name` in the host's network, listening
 * on `host:port` (the test network's gateway address): every instance has a network of its own, and reaches it there
 * as it reaches the test MongoDB.
 * @returns its URL as the instances reach it, `http://<host>:<port>`.
 */
export async function runSimnetContainer(d: Dockerd, o: { name: string; image: string; host: string; port: number }): Promise<string> {
  await d.docker([
    'run',
    '-d',
    '--name',
    o.name,
    '--network',
    'host',
    '--restart',
    'no',
    '-e',
    `SIMNET_HOST=${o.host}`,
    '-e',
    `SIMNET_PORT=${o.port}`,
    '-e',
    'LOG_LEVEL=warn',
    o.image,
    'node',
    SIMNET_MAIN_IN_IMAGE,
  ]);
  return `http://${o.host}:${o.port}`;
}

/** The {@link ProviderError} `p` rejects with (fails the test when it resolves or rejects with anything else). */
export async function providerError(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}
