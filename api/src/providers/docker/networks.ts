/**
 * One bridge network per instance container, so no instance can open another's ports (Docker drops traffic between
 * two user-defined bridges, published ports included) — the api still reaches each: through published ports, or,
 * with reach `network`, by joining every instance network itself.
 */
import { hostname } from 'node:os';
import type Docker from 'dockerode';
import { LABELS } from '@wacloud/crds';
import type { ProviderError } from '../provider.js';
import { MANAGED_BY_API } from '../shared/labels.js';
import { statusCodeOf } from './engine.js';
import type { DockerReach } from './options.js';
import { DOCKER_LABELS, instanceNetworkName } from './spec.js';

/** What {@link InstanceNetworks} needs from the provider. */
export interface InstanceNetworksOptions {
  docker: Docker;
  /** The provider's scope (DOCKER_NETWORK): prefix of every network name and its scope label. */
  scope: string;
  reach: DockerReach;
  /**
   * Reach `network`: the api's own container on that engine, joined to every instance network. Default: this host's
   * name (Docker's default host name of a container is its short id).
   */
  apiContainer?: string | undefined;
  /** Turns an engine error into the provider's error (`what` failed). */
  failure: (what: string, err: unknown) => ProviderError;
}

/** Creates, joins and removes the per-instance networks of one provider scope. */
export class InstanceNetworks {
  constructor(private readonly o: InstanceNetworksOptions) {}

  /**
   * Makes sure instance `id`'s network exists (labelled managed-by, scope and instance) and, for reach `network`,
   * that the api's container is attached to it. Idempotent; safe against concurrent creators.
   * @throws ProviderError `unavailable` when the engine refuses, or the api's container cannot join (reach `network`
   * with the api not in a container of this engine).
   */
  async ensure(id: string): Promise<string> {
    const name = instanceNetworkName(this.o.scope, id);
    let info: Docker.NetworkInspectInfo | undefined;
    try {
      info = (await this.o.docker.getNetwork(name).inspect()) as Docker.NetworkInspectInfo;
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw this.o.failure(`inspect network ${name}`, err);
    }
    if (!info) {
      try {
        await this.o.docker.createNetwork({
          Name: name,
          Driver: 'bridge',
          CheckDuplicate: true,
          Labels: { [LABELS.MANAGED_BY]: MANAGED_BY_API, [DOCKER_LABELS.SCOPE]: this.o.scope, [LABELS.INSTANCE]: id },
        });
      } catch (err) {
        if (statusCodeOf(err) !== 409) throw this.o.failure(`create network ${name}`, err);
      }
    }
    if (this.o.reach === 'network') await this.join(name, info);
    return name;
  }

  /** Removes instance `id`'s network (the api's container disconnected first; missing: fine). */
  async remove(id: string): Promise<void> {
    const name = instanceNetworkName(this.o.scope, id);
    const net = this.o.docker.getNetwork(name);
    if (this.o.reach === 'network') {
      await net.disconnect({ Container: this.apiContainer(), Force: true }).catch(() => undefined);
    }
    try {
      await net.remove();
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw this.o.failure(`remove network ${name}`, err);
    }
  }

  /** Instance ids of this scope's networks (for reconcile: networks of unknown instances are removed). */
  async list(): Promise<string[]> {
    const nets = await this.o.docker.listNetworks({
      filters: { label: [`${LABELS.MANAGED_BY}=${MANAGED_BY_API}`, `${DOCKER_LABELS.SCOPE}=${this.o.scope}`] },
    });
    return nets.map((n) => n.Labels?.[LABELS.INSTANCE] ?? '').filter(Boolean);
  }

  private apiContainer(): string {
    return this.o.apiContainer ?? hostname();
  }

  /** Attaches the api's container to network `name` unless it already is. */
  private async join(name: string, info: Docker.NetworkInspectInfo | undefined): Promise<void> {
    const me = this.apiContainer();
    const attached = Object.entries(info?.Containers ?? {}).some(([cid, c]) => c.Name === me || cid.startsWith(me));
    if (attached) return;
    try {
      await this.o.docker.getNetwork(name).connect({ Container: me });
    } catch (err) {
      const msg = String((err as { message?: unknown }).message ?? '');
      if (statusCodeOf(err) === 403 && /already exists/i.test(msg)) return;
      throw this.o.failure(
        `attach the api's container ${me} to network ${name} (DOCKER_REACH=network needs the api in a container of this engine; else use DOCKER_REACH=published)`,
        err,
      );
    }
  }
}
