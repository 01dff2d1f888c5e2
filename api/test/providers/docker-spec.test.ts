/**
 * DockerProvider's pure parts without a daemon: the container spec and its hash, internal keys, phases, connection
 * parsing, the configuration, and an engine that cannot be reached. The daemon tests are in docker.test.ts.
 */
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { dockerConnection } from '../../src/providers/docker/engine.js';
import { phaseOf, type ContainerState } from '../../src/providers/docker/phase.js';
import { DockerProvider } from '../../src/providers/docker/provider.js';
import {
  buildContainerSpec,
  containerName,
  deriveInternalKey,
  volumeName,
  type ContainerSpecOptions,
} from '../../src/providers/docker/spec.js';
import { ProviderError, type ProvisionRequest } from '../../src/providers/provider.js';
import { instanceDatabaseName } from '../../src/providers/shared/database.js';
import { MANAGED_BY_API } from '../../src/providers/shared/labels.js';
import { providerError } from './docker-fixtures.js';
import { JWT_SECRET } from '../harness.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('docker provider: pure parts', () => {
  const req: ProvisionRequest = { id: 'i-abcdefghijkl', owner: 'user-7', name: 'Shop', engine: 'simulated', suspended: false };
  const base: ContainerSpecOptions = {
    image: 'wacloud/instance:1.2.3',
    network: 'wacloud-instances',
    reach: 'network',
    mongoUri: 'mongodb://mongo:27017/?replicaSet=rs0',
    simnetUrl: 'http://simnet:7300',
    env: { LOG_LEVEL: 'info', INTERNAL_API_KEY_FILE: '/nope', INSTANCE_ID: 'overridden' },
  };
  const key = deriveInternalKey('s'.repeat(40), req.id);

  test('the container spec: name, image, env, labels, volume, network, restart policy, limits, hardening', () => {
    const spec = buildContainerSpec(req, base, key);
    expect(spec.name).toBe('wacloud-i-abcdefghijkl');
    expect(spec.Image).toBe('wacloud/instance:1.2.3');
    expect(spec.Env).toEqual([
      'DATA_DIR=/data',
      'ENGINE=simulated',
      'HOST=0.0.0.0',
      `INSTANCE_ID=${req.id}`,
      `INTERNAL_API_KEY=${key}`,
      'INTERNAL_PORT=8081',
      'LOG_LEVEL=info',
      `MONGODB_URI=mongodb://mongo:27017/${instanceDatabaseName(req.id)}?replicaSet=rs0`,
      'PORT=8080',
      'SIMNET_URL=http://simnet:7300',
    ]);
    expect(spec.Labels).toEqual({
      'app.kubernetes.io/managed-by': MANAGED_BY_API,
      'app.kubernetes.io/name': 'wacloud-instance',
      'wacloud.io/instance': req.id,
      'wacloud.io/owner': 'user-7',
      'wacloud.io/engine': 'simulated',
      'wacloud.io/scope': 'wacloud-instances',
      'wacloud.io/spec-hash': expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(JSON.stringify(spec.Labels)).not.toContain(key);
    expect(spec.ExposedPorts).toEqual({ '8080/tcp': {}, '8081/tcp': {} });
    expect(spec.StopTimeout).toBe(10);
    expect(spec.HostConfig).toEqual({
      NetworkMode: 'wacloud-instances-i-abcdefghijkl',
      RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
      Mounts: [{ Type: 'volume', Source: 'wacloud-i-abcdefghijkl-data', Target: '/data' }],
      ShmSize: 512 * 1024 * 1024,
      Memory: 2 * 1024 * 1024 * 1024,
      MemorySwap: 2 * 1024 * 1024 * 1024,
      CpuShares: 256,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
    });
  });

  test('published ports, extra hosts, limits, prefix; webjs gets no SIMNET_URL', () => {
    const spec = buildContainerSpec(
      { ...req, engine: 'webjs' },
      {
        ...base,
        reach: 'published',
        publishIp: '127.0.0.1',
        extraHosts: ['host.docker.internal:host-gateway'],
        memoryBytes: 0,
        shmSizeBytes: 1 << 30,
        cpus: 1.5,
        cpuShares: 0,
        namePrefix: 'acme-',
        stopTimeoutS: 3,
      },
      key,
    );
    expect(spec.name).toBe('acme-i-abcdefghijkl');
    expect(spec.Env).not.toContainEqual(expect.stringMatching(/^SIMNET_URL=/));
    expect(spec.Env).toContain('ENGINE=webjs');
    expect(spec.StopTimeout).toBe(3);
    expect(spec.HostConfig).toMatchObject({
      PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }], '8081/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
      ExtraHosts: ['host.docker.internal:host-gateway'],
      ShmSize: 1 << 30,
      NanoCpus: 1_500_000_000,
      Mounts: [{ Type: 'volume', Source: 'acme-i-abcdefghijkl-data', Target: '/data' }],
    });
    expect(spec.HostConfig).not.toHaveProperty('Memory');
    expect(spec.HostConfig).not.toHaveProperty('MemorySwap');
    expect(spec.HostConfig).not.toHaveProperty('CpuShares');
    expect(volumeName(req.id, 'acme-')).toBe('acme-i-abcdefghijkl-data');
    expect(containerName(req.id)).toBe('wacloud-i-abcdefghijkl');
  });

  test('the spec hash is stable and follows image, key, options and owner — not the display name or suspension', () => {
    const hash = (r: ProvisionRequest, o: ContainerSpecOptions, k: string) => buildContainerSpec(r, o, k).Labels!['wacloud.io/spec-hash'];
    const h = hash(req, base, key);
    expect(hash({ ...req, name: 'Renamed', suspended: true }, { ...base, env: { ...base.env } }, key)).toBe(h);
    expect(hash(req, { ...base, image: 'wacloud/instance:1.2.4' }, key)).not.toBe(h);
    expect(hash(req, base, deriveInternalKey('t'.repeat(40), req.id))).not.toBe(h);
    expect(hash(req, { ...base, shmSizeBytes: 1 << 30 }, key)).not.toBe(h);
    expect(hash(req, { ...base, cpuShares: 512 }, key)).not.toBe(h);
    expect(hash({ ...req, owner: 'user-8' }, base, key)).not.toBe(h);
  });

  test('internal keys are derived per instance and secret (43 base64url characters)', () => {
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(deriveInternalKey('s'.repeat(40), req.id)).toBe(key);
    expect(deriveInternalKey('s'.repeat(40), 'i-other')).not.toBe(key);
    expect(deriveInternalKey('t'.repeat(40), req.id)).not.toBe(key);
  });

  test('bad input: simulated engine without a simulated network, a non-MongoDB URI, a bad DOCKER_HOST', () => {
    expect(() => buildContainerSpec(req, { ...base, simnetUrl: undefined }, key)).toThrow(/SIMNET_URL/);
    expect(() => buildContainerSpec(req, { ...base, mongoUri: 'postgres://x/' }, key)).toThrow(ProviderError);
    expect(() => dockerConnection('http://localhost:2375')).toThrow(/DOCKER_HOST must be/);
    expect(() => dockerConnection('tcp://dind:2376')).toThrow(/DOCKER_CERT_PATH/);
    expect(() => dockerConnection('tcp://dind:2376', '/nonexistent-certs')).toThrow(/cannot read the Docker TLS files/);
    expect(dockerConnection('unix:///var/run/docker.sock')).toMatchObject({ socketPath: '/var/run/docker.sock', host: undefined });
    expect(dockerConnection('tcp://dind:2375')).toMatchObject({ host: 'dind', port: 2375, protocol: 'http', socketPath: undefined });
    expect(dockerConnection('tcp://[::1]:2375')).toMatchObject({ host: '::1', port: 2375 });
  });

  test('phases from container states', () => {
    const s = (o: Partial<ContainerState>): ContainerState => ({
      status: 'running',
      exitCode: 0,
      error: '',
      oomKilled: false,
      restartCount: 0,
      health: undefined,
      healthOutput: undefined,
      ...o,
    });
    expect(phaseOf(s({}), true, 'STOPPED')).toEqual({ phase: 'Running', sessionState: 'STOPPED' });
    expect(phaseOf(s({}), true, undefined)).toEqual({ phase: 'Provisioning', message: 'the instance is starting' });
    expect(phaseOf(s({ health: 'unhealthy', healthOutput: 'ECONNREFUSED\n' }), true, undefined)).toMatchObject({
      phase: 'Failed',
      message: expect.stringContaining('ECONNREFUSED'),
    });
    expect(phaseOf(s({ status: 'restarting', exitCode: 1, restartCount: 1 }), true, undefined)).toMatchObject({
      phase: 'Provisioning',
      message: 'restarting after exit code 1',
    });
    expect(phaseOf(s({ status: 'restarting', exitCode: 137, oomKilled: true, restartCount: 5 }), true, undefined)).toMatchObject({
      phase: 'Failed',
      message: expect.stringContaining('out of memory'),
    });
    expect(phaseOf(s({ status: 'exited' }), false, undefined)).toEqual({ phase: 'Suspended' });
    expect(phaseOf(s({ status: 'exited' }), undefined, undefined)).toEqual({ phase: 'Suspended' });
    expect(phaseOf(s({ status: 'exited', exitCode: 3 }), true, undefined)).toMatchObject({
      phase: 'Failed',
      message: expect.stringContaining('exit code 3'),
    });
    expect(phaseOf(s({ status: 'created', error: 'network x not found' }), true, undefined)).toMatchObject({
      phase: 'Failed',
      message: expect.stringContaining('network x not found'),
    });
    expect(phaseOf(s({ status: 'created' }), true, undefined).phase).toBe('Provisioning');
    expect(phaseOf(s({ status: 'created' }), undefined, undefined).phase).toBe('Pending');
    expect(phaseOf(s({ status: 'removing' }), true, undefined).phase).toBe('Terminating');
    expect(phaseOf(s({ status: 'dead' }), true, undefined).phase).toBe('Failed');
    expect(phaseOf(s({ status: 'paused' }), true, undefined).phase).toBe('Failed');
  });

  test('configuration: PROVIDER=docker and the DOCKER_* variables', () => {
    const env = { MONGODB_URI: 'mongodb://mongo:27017/wacloud', JWT_SECRET, PROVIDER: 'docker', SIMNET_URL: 'http://simnet:7300' };
    const c = loadConfig(env);
    expect(c).toMatchObject({
      provider: 'docker',
      dockerHost: 'unix:///var/run/docker.sock',
      dockerNetwork: 'wacloud-instances',
      dockerReach: 'network',
      dockerPublishedHost: '127.0.0.1',
      dockerExtraHosts: [],
      dockerMemoryLimit: 2 * 1024 ** 3,
      dockerShmSize: 512 * 1024 ** 2,
      dockerNamePrefix: 'wacloud-',
      dockerKeySecret: undefined,
      dockerCpuShares: 256,
      processInstanceNice: 10,
    });
    expect(c.dockerInstanceImage).toBeUndefined();
    expect(loadConfig({ ...env, DOCKER_MEMORY_LIMIT: '0' }).dockerMemoryLimit).toBe(0);
    const d = loadConfig({
      ...env,
      DOCKER_HOST: 'tcp://dind:2375',
      DOCKER_REACH: 'published',
      DOCKER_PUBLISHED_HOST: 'dind',
      DOCKER_EXTRA_HOSTS: 'host.docker.internal:host-gateway, mongo:10.0.0.5',
      DOCKER_MEMORY_LIMIT: '1.5g',
      DOCKER_SHM_SIZE: '256m',
      DOCKER_CPUS: '2',
      DOCKER_CPU_SHARES: '0',
      DOCKER_KEY_SECRET: 'k'.repeat(32),
    });
    expect(d).toMatchObject({
      dockerHost: 'tcp://dind:2375',
      dockerReach: 'published',
      dockerExtraHosts: ['host.docker.internal:host-gateway', 'mongo:10.0.0.5'],
      dockerMemoryLimit: 1.5 * 1024 ** 3,
      dockerShmSize: 256 * 1024 ** 2,
      dockerCpus: 2,
      dockerCpuShares: 0,
      dockerKeySecret: 'k'.repeat(32),
    });
    expect(JSON.stringify(d)).not.toContain('DOCKER_KEY_SECRET');
    expect(() =>
      loadConfig({ ...env, DOCKER_HOST: 'dind:2375', DOCKER_REACH: 'somewhere', DOCKER_SHM_SIZE: 'lots', DOCKER_KEY_SECRET: 'short' }),
    ).toThrow(/DOCKER_HOST[\s\S]*DOCKER_REACH[\s\S]*DOCKER_SHM_SIZE[\s\S]*DOCKER_KEY_SECRET/);
    expect(() => loadConfig({ ...env, DOCKER_CPU_SHARES: '1', PROCESS_INSTANCE_NICE: '20' })).toThrow(
      /PROCESS_INSTANCE_NICE[\s\S]*DOCKER_CPU_SHARES: must be 0 or at least 2/,
    );
    const { SIMNET_URL: _unset, ...withoutSimnet } = env;
    expect(() => loadConfig({ ...withoutSimnet, ENGINE: 'simulated' })).toThrow(/SIMNET_URL: required/);
    // ENGINE left at its default (simulated) needs a simulated network too; the kubernetes provider does not.
    expect(() => loadConfig(withoutSimnet)).toThrow(/SIMNET_URL: required/);
    expect(loadConfig({ ...withoutSimnet, ENGINE: 'webjs' }).engine).toBe('webjs');
    expect(loadConfig({ ...withoutSimnet, PROVIDER: 'kubernetes' }).simnetUrl).toBeUndefined();
  });

  test('an unreachable engine gives `unavailable` saying where and what to check', async () => {
    const opts = {
      image: 'x',
      network: 'n',
      reach: 'published' as const,
      mongoUri: 'mongodb://127.0.0.1:1/',
      simnetUrl: 'http://s:1',
      keySecret: 'k'.repeat(32),
      logger,
      requestTimeoutMs: 5_000,
    };
    const viaSocket = new DockerProvider({ ...opts, dockerHost: 'unix:///nonexistent/docker.sock' });
    const viaTcp = new DockerProvider({ ...opts, dockerHost: 'tcp://127.0.0.1:1' });
    try {
      for (const [p, where] of [
        [viaSocket, 'unix:///nonexistent/docker.sock'],
        [viaTcp, 'tcp://127.0.0.1:1'],
      ] as const) {
        const err = await providerError(p.create({ ...req, suspended: true }));
        expect(err.code).toBe('unavailable');
        expect(err.message).toContain(`cannot reach the Docker daemon at ${where}`);
        expect(err.message).toContain('is dockerd running there, and is DOCKER_HOST right?');
        expect((await providerError(p.status(req.id))).code).toBe('unavailable');
        expect((await providerError(p.reconcile([]))).code).toBe('unavailable');
      }
      expect((await providerError(viaTcp.create({ ...req, id: 'Not_A_Label' }))).message).toMatch(/invalid instance id/);
      await viaTcp.close();
      expect((await providerError(viaTcp.status(req.id))).message).toMatch(/closed/);
    } finally {
      await viaSocket.close();
    }
  });
});
