/**
 * The chart on a real single-node cluster (testenv's startCluster(): kubelet, kube-proxy, kube-scheduler, containerd,
 * CNI bridge, CoreDNS, hostPath volumes): `helm install` with ci/cluster-values.yaml and the images built on the test
 * dockerd (imported into the node's containerd, never pulled), `helm test`, scripts/smoke.mjs against the
 * port-forwarded api, and an instance pod whose simulated session is scanned to WORKING.
 *
 * Runs alone (scripts/test.sh: after the other suites, never next to them): `cd charts && npx jest --testMatch
 * '<rootDir>/test/cluster.e2e.ts'`. Needs root; without it (or without dockerd) it fails, naming what is missing.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BASE_IMAGES,
  buildWacloudImage,
  eventually,
  startCluster,
  startDockerd,
  startMongo,
  startProcess,
  testImageTag,
  toolsBin,
  type Cluster,
  type Dockerd,
  type ManagedProcess,
  type MongoServer,
} from '@wacloud/testenv';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const chartDir = path.join(repoRoot, 'charts', 'wacloud');
const RELEASE = 'wacloud';
const NS = 'wacloud-system';
const INSTANCES_NS = 'wacloud-instances';
const CURL_IMAGE = 'wacloud/curl:test';

interface Run {
  code: number;
  out: string;
}

/** Runs a command with the cluster's admin kubeconfig; never rejects (the caller asserts on code and output). */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 600_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code as number) : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

let dockerd: Dockerd | undefined;
let cluster: Cluster | undefined;
let mongo: MongoServer | undefined;
let simnet: ManagedProcess | undefined;
let simnetUrl = '';
let forward: ManagedProcess | undefined;
let apiBase = '';
let kubeEnv: NodeJS.ProcessEnv = {};
const helm = () => path.join(toolsBin(), 'helm');
const kubectl = (args: string[]) => cluster!.controlPlane.kubectl(args);

async function diagnostics(): Promise<string> {
  if (!cluster) return '';
  const pods = await kubectl(['get', 'pods', '-A', '-o', 'wide']);
  const events = await kubectl(['get', 'events', '-A', '--sort-by=.lastTimestamp']);
  const logs: string[] = [];
  for (const c of ['api', 'operator']) logs.push((await kubectl(['-n', NS, 'logs', `deploy/${RELEASE}-${c}`, '--tail=20'])).stdout);
  return `${pods.stdout}\n${events.stdout.slice(-4000)}\n${logs.join('\n')}\n${cluster.logs(1500)}`;
}

beforeAll(async () => {
  const d = await startDockerd();
  if (!d.ok) throw new Error(`the cluster tests need the test dockerd: ${d.reason}`);
  dockerd = d.dockerd;
  for (const name of ['api', 'operator', 'instance'] as const) await buildWacloudImage(dockerd, name);
  // Stand-in for curlimages/curl (the `helm test` pod): Debian's curl on the Debian stand-in.
  await dockerd.docker(['build', '-t', CURL_IMAGE, '-'], {
    input: `FROM ${BASE_IMAGES.debian}\nRUN apt-get update -qq && apt-get install -y -qq --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n`,
    timeoutMs: 600_000,
  });
  cluster = await startCluster();
  kubeEnv = { KUBECONFIG: cluster.controlPlane.adminKubeconfigPath };
  await cluster.loadDockerImages(dockerd.host, [testImageTag('api'), testImageTag('operator'), testImageTag('instance'), CURL_IMAGE]);
  // Servers on the host that pods reach at the veth's host address.
  mongo = await startMongo({ host: cluster.hostIp });
  simnet = startProcess({
    command: process.execPath,
    args: [path.join(repoRoot, 'simnet', 'dist', 'main.js')],
    env: { ...process.env, SIMNET_HOST: cluster.hostIp, SIMNET_PORT: '0' },
  });
  cluster.adopt(simnet.pid);
  if (mongo.process) cluster.adopt(mongo.process.pid);
  simnetUrl = (await simnet.waitForOutput(/simnet listening on (http:\/\/\S+)/))[1]!;
}, 1_200_000);

afterAll(async () => {
  await forward?.stop(2_000);
  await simnet?.stop(2_000);
  await cluster?.stop();
  await mongo?.stop();
  await dockerd?.release();
}, 180_000);

