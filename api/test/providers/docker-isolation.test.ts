/**
 * What one instance container can reach, against the test run's real dockerd and the real instance image: each
 * instance sits on a network of its own, so instance A cannot open instance B's ports (neither B's address nor B's
 * published port through A's gateway), nor the engine's API — while the api (this process, reach `published`) reaches
 * both (and, with reach `network`, the api's container joins each instance's network). And Chromium inside a container made from the provider's spec keeps its sandbox with the shipped seccomp
 * profile, where Docker's default profile forces the warned `--no-sandbox` fallback.
 */
import Docker from 'dockerode';
import { pino } from 'pino';
import {
  buildWacloudImage,
  dockerTestName,
  startDockerd,
  startMongo,
  testImageTag,
  type Dockerd,
  type MongoServer,
} from '@wacloud/testenv';
import { DockerProvider } from '../../src/providers/docker/provider.js';
import { loadSeccompProfile } from '../../src/providers/docker/seccomp.js';
import { buildContainerSpec, containerName, deriveInternalKey } from '../../src/providers/docker/spec.js';
import type { ProvisionRequest } from '../../src/providers/provider.js';
import { createTestNetwork } from './docker-fixtures.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const started = await startDockerd();
if (!started.ok) console.warn(`docker-isolation: skipping, no Docker daemon: ${started.reason}`);
const withDaemon = started.ok ? describe : describe.skip;

