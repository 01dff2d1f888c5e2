/**
 * DockerProvider against real things only (its pure parts, without a daemon, are in docker-spec.test.ts): the test
 * run's dockerd (testenv), the real instance image built from instance/Dockerfile running the simulated engine, the
 * simulated network as a container from that image on the instances' network, a MongoDB-wire server listening on the
 * network's gateway address (so containers reach it), and the api as its own process (`node dist/main.js`,
 * PROVIDER=docker, DOCKER_REACH=published) with the billing CLI. Where no daemon can start, the daemon tests say so
 * and skip.
 */
import path from 'node:path';
import mongoose from 'mongoose';
import { pino } from 'pino';
import {
  buildWacloudImage,
  dockerTestName,
  eventually,
  freePort,
  startAuthorisingMongo,
  startDockerd,
  startMongo,
  startProcess,
  testImageTag,
  type Dockerd,
  type MongoServer,
} from '@wacloud/testenv';
import { DockerProvider } from '../../src/providers/docker/provider.js';
import { containerName, deriveInternalKey, volumeName } from '../../src/providers/docker/spec.js';
import type { ProvisionRequest } from '../../src/providers/provider.js';
import { deriveDatabasePassword, instanceDatabaseName } from '../../src/providers/shared/database.js';
import { FerretPostgresDatabaseUsers } from '@wacloud/kit/ferretdb-pg-users';
import { createTestNetwork, providerError, runSimnetContainer } from './docker-fixtures.js';
import { apiDir, startApiProcess, tenant, type RunningApi } from '../harness.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const docker = await startDockerd();
if (!docker.ok) console.warn(`provider-docker: skipping the tests that need a Docker daemon: ${docker.reason}`);
const withDaemon = docker.ok ? describe : describe.skip;

// ---- against the daemon -----------------------------------------------------------------------------------------

interface Inspect {
  Id: string;
  Name: string;
  State: { Status: string; Running: boolean; StartedAt: string };
  Config: { Labels: Record<string, string>; Env: string[]; Image: string };
  HostConfig: {
    RestartPolicy: { Name: string };
    ShmSize: number;
    Memory: number;
    MemorySwap: number;
    NetworkMode: string;
    CapDrop: string[];
    PortBindings: Record<string, Array<{ HostIp: string }>>;
  };
  Mounts: Array<{ Type: string; Name: string; Destination: string }>;
  NetworkSettings: { Networks: Record<string, unknown> };
}