describe('the chart on a real single-node cluster', () => {
  test('helm install: every Deployment and the operator Lease become ready, helm test passes', async () => {
    const c = cluster!;
    expect((await kubectl(['create', 'namespace', NS])).code).toBe(0);
    const uri = mongo!.uri.replace(/\/$/, '/wacloud');
    expect((await kubectl(['-n', NS, 'create', 'secret', 'generic', 'wacloud-mongodb-test', `--from-literal=uri=${uri}`])).code).toBe(0);
    const install = await run(
      helm(),
      [
        'install',
        RELEASE,
        chartDir,
        '-n',
        NS,
        '-f',
        path.join(chartDir, 'ci', 'cluster-values.yaml'),
        '--set',
        `instances.simnetUrl=${simnetUrl}`,
        // The instances' egress policy names the external MongoDB by address (unenforced here: no policy CNI).
        '--set',
        `instances.networkPolicy.egress.mongodb.cidrs={${c.hostIp}/32}`,
        '--set',
        `instances.networkPolicy.egress.mongodb.port=${new URL(mongo!.uri).port}`,
        '--wait',
        '--timeout',
        '5m',
      ],
      kubeEnv,
    );
    if (install.code !== 0) throw new Error(`helm install failed:\n${install.out}\n${await diagnostics()}`);
    const deployments = await kubectl([
      '-n',
      NS,
      'get',
      'deployments',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.status.readyReplicas}/{.spec.replicas} {end}',
    ]);
    expect(deployments.stdout.trim().split(' ').sort()).toEqual([`${RELEASE}-api=1/1`, `${RELEASE}-operator=1/1`]);
    await eventually(async () => {
      const l = await kubectl(['-n', NS, 'get', 'leases', '-o', 'jsonpath={.items[*].spec.holderIdentity}']);
      return l.stdout.includes(`${RELEASE}-operator`) || undefined;
    }, 60_000);
    const helmTest = await run(helm(), ['test', RELEASE, '-n', NS, '--timeout', '3m'], kubeEnv);
    if (helmTest.code !== 0) throw new Error(`helm test failed:\n${helmTest.out}\n${await diagnostics()}`);
    expect(helmTest.out).toMatch(/Phase:\s+Succeeded/);
  }, 600_000);

  test('scripts/smoke.mjs passes against the port-forwarded api (an instance pod runs and asks for a scan)', async () => {
    forward = startProcess({
      command: path.join(toolsBin(), 'kubectl'),
      args: ['--kubeconfig', cluster!.controlPlane.adminKubeconfigPath, '-n', NS, 'port-forward', `svc/${RELEASE}-api`, ':80'],
    });
    const port = (await forward.waitForOutput(/Forwarding from 127\.0\.0\.1:(\d+)/, 30_000))[1];
    apiBase = `http://127.0.0.1:${port}`;
    const smoke = await run(process.execPath, [path.join(repoRoot, 'scripts', 'smoke.mjs'), apiBase], { SMOKE_TIMEOUT_MS: '300000' });
    if (smoke.code !== 0) throw new Error(`smoke failed:\n${smoke.out}\n${await diagnostics()}`);
    expect(smoke.out).toContain('smoke: all steps passed');
  }, 600_000);

  let instanceId = '';
  let tenant = '';
  const phone = '15550017001';
  const peer = '15550017002';

  test('an instance pod runs; its simulated session is scanned to WORKING; it sends and receives', async () => {
    const email = `cluster-${Date.now()}@example.com`;
    const password = `cluster-${Date.now()}-pw`;
    expect((await api('POST', '/v1/auth/register', { email, password })).status).toBe(201);
    tenant = (await api('POST', '/v1/auth/login', { email, password })).body.accessToken;
    const pricing = (await api('GET', '/v1/pricing', undefined, tenant)).body;
    const deposit = await api('POST', '/v1/wallet/deposits', { amount: pricing.monthlyPriceMinor }, tenant, {
      'idempotency-key': `c-${Date.now()}`,
    });
    expect(deposit.status).toBeLessThan(300);
    const created = await api('POST', '/v1/instances', { name: 'cluster' }, tenant);
    expect(created.status).toBe(201);
    instanceId = created.body.id;
    await eventually(
      async () => {
        const i = (await api('GET', `/v1/instances/${instanceId}`, undefined, tenant)).body;
        return i.phase === 'Running' ? i : undefined;
      },
      300_000,
      2_000,
    ).catch(async (err) => {
      throw new Error(`${String(err)}\n${await diagnostics()}`);
    });
    // The pod may still be starting behind a Running phase: the gateway answers once it listens.
    const login = await eventually(
      async () => {
        const r = await api('POST', `/v1/instances/${instanceId}/api/v1/session/login`, undefined, tenant);
        return r.status === 200 ? r : undefined;
      },
      60_000,
      1_000,
    );
    expect((await hook('/hooks/scan', { qr: login.body.qr, phone })).status).toBe(200);
    await eventually(
      async () => (await api('GET', `/v1/instances/${instanceId}`, undefined, tenant)).body.sessionState === 'WORKING' || undefined,
      60_000,
      1_000,
    );
    console.log(
      `instance pod PSS while idle and WORKING: ${((await podPssBytes(INSTANCES_NS, `${instanceId}-0`)) / 1048576).toFixed(1)} MiB`,
    );
    expect((await hook('/hooks/accounts', { phone: peer, pushname: 'Peer' })).status).toBe(201);
    const w = await api('POST', `/v1/instances/${instanceId}/tokens`, { name: 'w', permissions: 'w' }, tenant);
    const text = `from the cluster ${Date.now()}`;
    expect((await api('POST', `/v1/instances/${instanceId}/api/v1/messages`, { to: peer, text }, w.body.token)).status).toBe(202); // queued; the send queue sends it
    await eventually(async () => {
      const m = (await fetch(`${simnetUrl}/hooks/accounts/${peer}/messages`).then((r) => r.json())) as { messages: { body: string }[] };
      return m.messages.some((x) => x.body === text) || undefined;
    }, 30_000);
    const r = await api('POST', `/v1/instances/${instanceId}/tokens`, { name: 'r', permissions: 'r' }, tenant);
    const reply = `reply ${Date.now()}`;
    expect((await hook('/hooks/send', { from: peer, to: phone, text: reply })).status).toBe(201);
    await eventually(async () => {
      const m = await api('GET', `/v1/instances/${instanceId}/api/v1/messages?q=${encodeURIComponent(reply)}`, undefined, r.body.token);
      return m.body.items?.length === 1 || undefined;
    }, 30_000);
  }, 600_000);

  test('session persistence: the deleted instance pod comes back on the same claim, WORKING without a new scan', async () => {
    expect(instanceId).not.toBe('');
    const name = `${instanceId}-0`;
    const got = await kubectl([
      '-n',
      INSTANCES_NS,
      'get',
      'pod',
      name,
      '-o',
      'jsonpath={.metadata.uid} {.spec.volumes[*].persistentVolumeClaim.claimName}',
    ]);
    const [uid, claim] = got.stdout.trim().split(' ');
    expect(claim).toBeTruthy();
    expect((await kubectl(['-n', INSTANCES_NS, 'delete', 'pod', name, '--wait=true'])).code).toBe(0);
    const back = await eventually(
      async () => {
        const p = await kubectl([
          '-n',
          INSTANCES_NS,
          'get',
          'pod',
          name,
          '-o',
          'jsonpath={.metadata.uid} {.status.phase} {.spec.volumes[*].persistentVolumeClaim.claimName}',
        ]);
        const [u, phase, c] = p.stdout.trim().split(' ');
        return u && u !== uid && phase === 'Running' ? c : undefined;
      },
      180_000,
      1_000,
    );
    expect(back).toBe(claim);
    await eventually(
      async () => (await api('GET', `/v1/instances/${instanceId}`, undefined, tenant)).body.sessionState === 'WORKING' || undefined,
      180_000,
      1_000,
    );
    // Nothing scanned since: a lost session would wait in SCAN_QR_CODE forever.
  }, 600_000);
});

