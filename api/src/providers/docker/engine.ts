/**
 * The docker provider's connection to a Docker engine: connection options from `DOCKER_HOST`, and the translation of
 * dockerode's errors into ProviderError `unavailable` with what to check.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { ProviderError } from '../provider.js';

/**
 * dockerode/docker-modem connection options for `dockerHost` (`unix:///path` or `tcp://host:port`; TLS when `certPath`
 * is given or the port is 2376).
 * @throws ProviderError `unavailable` for any other form, or when the TLS files cannot be read.
 */
export function dockerConnection(dockerHost: string, certPath?: string): Docker.DockerOptions {
  const unix = /^unix:\/\/(\/.+)$/.exec(dockerHost);
  if (unix) return { socketPath: unix[1]!, host: undefined, port: undefined, protocol: 'http' };
  const tcp = /^tcp:\/\/([^/:]+|\[[0-9a-fA-F:.]+\]):(\d{1,5})\/?$/.exec(dockerHost);
  if (!tcp)
    throw new ProviderError(
      'unavailable',
      `DOCKER_HOST must be unix:///path/to/docker.sock or tcp://host:port, got ${JSON.stringify(dockerHost)}`,
    );
  const host = tcp[1]!.replace(/^\[|\]$/g, '');
  const port = Number(tcp[2]);
  if (!certPath && port !== 2376) return { host, port, protocol: 'http', socketPath: undefined };
  if (!certPath)
    throw new ProviderError('unavailable', `DOCKER_HOST ${dockerHost} is a TLS port: set DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem)`);
  try {
    return {
      host,
      port,
      protocol: 'https',
      socketPath: undefined,
      ca: readFileSync(path.join(certPath, 'ca.pem')),
      cert: readFileSync(path.join(certPath, 'cert.pem')),
      key: readFileSync(path.join(certPath, 'key.pem')),
    };
  } catch (err) {
    throw new ProviderError('unavailable', `cannot read the Docker TLS files in ${certPath}: ${(err as Error).message}`);
  }
}

/** A dockerode error's HTTP status code, if it carries one. */
export function statusCodeOf(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** The engine's own message of a dockerode error (`json.message`), else the error's. */
export function engineMessage(err: unknown): string {
  const e = err as { json?: { message?: unknown }; message?: string; code?: string };
  if (typeof e?.json?.message === 'string') return e.json.message;
  return [e?.code, e?.message].filter(Boolean).join(' ') || String(err);
}

/**
 * A ProviderError `unavailable` saying what failed at the engine `dockerHost` and, for connection failures, what to
 * check (ProviderErrors pass through unchanged).
 */
export function engineFailure(dockerHost: string, what: string, err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const code = statusCodeOf(err);
  if (code === undefined) {
    const sys = (err as { code?: string }).code;
    const hint =
      sys === 'EACCES'
        ? 'permission denied: the api user needs access to the Docker socket'
        : 'is dockerd running there, and is DOCKER_HOST right?';
    return new ProviderError('unavailable', `cannot reach the Docker daemon at ${dockerHost} (${what}: ${engineMessage(err)}); ${hint}`, {
      cause: err,
    });
  }
  return new ProviderError('unavailable', `the Docker daemon at ${dockerHost} refused to ${what}: ${code} ${engineMessage(err)}`, {
    cause: err,
  });
}