withDaemon('docker provider against a real dockerd', () => {
  const d = (docker as { ok: true; dockerd: Dockerd }).dockerd;
  const image = testImageTag('instance');
  const net = dockerTestName('provider-docker');
  const otherNet = dockerTestName('provider-docker-created');
  const simnetName = `${net}-simnet`;
  let simnetUrl: string;
  let gateway: string;
  let mongo: MongoServer;
  const dockerJson = async <T>(args: string[]): Promise<T> => JSON.parse(await d.docker(args)) as T;
  /** The container's inspection, or undefined when it does not exist. */
  const inspect = async (name: string): Promise<Inspect | undefined> => {
    try {
      return (await dockerJson<Inspect[]>(['container', 'inspect', name]))[0];
    } catch (err) {
      if (/No such (container|object)/i.test((err as Error).message)) return undefined;
      throw err;
    }
  };
  const volumeExists = async (name: string): Promise<boolean> =>
    (await d.docker(['volume', 'ls', '-q', '--filter', `name=^${name}$`])).trim() === name;
  /** Names of the managed containers in a scope. */
  const managed = async (scope: string): Promise<string[]> =>
    (await d.docker(['ps', '-a', '--filter', `label=wacloud.io/scope=${scope}`, '--format', '{{.Names}}']))
      .split('\n')
      .filter(Boolean)
      .sort();

  beforeAll(async () => {
    await buildWacloudImage(d, 'instance');
    gateway = await createTestNetwork(d, net, 'provider-docker');
    expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // Containers cannot reach the host's loopback: the database listens on the network's gateway address.
    mongo = await startMongo({ host: gateway });
    // The simulated WhatsApp network, from the same image, beside the database (each instance has its own network).
    simnetUrl = await runSimnetContainer(d, { name: simnetName, image, host: gateway, port: await freePort() });
  }, 600_000);

  afterAll(async () => {
    for (const scope of [net, otherNet]) {
      const ids = (await d.docker(['ps', '-aq', '--filter', `label=wacloud.io/scope=${scope}`]).catch(() => ''))
        .split('\n')
        .filter(Boolean);
      if (ids.length) await d.docker(['rm', '-f', '-v', ...ids]).catch(() => undefined);
      const vols = (await d.docker(['volume', 'ls', '-q', '--filter', `label=wacloud.io/scope=${scope}`]).catch(() => ''))
        .split('\n')
        .filter(Boolean);
      if (vols.length) await d.docker(['volume', 'rm', '-f', ...vols]).catch(() => undefined);
    }
    await d.docker(['rm', '-f', '-v', simnetName]).catch(() => undefined); // -v: the image's anonymous /data volume too
    for (const scope of [net, otherNet]) {
      const nets = (await d.docker(['network', 'ls', '-q', '--filter', `label=wacloud.io/scope=${scope}`]).catch(() => ''))
        .split('\n')
        .filter(Boolean);
      if (nets.length) await d.docker(['network', 'rm', ...nets]).catch(() => undefined);
    }
    await d.docker(['network', 'rm', net, otherNet]).catch(() => undefined);
    await mongo?.stop();
    await d.release();
  }, 120_000);

  describe('DockerProvider in this process', () => {
    test("creates the instance's own network; a suspended create makes a stopped container and its volume; delete removes all three", async () => {
      const provider = new DockerProvider({
        dockerHost: d.host,
        image,
        network: otherNet,
        reach: 'published',
        mongoUri: mongo.uri,
        simnetUrl: 'http://unused:7300',
        keySecret: 'x'.repeat(32),
        logger,
      });
      const r: ProvisionRequest = { id: 'i-created-net', owner: 'user-1', name: 'x', engine: 'simulated', suspended: true };
      try {
        await provider.create(r);
        await provider.create(r); // idempotent
        const netInfo = (
          await dockerJson<Array<{ Driver: string; Labels: Record<string, string> }>>(['network', 'inspect', `${otherNet}-${r.id}`])
        )[0]!;
        expect(netInfo.Driver).toBe('bridge');
        expect(netInfo.Labels).toMatchObject({
          'app.kubernetes.io/managed-by': 'wacloud-api',
          'wacloud.io/scope': otherNet,
          'wacloud.io/instance': r.id,
        });
        const c = (await inspect(containerName(r.id)))!;
        expect(c.State.Status).toBe('created');
        expect(c.Config.Labels['wacloud.io/scope']).toBe(otherNet);
        expect(await volumeExists(volumeName(r.id))).toBe(true);
        expect(await provider.status(r.id)).toEqual({ phase: 'Suspended' });
        expect((await providerError(provider.endpoints(r.id))).code).toBe('not_ready');
        expect((await providerError(provider.endpoints('i-nonexistent'))).code).toBe('not_found');
        expect((await provider.status('i-nonexistent')).phase).toBe('NotFound');
        expect((await providerError(provider.suspend('i-nonexistent'))).code).toBe('not_found');

        await provider.delete(r.id);
        expect(await inspect(containerName(r.id))).toBeUndefined();
        expect(await volumeExists(volumeName(r.id))).toBe(false);
        await expect(d.docker(['network', 'inspect', `${otherNet}-${r.id}`])).rejects.toThrow(/No such network/i);
        await provider.delete(r.id); // idempotent
        expect((await provider.status(r.id)).phase).toBe('NotFound');
      } finally {
        await provider.close();
      }
    });

    test('keys are derived from the secret: a new secret recreates the container with its volume, and only the new key opens it', async () => {
      const opts = {
        dockerHost: d.host,
        image,
        network: net,
        reach: 'published' as const,
        mongoUri: mongo.uri,
        simnetUrl,
        logger,
      };
      const r: ProvisionRequest = { id: 'i-rotatekeyaaa', owner: 'user-1', name: 'x', engine: 'simulated', suspended: false };
      const tokens = (ep: { internalUrl: string }, key: string) =>
        fetch(`${ep.internalUrl}/internal/v1/tokens`, { headers: { authorization: `Bearer ${key}` } });
      const first = new DockerProvider({ ...opts, keySecret: 'a'.repeat(32) });
      const second = new DockerProvider({ ...opts, keySecret: 'b'.repeat(32) });
      try {
        await first.create(r);
        const ep1 = await eventually(() => first.endpoints(r.id).catch(() => undefined), 30_000);
        expect(ep1.internalKey).toBe(deriveInternalKey('a'.repeat(32), r.id));
        expect(ep1.publicUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect((await tokens(ep1, ep1.internalKey)).status).toBe(200);
        const before = (await inspect(containerName(r.id)))!;
        await first.create(r); // idempotent: the same container, not restarted
        expect((await inspect(containerName(r.id)))!.State.StartedAt).toBe(before.State.StartedAt);
        await first.close();

        await second.reconcile([r]);
        const after = (await inspect(containerName(r.id)))!;
        expect(after.Id).not.toBe(before.Id);
        expect(after.Mounts[0]!.Name).toBe(volumeName(r.id));
        const ep2 = await eventually(() => second.endpoints(r.id).catch(() => undefined), 30_000);
        expect((await tokens(ep2, ep2.internalKey)).status).toBe(200);
        expect((await tokens(ep2, ep1.internalKey)).status).toBe(401);
        expect(await second.status(r.id)).toEqual({ phase: 'Running', sessionState: 'STOPPED' });
      } finally {
        await second.delete(r.id);
        await second.close();
      }
      expect(await inspect(containerName(r.id))).toBeUndefined();
    });

    test('a container name taken by something wacloud does not manage is refused, and left alone', async () => {
      const provider = new DockerProvider({
        dockerHost: d.host,
        image,
        network: otherNet,
        reach: 'published',
        mongoUri: mongo.uri,
        simnetUrl: 'http://unused:7300',
        keySecret: 'x'.repeat(32),
        logger,
      });
      const id = 'i-foreign-name';
      await d.docker(['create', '--name', containerName(id), '--label', `wacloud.io/scope=${otherNet}`, image]);
      try {
        const err = await providerError(provider.create({ id, owner: 'u', name: 'n', engine: 'simulated', suspended: false }));
        expect(err.message).toMatch(/not managed by wacloud/);
        await provider.delete(id);
        expect(await inspect(containerName(id))).toBeDefined();
      } finally {
        await d.docker(['rm', '-f', '-v', containerName(id)]);
        await d.docker(['volume', 'rm', '-f', volumeName(id)]);
        await provider.close();
      }
    });

    test("an instance's container gets its own database user: its database works, another's and the api's refuse", async () => {
      // FerretDB on PostgreSQL enforces per-database users; it listens on the gateway, where containers reach it.
      const server = await startAuthorisingMongo({ host: gateway });
      const users = new FerretPostgresDatabaseUsers(server.adminUri, server.postgres.url);
      const provider = new DockerProvider({
        dockerHost: d.host,
        image,
        network: net,
        reach: 'published',
        mongoUri: server.uri,
        databaseUsers: users,
        simnetUrl: `http://${simnetName}:7300`,
        keySecret: 'u'.repeat(32),
        logger,
      });
      const r: ProvisionRequest = { id: 'i-dbuser-a', owner: 'user-1', name: 'x', engine: 'simulated', suspended: false };
      const dbA = instanceDatabaseName(r.id);
      const client = async <T>(uri: string, fn: (c: mongoose.mongo.MongoClient) => Promise<T>): Promise<T> => {
        const c = new mongoose.mongo.MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
        try {
          return await fn(c);
        } finally {
          await c.close();
        }
      };
      const denied = async (p: Promise<unknown>) =>
        expect(
          String(
            await p.then(
              () => 'allowed',
              (e: Error) => e.message,
            ),
          ),
        ).toMatch(/permission denied/);
      try {
        await client(server.dbUri('wacloud'), (c) => c.db('wacloud').collection('users').insertOne({ email: 'x@example.com' }));
        await users.ensure({ db: 'wacloud_inst_other', username: 'wacloud_inst_other', password: 'p'.repeat(32) });
        await client(server.dbUri('wacloud_inst_other'), (c) => c.db('wacloud_inst_other').collection('m').insertOne({ secret: 1 }));
        await provider.create(r);
        await eventually(async () => ((await provider.status(r.id)).phase === 'Running' ? true : undefined), 60_000);
        const env = (await inspect(containerName(r.id)))!.Config.Env;
        const uri = env.find((e) => e.startsWith('MONGODB_URI='))!.slice('MONGODB_URI='.length);
        expect(new URL(uri).username).toBe(dbA);
        expect(decodeURIComponent(new URL(uri).password)).toBe(deriveDatabasePassword('u'.repeat(32), r.id));
        await client(uri, async (c) => {
          expect((await c.db(dbA).listCollections().toArray()).length).toBeGreaterThan(0); // made by the instance itself
          await denied(c.db('wacloud_inst_other').collection('m').find().toArray());
          await denied(c.db('wacloud').collection('users').find().toArray());
        });
        await provider.delete(r.id);
        await expect(client(uri, (c) => c.db(dbA).collection('m').insertOne({ after: 'delete' }))).rejects.toThrow(
          /authentication failed|does not exist|terminating connection/,
        );
      } finally {
        await provider.delete(r.id).catch(() => undefined);
        await provider.close();
        await server.stop();
      }
    }, 120_000);
  });

  describe('the api with PROVIDER=docker', () => {
    let api: RunningApi;
    let db: mongoose.Connection;
    let token: string;
    const ids: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' };
    const instances = () => db.collection<{ _id: string; suspended: boolean; suspendedAt: Date | null; paidUntil: Date }>('instances');

    const billingRun = async (now: string): Promise<{ code: number | null; summary: Record<string, unknown> }> => {
      const p = startProcess({
        command: process.execPath,
        args: [path.join(apiDir, 'dist', 'billing-cli.js'), 'run', '--now', now],
        env: api.env,
      });
      const code = await p.exited;
      const lines = p.output().trim().split('\n');
      return { code, summary: JSON.parse(lines[lines.length - 1]!) as Record<string, unknown> };
    };
    const create = async (name: string): Promise<string> => {
      const r = await api.call('POST', '/v1/instances', { token, body: { name } });
      expect(r.status).toBe(201);
      return r.body.id as string;
    };
    const running = async (id: string) =>
      eventually(async () => {
        const r = await api.call('GET', `/v1/instances/${id}`, { token });
        return r.body.phase === 'Running' ? r.body : undefined;
      }, 60_000);
    /** GET through the api's gateway (owner's JWT: the api uses its own instance token, made with the internal key). */
    const viaGateway = (id: string, p: string) => api.call('GET', `/v1/instances/${id}/api${p}`, { token });

    beforeAll(async () => {
      api = await startApiProcess({
        mongo,
        simnetUrl,
        env: {
          PROVIDER: 'docker',
          DOCKER_HOST: d.host,
          DOCKER_INSTANCE_IMAGE: image,
          DOCKER_NETWORK: net,
          DOCKER_REACH: 'published',
          DOCKER_PUBLISHED_HOST: '127.0.0.1',
          DOCKER_SHM_SIZE: '256m',
          DOCKER_MEMORY_LIMIT: '1g',
          INSTANCE_MONGODB_URI: mongo.uri,
          BILLING_CRON: 'false',
        },
      });
      db = await mongoose.createConnection(api.env.MONGODB_URI!).asPromise();
      token = await tenant(api, `docker-${Date.now()}@example.com`, 1500);
    }, 60_000);

    afterAll(async () => {
      await db?.close();
      await api?.stop();
    });

    test('create: a labelled container with its volume, network and restart policy answers /health, and the gateway reaches it', async () => {
      ids.a = await create('first');
      const view = await running(ids.a);
      expect(view).toMatchObject({ provider: 'docker', engine: 'simulated', suspended: false, sessionState: 'STOPPED' });

      const c = (await inspect(containerName(ids.a)))!;
      expect(c.State.Running).toBe(true);
      expect(c.Config.Image).toBe(image);
      expect(c.Config.Labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'wacloud-api',
        'wacloud.io/instance': ids.a,
        'wacloud.io/owner': expect.any(String),
        'wacloud.io/engine': 'simulated',
        'wacloud.io/scope': net,
      });
      expect(c.HostConfig).toMatchObject({
        RestartPolicy: { Name: 'unless-stopped' },
        ShmSize: 256 * 1024 ** 2,
        Memory: 1024 ** 3,
        MemorySwap: 1024 ** 3,
        NetworkMode: `${net}-${ids.a}`,
        CapDrop: ['ALL'],
      });
      expect(c.HostConfig.PortBindings['8080/tcp']?.[0]?.HostIp).toBe('127.0.0.1');
      expect(Object.keys(c.NetworkSettings.Networks)).toEqual([`${net}-${ids.a}`]);
      expect(c.Mounts).toEqual([expect.objectContaining({ Type: 'volume', Name: volumeName(ids.a), Destination: '/data' })]);
      expect(await volumeExists(volumeName(ids.a))).toBe(true);
      expect(c.Config.Env).toContain(`MONGODB_URI=${mongo.uri.replace(/\/$/, '')}/${instanceDatabaseName(ids.a)}`);

      // The container itself answers /health on its published port …
      const port = (await d.docker(['port', containerName(ids.a), '8080/tcp'])).trim().split('\n')[0]!.split(':').pop();
      const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { status: string; session: { state: string } };
      expect(health).toMatchObject({ status: 'ok', session: { state: 'STOPPED' } });
      // … and the gateway reaches it with the api's own instance token (made through the internal API).
      const stats = await viaGateway(ids.a, '/v1/stats');
      expect(stats.status).toBe(200);
      const own = await viaGateway(ids.a, '/v1/token');
      expect(own.status).toBe(200);
    });

    test('suspend (billing) stops the container and keeps the volume; resume (deposit) starts it with the same data', async () => {
      // Data in the volume and in the instance's database, to find again after the resumption.
      await d.docker(['exec', containerName(ids.a), 'sh', '-c', 'echo kept > /data/marker']);
      const made = await api.call('POST', `/v1/instances/${ids.a}/tokens`, { token, body: { name: 'kept', permissions: 'r' } });
      expect(made.status).toBe(201);
      const instanceToken = made.body.token as string;
      const before = (await inspect(containerName(ids.a)))!;

      const doc = (await instances().findOne({ _id: ids.a }))!;
      const run = await billingRun(new Date(doc.paidUntil.getTime() + 3_600_000).toISOString()); // balance 0: cannot pay
      expect(run.summary).toMatchObject({ suspended: 1, failed: 0 });
      const stopped = (await inspect(containerName(ids.a)))!;
      expect(stopped.Id).toBe(before.Id);
      expect(stopped.State).toMatchObject({ Running: false, Status: 'exited' });
      expect(await volumeExists(volumeName(ids.a))).toBe(true);
      expect((await api.call('GET', `/v1/instances/${ids.a}`, { token })).body.phase).toBe('Suspended');
      expect((await viaGateway(ids.a, '/v1/stats')).status).toBe(409);

      const dep = await api.call('POST', '/v1/wallet/deposits', { token, body: { amount: 1500 } });
      expect(dep.status).toBe(201);
      await running(ids.a);
      const resumed = (await inspect(containerName(ids.a)))!;
      expect(resumed.Id).toBe(before.Id);
      expect(resumed.Mounts[0]!.Name).toBe(volumeName(ids.a));
      expect((await d.docker(['exec', containerName(ids.a), 'cat', '/data/marker'])).trim()).toBe('kept');
      // The instance token made before the suspension still works through the gateway.
      const withToken = await api.call('GET', `/v1/instances/${ids.a}/api/v1/token`, { token: instanceToken });
      expect(withToken.status).toBe(200);
    });

    test('after an api restart, reconciliation adopts, starts, stops and removes to match the database', async () => {
      await api.call('POST', '/v1/wallet/deposits', { token, body: { amount: 3000 } });
      ids.b = await create('second');
      ids.c = await create('third');
      await Promise.all([running(ids.b), running(ids.c)]);
      const adopted = (await inspect(containerName(ids.a)))!;

      await api.kill9(); // the api crashes; meanwhile, behind its back:
      await d.docker(['stop', '-t', '2', containerName(ids.b)]); // b should run but was stopped
      await instances().updateOne({ _id: ids.c }, { $set: { suspended: true, suspendedAt: new Date() } }); // c was suspended but still runs
      const stray = 'i-strayaaaaaaa';
      const strayLabels = ['app.kubernetes.io/managed-by=wacloud-api', `wacloud.io/instance=${stray}`, `wacloud.io/scope=${net}`].flatMap(
        (l) => ['--label', l],
      );
      await d.docker(['volume', 'create', ...strayLabels, volumeName(stray)]);
      await d.docker([
        'create',
        '--name',
        containerName(stray),
        ...strayLabels,
        '--network',
        'none',
        '-v',
        `${volumeName(stray)}:/data`,
        image,
      ]);
      const orphanVolume = volumeName('i-orphanaaaaaa');
      await d.docker([
        'volume',
        'create',
        '--label',
        'app.kubernetes.io/managed-by=wacloud-api',
        '--label',
        'wacloud.io/instance=i-orphanaaaaaa',
        '--label',
        `wacloud.io/scope=${net}`,
        orphanVolume,
      ]);
      expect((await inspect(containerName(ids.b)))!.State.Running).toBe(false);

      api = await api.restart();
      await eventually(async () => {
        const [b, c] = await Promise.all([inspect(containerName(ids.b)), inspect(containerName(ids.c))]);
        return (
          b?.State.Running === true &&
          c?.State.Status === 'exited' &&
          !(await inspect(containerName(stray))) &&
          !(await volumeExists(orphanVolume))
        );
      }, 60_000);
      expect(await volumeExists(volumeName(stray))).toBe(false);
      expect(await managed(net)).toEqual([ids.a, ids.b, ids.c].map((id) => containerName(id)).sort());
      // a was running with the current spec: adopted, not restarted or recreated.
      const a = (await inspect(containerName(ids.a)))!;
      expect(a.Id).toBe(adopted.Id);
      expect(a.State.StartedAt).toBe(adopted.State.StartedAt);
      // c keeps its volume while suspended; b answers through the gateway again (the key survived the restart).
      expect(await volumeExists(volumeName(ids.c))).toBe(true);
      await running(ids.b);
      expect((await viaGateway(ids.b, '/v1/stats')).status).toBe(200);
      expect((await viaGateway(ids.a, '/v1/stats')).status).toBe(200);
    });

    test('delete removes the container and the volume', async () => {
      for (const id of [ids.a, ids.c]) {
        const r = await api.call('DELETE', `/v1/instances/${id}`, { token });
        expect(r.status).toBe(204);
        expect(await inspect(containerName(id))).toBeUndefined();
        expect(await volumeExists(volumeName(id))).toBe(false);
        expect((await api.call('GET', `/v1/instances/${id}`, { token })).status).toBe(404);
      }
      expect(await managed(net)).toEqual([containerName(ids.b)]);
      const names = (await db.db!.admin().listDatabases()).databases.map((x) => x.name);
      expect(names).not.toContain(instanceDatabaseName(ids.a));
      expect(names).toContain(instanceDatabaseName(ids.b));
    });
  });
});