/** Sum of the PSS (bytes) of every process of pod `namespace/pod` (its cgroup on the node). */
async function podPssBytes(namespace: string, pod: string): Promise<number> {
  const uid = (await kubectl(['-n', namespace, 'get', 'pod', pod, '-o', 'jsonpath={.metadata.uid}'])).stdout.trim();
  const root = '/sys/fs/cgroup/memory';
  const find = (d: string): string | undefined => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const p = path.join(d, e.name);
      if (e.name === `pod${uid}`) return p;
      const f = find(p);
      if (f) return f;
    }
    return undefined;
  };
  const podDir = find(path.join(root, `wacloud-node-${process.pid}`));
  if (!podDir) throw new Error(`no memory cgroup for pod ${uid}`);
  let pss = 0;
  const walk = (d: string) => {
    for (const pid of readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      pss += Number(m?.[1] ?? 0) * 1024;
    }
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
  };
  walk(podDir);
  return pss;
}

/** Calls the api through the port-forward; resolves with status and parsed body. */
async function api(method: string, p: string, body?: unknown, token = '', headers: Record<string, string> = {}) {
  const res = await fetch(apiBase + p, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** POSTs to simnet's test hooks (the phones). */
async function hook(p: string, body: unknown) {
  const res = await fetch(simnetUrl + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}
