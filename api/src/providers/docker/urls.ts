/** Where the api reaches an instance container's public and internal APIs. Pure: reads only the inspect result. */
import type Docker from 'dockerode';
import { PORTS } from '@wacloud/crds';
import type { DockerProviderOptions } from './options.js';
import { INTERNAL_PORT, PUBLIC_PORT } from './spec.js';

/** Base URLs of an instance's two APIs, e.g. `http://wacloud-abc:8080` and `http://wacloud-abc:8081`. */
export interface ContainerUrls {
  publicUrl: string;
  internalUrl: string;
}

/**
 * The container's API URLs: with `reach: 'network'` its name on its network (which the api joins) and the fixed ports; with
 * `reach: 'published'` `publishedHost` (IPv6 in brackets) and the host ports the engine published, or undefined while
 * the ports are not published yet (the container is still starting).
 */
export function containerUrls(
  c: Docker.ContainerInspectInfo,
  reach: DockerProviderOptions['reach'],
  publishedHost: string,
): ContainerUrls | undefined {
  if (reach === 'network') {
    const host = c.Name.replace(/^\//, '');
    return { publicUrl: `http://${host}:${PORTS.public.port}`, internalUrl: `http://${host}:${PORTS.internal.port}` };
  }
  const ports = c.NetworkSettings?.Ports ?? {};
  const pub = ports[PUBLIC_PORT]?.[0]?.HostPort;
  const int = ports[INTERNAL_PORT]?.[0]?.HostPort;
  if (!pub || !int) return undefined;
  const h = publishedHost.includes(':') ? `[${publishedHost}]` : publishedHost;
  return { publicUrl: `http://${h}:${pub}`, internalUrl: `http://${h}:${int}` };
}