withDaemon('docker provider: instance isolation and Chromium sandbox on a real dockerd', () => {
  const d = (started as { ok: true; dockerd: Dockerd }).dockerd;
  const image = testImageTag('instance');
  const net = dockerTestName('provider-isolation');
  const engine = new Docker({ socketPath: d.socketPath });
  let mongo: MongoServer;
  let provider: DockerProvider;
  const req = (id: string): ProvisionRequest => ({ id, owner: 'user-1', name: id, engine: 'webjs', suspended: false });
  const a = req('i-isolateaaaaa');
  const b = req('i-isolatebbbbb');

  beforeAll(async () => {
    await buildWacloudImage(d, 'instance');
    const gateway = await createTestNetwork(d, net, 'provider-isolation');
    mongo = await startMongo({ host: gateway });
    provider = new DockerProvider({
      dockerHost: d.host,
      image,
      network: net,
      reach: 'published',
      mongoUri: mongo.uri,
      keySecret: 'isolation-key-secret-0123456789abcdef',
      shmSizeBytes: 256 * 1024 ** 2,
      stopTimeoutS: 2,
      logger,
    });
  }, 900_000);

  afterAll(async () => {
    await provider?.delete(a.id).catch(() => undefined);
    await provider?.delete(b.id).catch(() => undefined);
    await provider?.close();
    await d.docker(['network', 'rm', net]).catch(() => undefined);
    await mongo?.stop();
    await d.release();
  }, 120_000);

  /** Runs `node -e <script>` inside container `name` as its user; stdout. */
  const nodeIn = (name: string, script: string) =>
    d.docker(['exec', name, 'node', '--input-type=module', '-e', script], { timeoutMs: 60_000 });
  /** From inside `from`: 'open' when a TCP connection to host:port succeeds, else the error code. */
  const probe = async (from: string, host: string, port: number): Promise<string> =>
    (
      await nodeIn(
        from,
        `import net from 'node:net';
         const s = net.connect({ host: ${JSON.stringify(host)}, port: ${port}, timeout: 3000 });
         s.on('connect', () => { console.log('open'); s.destroy(); });
         s.on('timeout', () => { console.log('ETIMEDOUT'); s.destroy(); });
         s.on('error', (e) => console.log(e.code));`,
      )
    ).trim();

  test('instance A reaches neither instance B (address or published port) nor the engine API; the api reaches both', async () => {
    await provider.create(a);
    await provider.create(b);
    // The api reaches both (endpoints() answers only after a /health probe of the instance succeeded).
    const [epA, epB] = await Promise.all([waitEndpoints(a.id), waitEndpoints(b.id)]);
    for (const ep of [epA, epB]) expect((await fetch(`${ep.publicUrl}/health`)).status).toBe(200);

    const infoA = await engine.getContainer(containerName(a.id)).inspect();
    const infoB = await engine.getContainer(containerName(b.id)).inspect();
    const nets = (i: Docker.ContainerInspectInfo) => Object.keys(i.NetworkSettings.Networks);
    const ipB = Object.values(infoB.NetworkSettings.Networks)[0]!.IPAddress;
    const gatewayA = Object.values(infoA.NetworkSettings.Networks)[0]!.Gateway;
    const publishedB = Number(infoB.NetworkSettings.Ports['8080/tcp']![0]!.HostPort);

    // A control: from inside A its own port answers, so a failure below is the network's doing.
    expect(await probe(containerName(a.id), '127.0.0.1', 8080)).toBe('open');
    expect(await probe(containerName(a.id), ipB, 8080)).not.toBe('open');
    expect(await probe(containerName(a.id), ipB, 8081)).not.toBe('open');
    expect(await probe(containerName(a.id), gatewayA, publishedB)).not.toBe('open');
    // The engine's API: no socket in the container, and no TCP port on its gateway.
    expect(infoA.Mounts.map((m) => m.Destination)).toEqual(['/data']);
    expect((await nodeIn(containerName(a.id), "import fs from 'node:fs'; console.log(fs.existsSync('/var/run/docker.sock'))")).trim()).toBe(
      'false',
    );
    for (const port of [2375, 2376]) expect(await probe(containerName(a.id), gatewayA, port)).not.toBe('open');
    // Each on a network of its own.
    expect(nets(infoA)).toEqual([`${net}-${a.id}`]);
    expect(nets(infoB)).toEqual([`${net}-${b.id}`]);
  }, 180_000);

  test("reach `network`: the api's container joins each instance's network (and leaves it on delete); others do not", async () => {
    // A stand-in for the api's container, and a bystander on the scope's own network.
    const apiName = `${net}-api`;
    const bystander = `${net}-bystander`;
    const idle = ['node', '-e', 'setInterval(() => {}, 1e6)'];
    await d.docker(['run', '-d', '--name', apiName, '--network', net, image, ...idle]);
    await d.docker(['run', '-d', '--name', bystander, '--network', net, image, ...idle]);
    const viaNetwork = new DockerProvider({
      dockerHost: d.host,
      image,
      network: net,
      reach: 'network',
      apiContainer: apiName,
      mongoUri: mongo.uri,
      keySecret: 'isolation-key-secret-0123456789abcdef',
      namePrefix: 'wacloud-net-',
      shmSizeBytes: 256 * 1024 ** 2,
      stopTimeoutS: 2,
      logger,
    });
    const c = req('i-isolatecccc');
    const name = `wacloud-net-${c.id}`;
    try {
      await viaNetwork.create(c);
      await viaNetwork.create(c); // joining twice is fine
      const health = `fetch('http://${name}:8080/health').then((r) => console.log(r.status), (e) => console.log(e.cause?.code ?? e.message))`;
      let status = '';
      for (let i = 0; i < 60 && status !== '200'; i++) {
        status = (await nodeIn(apiName, health)).trim();
        if (status !== '200') await new Promise((r) => setTimeout(r, 500));
      }
      expect(status).toBe('200');
      expect((await nodeIn(bystander, health)).trim()).not.toBe('200');
      const apiNets = Object.keys((await engine.getContainer(apiName).inspect()).NetworkSettings.Networks).sort();
      expect(apiNets).toEqual([net, `${net}-${c.id}`].sort());
      await viaNetwork.delete(c.id);
      expect(Object.keys((await engine.getContainer(apiName).inspect()).NetworkSettings.Networks)).toEqual([net]);
      await expect(engine.getNetwork(`${net}-${c.id}`).inspect()).rejects.toMatchObject({ statusCode: 404 });
    } finally {
      await viaNetwork.delete(c.id).catch(() => undefined);
      await viaNetwork.close();
      await d.docker(['rm', '-f', '-v', apiName, bystander]).catch(() => undefined);
    }
  }, 180_000);

  async function waitEndpoints(id: string) {
    for (let i = 0; ; i++) {
      try {
        return await provider.endpoints(id);
      } catch (err) {
        if (i > 120) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /**
   * Launches Chromium (sandbox `auto`) with the instance's own launch code in a container made from the provider's
   * spec (`seccompProfile` as given; no network needed), and reports what ran.
   */
  async function chromiumIn(seccompProfile: string): Promise<{ noSandbox: boolean; ownUserNs: boolean; warnings: string[] }> {
    const spec = buildContainerSpec(
      req('i-chromiumaaaaa'),
      { image, network: net, reach: 'published', mongoUri: mongo.uri, seccompProfile },
      deriveInternalKey('k'.repeat(32), 'x'),
    );
    const script = `
      import fs from 'node:fs';
      const { launchChromium, closeBrowser, processTree } = await import('/app/instance/dist/engines/webjs/browser.js');
      const warnings = [];
      const b = await launchChromium({ executablePath: process.env.CHROMIUM_PATH, userDataDir: '/tmp/profile', sandbox: 'auto',
        logger: { warn: (o) => warnings.push(o.reason) } });
      const page = await b.newPage();
      await page.goto('data:text/html,<p>hello</p>');
      const pid = b.process().pid;
      const ns = (p) => { try { return fs.readlinkSync('/proc/' + p + '/ns/user'); } catch { return undefined; } };
      const own = ns(pid);
      const ownUserNs = processTree(pid).map(ns).some((n) => n !== undefined && n !== own);
      console.log(JSON.stringify({ noSandbox: b.process().spawnargs.includes('--no-sandbox'), ownUserNs, warnings }));
      await closeBrowser(b);`;
    const name = `${net}-chromium-${seccompProfile ? 'profile' : 'default'}`;
    const c = await engine.createContainer({
      name,
      Image: image,
      Cmd: ['node', '--input-type=module', '-e', script],
      HostConfig: { ...spec.HostConfig, NetworkMode: 'none', Mounts: [], PortBindings: {}, RestartPolicy: { Name: 'no' } },
    });
    try {
      await c.start();
      const { StatusCode } = (await c.wait()) as { StatusCode: number };
      const out = (await c.logs({ stdout: true, stderr: true })).toString('utf8');
      expect({ StatusCode, out }).toMatchObject({ StatusCode: 0 });
      const line = out.split('\n').find((l) => l.includes('"noSandbox"'))!;
      return JSON.parse(line.slice(line.indexOf('{'))) as { noSandbox: boolean; ownUserNs: boolean; warnings: string[] };
    } finally {
      await c.remove({ force: true });
    }
  }

  test("Chromium keeps its sandbox in a container with the shipped seccomp profile (the spec's SecurityOpt)", async () => {
    const profile = loadSeccompProfile();
    const spec = buildContainerSpec(
      a,
      { image, network: net, reach: 'published', mongoUri: mongo.uri, seccompProfile: profile },
      'k'.repeat(43),
    );
    expect(await chromiumIn(profile)).toEqual({ noSandbox: false, ownUserNs: true, warnings: [] });
    expect(spec.HostConfig!.SecurityOpt).toEqual(['no-new-privileges:true', `seccomp=${profile}`]);
  }, 120_000);

  test("with Docker's default profile Chromium cannot sandbox: auto falls back to --no-sandbox and warns", async () => {
    const r = await chromiumIn('');
    expect(r).toMatchObject({ noSandbox: true, ownUserNs: false });
    expect(r.warnings).toHaveLength(1);
  }, 120_000);
});
