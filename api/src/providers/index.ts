/**
 * The providers' entry point: {@link createProvider} builds the one named by the configuration (each provider's
 * code is loaded only when chosen), and the contract every provider implements is re-exported.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ApiConfig } from '../config.js';
import type { InstanceProvider } from './provider.js';

export { ProviderError, type Engine, type InstanceEndpoints, type InstanceProvider, type ProviderErrorCode, type ProviderPhase, type ProviderStatus, type ProvisionRequest } from './provider.js';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** MongoDB server URI of the instance databases (the database part of the URI cleared). */
function instanceServerUri(config: ApiConfig): string {
  const base = new URL(config.INSTANCE_MONGODB_URI ?? config.MONGODB_URI);
  base.pathname = '/';
  return base.toString();
}

/**
 * Builds the provider named by `config.PROVIDER`: `process` (default), `docker` or `kubernetes` (kubeconfig from
 * `KUBECONFIG`, `~/.kube/config` or the pod's service account).
 * @throws ProviderError `unavailable` for a configuration the provider cannot use (e.g. a malformed DOCKER_HOST).
 */
export async function createProvider(config: ApiConfig, logger: Logger): Promise<InstanceProvider> {
  const instanceLogLevel = config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace' ? config.LOG_LEVEL : 'info';
  if (config.PROVIDER === 'docker') {
    const { DockerProvider } = await import('./docker/provider.js');
    return new DockerProvider({
      dockerHost: config.DOCKER_HOST,
      certPath: config.DOCKER_CERT_PATH,
      image: config.DOCKER_INSTANCE_IMAGE ?? `wacloud/instance:${version}`,
      network: config.DOCKER_NETWORK,
      reach: config.DOCKER_REACH,
      publishedHost: config.DOCKER_PUBLISHED_HOST,
      publishIp: config.DOCKER_PUBLISH_IP,
      mongoUri: instanceServerUri(config),
      simnetUrl: config.SIMNET_URL,
      // Domain-separated from the JWT signing key when no own secret is configured.
      keySecret: config.dockerKeySecret ?? createHmac('sha256', config.jwtSecret).update('wacloud/docker-provider/internal-keys').digest('base64url'),
      extraHosts: config.DOCKER_EXTRA_HOSTS,
      memoryBytes: config.DOCKER_MEMORY_LIMIT,
      shmSizeBytes: config.DOCKER_SHM_SIZE,
      cpus: config.DOCKER_CPUS,
      namePrefix: config.DOCKER_NAME_PREFIX,
      env: { LOG_LEVEL: instanceLogLevel },
      logger,
    });
  }
  if (config.PROVIDER === 'kubernetes') {
    const [{ KubeConfig }, { KubernetesProvider }] = await Promise.all([import('@kubernetes/client-node'), import('./kubernetes/provider.js')]);
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return new KubernetesProvider({ kubeConfig: kc, namespace: config.K8S_NAMESPACE, logger });
  }
  const { ProcessProvider } = await import('./process/provider.js');
  return new ProcessProvider({
    instanceMain: config.INSTANCE_MAIN,
    dataRoot: path.resolve(config.PROCESS_DATA_ROOT),
    mongoUri: instanceServerUri(config),
    simnetUrl: config.SIMNET_URL,
    logger,
    env: { LOG_LEVEL: instanceLogLevel },
  });
}
