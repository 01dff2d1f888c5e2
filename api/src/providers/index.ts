/**
 * The providers' entry point: {@link createProvider} builds the one named by the configuration (each provider's
 * code is loaded only when chosen), and the contract every provider implements is re-exported.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { detectDatabaseUsers, type DatabaseUsers } from '@wacloud/kit/mongo-users';
import type { Logger } from 'pino';
import type { ApiConfig } from '../config.js';
import { ProviderError, type InstanceProvider } from './provider.js';

export {
  ProviderError,
  type Engine,
  type InstanceEndpoints,
  type InstanceProvider,
  type ProviderErrorCode,
  type ProviderPhase,
  type ProviderStatus,
  type ProvisionRequest,
} from './provider.js';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** MongoDB server URI of the instance databases (the database part of the URI cleared). */
function instanceServerUri(config: ApiConfig): string {
  const base = new URL(config.instanceMongodbUri ?? config.mongodbUri);
  base.pathname = '/';
  return base.toString();
}

/**
 * The instances' database users of the process and docker providers (the operator manages them on Kubernetes); the
 * choice is logged once.
 * @throws ProviderError `unavailable` when the server cannot be asked (`auto`) or the configuration is incomplete.
 */
async function databaseUsers(config: ApiConfig, logger: Logger): Promise<DatabaseUsers> {
  try {
    return await detectDatabaseUsers({
      mode: config.instanceDatabaseUsers,
      adminUri: instanceServerUri(config),
      postgresUrl: config.instanceDatabaseUsersPostgresUrl,
      log: logger,
    });
  } catch (err) {
    throw new ProviderError(
      'unavailable',
      `instance database users (INSTANCE_DATABASE_USERS=${config.instanceDatabaseUsers}): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * Builds the provider named by `config.provider`: `process` (default), `docker` or `kubernetes` (kubeconfig from
 * `KUBECONFIG`, `~/.kube/config` or the pod's service account).
 * @throws ProviderError `unavailable` for a configuration the provider cannot use (e.g. a malformed DOCKER_HOST).
 */
export async function createProvider(config: ApiConfig, logger: Logger): Promise<InstanceProvider> {
  const instanceLogLevel = config.logLevel === 'debug' || config.logLevel === 'trace' ? config.logLevel : 'info';
  const webhookEnv: Record<string, string> = config.webhookAllowCidrs.length
    ? { WEBHOOK_ALLOW_CIDRS: config.webhookAllowCidrs.join(',') }
    : {};
  if (config.webhookLogRetentionMs !== undefined) webhookEnv.WEBHOOK_LOG_RETENTION_MS = String(config.webhookLogRetentionMs);
  if (config.webhookFailedRetentionMs !== undefined) webhookEnv.WEBHOOK_FAILED_RETENTION_MS = String(config.webhookFailedRetentionMs);
  if (config.provider === 'docker') {
    const { DockerProvider } = await import('./docker/provider.js');
    return new DockerProvider({
      dockerHost: config.dockerHost,
      certPath: config.dockerCertPath,
      image: config.dockerInstanceImage ?? `wacloud/instance:${version}`,
      network: config.dockerNetwork,
      reach: config.dockerReach,
      publishedHost: config.dockerPublishedHost,
      publishIp: config.dockerPublishIp,
      mongoUri: instanceServerUri(config),
      databaseUsers: await databaseUsers(config, logger),
      simnetUrl: config.simnetUrl,
      // Domain-separated from the JWT signing key when no own secret is configured.
      keySecret:
        config.dockerKeySecret ??
        createHmac('sha256', config.jwtSecret).update('wacloud/docker-provider/internal-keys').digest('base64url'),
      extraHosts: config.dockerExtraHosts,
      memoryBytes: config.dockerMemoryLimit,
      shmSizeBytes: config.dockerShmSize,
      cpus: config.dockerCpus,
      cpuShares: config.dockerCpuShares,
      namePrefix: config.dockerNamePrefix,
      env: { LOG_LEVEL: instanceLogLevel, ...webhookEnv },
      logger,
    });
  }
  if (config.provider === 'kubernetes') {
    const [{ KubeConfig }, { KubernetesProvider }] = await Promise.all([
      import('@kubernetes/client-node'),
      import('./kubernetes/provider.js'),
    ]);
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return new KubernetesProvider({ kubeConfig: kc, namespace: config.k8sNamespace, logger });
  }
  const { ProcessProvider } = await import('./process/provider.js');
  return new ProcessProvider({
    instanceMain: config.instanceMain,
    dataRoot: path.resolve(config.processDataRoot),
    mongoUri: instanceServerUri(config),
    databaseUsers: await databaseUsers(config, logger),
    simnetUrl: config.simnetUrl,
    nice: config.processInstanceNice,
    memoryBytes: config.processMemoryLimit,
    cgroupParent: config.processCgroupParent,
    logger,
    env: { LOG_LEVEL: instanceLogLevel, ...webhookEnv },
  });
}
