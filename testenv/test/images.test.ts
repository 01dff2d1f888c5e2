/**
 * The four wacloud images, built for real by a real dockerd on local stand-ins of their base images (issue #7,
 * acceptance 2), then run: the api answers and its billing CLI runs, the instance image serves /health with tini as
 * PID 1 and a working Chromium, the dashboard's nginx serves the app as uid 101 on a read-only root file system.
 * (The operator image runs against the real control plane in operator/test/image.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  BASE_IMAGES,
  WACLOUD_IMAGES,
  buildWacloudImage,
  eventually,
  freePort,
  repoRoot,
  startDockerd,
  startMongo,
  testImageTag,
  type MongoServer,
  type WacloudImage,
} from '../src/index.js';

const dockerfile = (name: WacloudImage): string => readFileSync(path.join(repoRoot, WACLOUD_IMAGES[name]), 'utf8');
const names = Object.keys(WACLOUD_IMAGES) as WacloudImage[];

describe('Dockerfiles (static)', () => {
  it('share a byte-identical dependency stage, so one cached `npm ci` layer serves every image', () => {
    const shared = (s: string): string => s.slice(s.indexOf('ARG NODE_IMAGE='), s.indexOf('# ── end of the shared part'));
    const first = shared(dockerfile('operator'));
    expect(first).toContain('RUN npm ci');
    for (const n of names) expect(shared(dockerfile(n))).toBe(first);
  });

  it('build FROM the pinned base images the test environment stands in for', () => {
    const defaults = new Map<string, string>();
    for (const n of names) for (const m of dockerfile(n).matchAll(/^ARG (\w+_IMAGE)=(\S+)$/gm)) defaults.set(`${n}:${m[1]}`, m[2]!);
    expect(defaults.get('operator:NODE_IMAGE')).toBe(BASE_IMAGES.node);
    expect(defaults.get('operator:RUNTIME_IMAGE')).toBe(BASE_IMAGES.distrolessNode);
    expect(defaults.get('api:NODE_IMAGE')).toBe(BASE_IMAGES.node);
    expect(defaults.get('instance:RUNTIME_IMAGE')).toBe(BASE_IMAGES.debian);
    expect(defaults.get('dashboard:RUNTIME_IMAGE')).toBe(BASE_IMAGES.nginx);
    for (const ref of defaults.values()) expect(ref).toMatch(/:(\d[\w.-]*|bookworm-\d{8}-slim|nonroot)$|@sha256:/);
  });

  it('run as the non-root users the Helm chart and the operator assume', () => {
    const values = readFileSync(path.join(repoRoot, 'charts/wacloud/values.yaml'), 'utf8');
    const statefulSet = readFileSync(path.join(repoRoot, 'operator/src/builders/statefulset.ts'), 'utf8');
    const users: Record<WacloudImage, string> = { operator: '65532:65532', api: '1000:1000', instance: '10001:10001', dashboard: '101' };
    for (const n of names) expect(dockerfile(n)).toMatch(new RegExp(`^USER ${users[n]}$`, 'm'));
    for (const n of ['operator', 'api', 'dashboard'] as const) expect(values).toContain(`runAsUser: ${users[n].split(':')[0]}`);
    expect(statefulSet).toContain('RUN_AS = 10001;');
  });
});

describe('the kind path (make -n kind-up images deploy)', () => {
  it('creates the cluster, builds and loads all four images, and installs the chart with the kind values', () => {
    const out = execFileSync('make', ['-n', 'kind-up', 'images', 'deploy'], { cwd: repoRoot, encoding: 'utf8' });
    expect(out).toMatch(/kind create cluster --name wacloud --config kind-config\.yaml/);
    expect(out).toMatch(/for i in operator api instance dashboard; do docker build -f \$i\/Dockerfile -t wacloud\/\$i:dev \. ; done/);
    expect(out).toContain(
      'kind load docker-image --name wacloud wacloud/operator:dev wacloud/api:dev wacloud/instance:dev wacloud/dashboard:dev',
    );
    expect(out).toMatch(/helm upgrade --install wacloud charts\/wacloud --namespace wacloud-system --create-namespace/);
    expect(out).toContain('-f charts/wacloud/ci/kind-values.yaml');
    for (const c of ['operator', 'api', 'dashboard', 'instances']) expect(out).toContain(`--set ${c}.image.tag=dev`);
    expect(out.indexOf('kind create cluster')).toBeLessThan(out.indexOf('docker build'));
    expect(out.indexOf('kind load')).toBeLessThan(out.indexOf('helm upgrade'));
  });
});

const docker = await startDockerd();
if (!docker.ok) console.warn(`SKIPPED image builds: no Docker engine here — ${docker.reason}`);

(docker.ok ? describe : describe.skip)('images built by a real dockerd', () => {
  const d = docker.ok ? docker.dockerd : (undefined as never);
  let mongo: MongoServer;
  const containers: string[] = [];
  const run = async (args: string[]): Promise<string> => {
    const id = (await d.docker(['run', '-d', ...args])).trim();
    containers.push(id);
    return id;
  };

  beforeAll(async () => {
    mongo = await startMongo();
    for (const n of names) await buildWacloudImage(d, n);
  }, 1_800_000);

  afterAll(async () => {
    for (const c of containers) await d.docker(['rm', '-f', '-v', c]).catch(() => undefined);
    await mongo?.stop();
    await d.release();
  }, 60_000);

  it('every image exists with its user, entry point and exposed ports', async () => {
    const inspect = async (n: WacloudImage) =>
      JSON.parse(await d.docker(['image', 'inspect', testImageTag(n)]))[0].Config as {
        User: string;
        Entrypoint: string[] | null;
        Cmd: string[];
        ExposedPorts: Record<string, object>;
      };
    const op = await inspect('operator');
    expect(op.User).toBe('65532:65532');
    expect(op.Entrypoint).toEqual(['/nodejs/bin/node']);
    expect(Object.keys(op.ExposedPorts)).toEqual(['8080/tcp']);
    const inst = await inspect('instance');
    expect(inst.Entrypoint).toEqual(['/usr/bin/tini', '--']);
    expect(inst.User).toBe('10001:10001');
    expect((await inspect('api')).Cmd).toEqual(['node', 'dist/main.js']);
    expect((await inspect('dashboard')).User).toBe('101');
    // The distroless runtime really has no shell.
    await expect(d.docker(['run', '--rm', '--entrypoint', '/bin/sh', testImageTag('operator'), '-c', 'true'])).rejects.toThrow();
  });

  it('the operator image loads its whole module graph (production dependencies only)', async () => {
    const out = await d.docker([
      'run',
      '--rm',
      testImageTag('operator'),
      '-e',
      "const r=await import('/app/operator/dist/reconciler.js');const k=await import('@kubernetes/client-node');console.log(typeof r, typeof k.KubeConfig)",
      '--input-type=module',
    ]);
    expect(out.trim()).toBe('object function');
    const modules = await d.docker([
      'run',
      '--rm',
      testImageTag('operator'),
      '-e',
      "console.log(require('fs').readdirSync('/app/node_modules').join(' '))",
    ]);
    expect(modules).not.toMatch(/\b(typescript|jest|@angular|testcontainers|eslint)\b/);
  });

  it('the api image serves tenants (argon2, JWT, MongoDB) and runs the billing CLI', async () => {
    const port = await freePort();
    const env = [
      '-e',
      `PORT=${port}`,
      '-e',
      `MONGODB_URI=${mongo.dbUri(`img_api_${randomBytes(3).toString('hex')}`)}`,
      '-e',
      `JWT_SECRET=${randomBytes(24).toString('hex')}`,
      '-e',
      'SIMNET_URL=http://127.0.0.1:9',
      '-e',
      'PROCESS_DATA_ROOT=/tmp/instances',
      '-e',
      'BILLING_CRON=false',
    ];
    await run(['--network', 'host', '--read-only', '--tmpfs', '/tmp', ...env, testImageTag('api')]);
    const base = `http://127.0.0.1:${port}`;
    await eventually(async () => (await fetch(`${base}/health`).catch(() => undefined))?.ok, 60_000, 250);
    const email = `img-${randomBytes(3).toString('hex')}@example.com`;
    const reg = await fetch(`${base}/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'correct horse battery' }),
    });
    expect(reg.status).toBe(201);
    const login = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'correct horse battery' }),
    });
    expect(login.status).toBe(200);
    expect(((await login.json()) as { accessToken: string }).accessToken).toMatch(/^ey/);

    const billing = await d.docker(['run', '--rm', '--network', 'host', ...env, testImageTag('api'), 'node', 'dist/billing-cli.js', 'run']);
    expect(billing).toMatch(/^billing .*: 0 due, 0 charged/m);
  });

  it('the instance image: tini is PID 1, /health answers with the simulated engine, and its Chromium renders a page', async () => {
    const simPort = await freePort();
    await run(['--network', 'host', '-e', `SIMNET_PORT=${simPort}`, testImageTag('instance'), 'node', '/app/simnet/dist/main.js']);
    const port = await freePort();
    const internalPort = await freePort();
    const id = await run([
      '--network',
      'host',
      '--shm-size',
      '256m',
      '-e',
      `PORT=${port}`,
      '-e',
      `INTERNAL_PORT=${internalPort}`,
      '-e',
      'ENGINE=simulated',
      '-e',
      `SIMNET_URL=http://127.0.0.1:${simPort}`,
      '-e',
      `MONGODB_URI=${mongo.dbUri(`img_inst_${randomBytes(3).toString('hex')}`)}`,
      '-e',
      `INTERNAL_API_KEY=${randomBytes(16).toString('hex')}`,
      '-e',
      'INSTANCE_ID=img-test',
      testImageTag('instance'),
    ]);
    const health = await eventually(
      async () => {
        const r = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
        return r?.ok ? ((await r.json()) as Record<string, unknown>) : undefined;
      },
      60_000,
      250,
    );
    expect(JSON.stringify(health)).toMatch(/SCAN_QR_CODE|STARTING|WORKING|STOPPED/);
    expect((await d.docker(['exec', id, 'cat', '/proc/1/cmdline'])).split('\0')[0]).toBe('/usr/bin/tini');
    expect((await d.docker(['exec', id, 'id', '-u'])).trim()).toBe('10001');
    const dom = await d.docker(
      [
        'run',
        '--rm',
        '--shm-size',
        '256m',
        '--entrypoint',
        '/usr/lib/chromium/chromium',
        testImageTag('instance'),
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--dump-dom',
        'data:text/html,<p id="x">wacloud in chromium</p>',
      ],
      { timeoutMs: 120_000 },
    );
    expect(dom).toContain('<p id="x">wacloud in chromium</p>');
  });

  it('the dashboard image serves the app and its client-side routes as uid 101 on a read-only root file system', async () => {
    const id = await run(['--read-only', '--tmpfs', '/tmp', '-p', '127.0.0.1::8080', testImageTag('dashboard')]);
    const hostPort = (await d.docker(['port', id, '8080/tcp'])).trim().split('\n')[0]!.split(':').pop();
    const base = `http://127.0.0.1:${hostPort}`;
    const index = await eventually(
      async () => {
        const r = await fetch(`${base}/`).catch(() => undefined);
        return r?.ok ? r.text() : undefined;
      },
      30_000,
      200,
    );
    expect(index).toContain('<app-root>');
    const deep = await fetch(`${base}/instances/i-abc/tokens`);
    expect(deep.status).toBe(200);
    expect(await deep.text()).toBe(index);
    const config = await fetch(`${base}/config.json`);
    expect(config.headers.get('cache-control')).toBe('no-store');
    expect(await config.json()).toHaveProperty('apiBaseUrl');
    expect((await fetch(`${base}/missing.js`)).status).toBe(404);
    const top = await d.docker(['top', id, '-o', 'pid,uid,args']);
    expect(top).toMatch(/^\s*\d+\s+101\s+nginx: worker process/m);
  });
});
