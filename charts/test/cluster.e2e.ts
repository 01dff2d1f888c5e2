/**
 * The chart on a real single-node cluster (testenv's startCluster(): kubelet, kube-proxy, kube-scheduler, containerd,
 * CNI bridge, CoreDNS, hostPath volumes): `helm install` with ci/cluster-values.yaml and the images built on the test
 * dockerd (imported into the node's containerd, never pulled), `helm test`, scripts/smoke.mjs against the
 * port-forwarded api, an instance pod whose simulated session is scanned to WORKING and survives its pod's deletion,
 * billing Jobs made from the chart's CronJob (suspend, resume, delete), `helm upgrade` to new image tags, Prometheus
 * scraping what the chart's ServiceMonitors / PodMonitor select (monitoring.ts), the shipped dashboard's and alerts'
 * PromQL, and `helm uninstall`.
 *
 * Runs alone (scripts/test.sh: after the other suites, never next to them): `cd charts && npx jest --testMatch
 * '<rootDir>/test/cluster.e2e.ts'`. Needs root; without it (or without dockerd) it fails, naming what is missing.
 */
import { execFile } from 'node:child_process';
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
import {
  apiClient,
  billingJob,
  deposit,
  exists,
  hookClient,
  paidTenant,
  podInfo,
  podPssBytes,
  podWhen,
  sessionState,
  workingInstance,
} from './cluster-helpers.js';
import {
  dashboardExpressions,
  helmTemplate,
  promtoolCheckMetrics,
  scrapeConfigsFor,
  startPrometheus,
  type Prometheus,
} from './monitoring.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const chartDir = path.join(repoRoot, 'charts', 'wacloud');
const RELEASE = 'wacloud';
const NS = 'wacloud-system';
const INSTANCES_NS = 'wacloud-instances';
const BILLING = `${RELEASE}-billing`; // the CronJob
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
let prom: Prometheus | undefined;
let kubeEnv: NodeJS.ProcessEnv = {};
const helm = () => path.join(toolsBin(), 'helm');
const kubectl: Cluster['controlPlane']['kubectl'] = (args, opts) => cluster!.controlPlane.kubectl(args, opts);
const api = apiClient(() => apiBase);
const hook = hookClient(() => simnetUrl);

/** (Re)starts `kubectl port-forward` to the api Service; sets apiBase. */
async function openForward(): Promise<void> {
  await forward?.stop(2_000);
  forward = startProcess({
    command: path.join(toolsBin(), 'kubectl'),
    args: ['--kubeconfig', cluster!.controlPlane.adminKubeconfigPath, '-n', NS, 'port-forward', `svc/${RELEASE}-api`, ':80'],
  });
  const port = (await forward.waitForOutput(/Forwarding from 127\.0\.0\.1:(\d+)/, 30_000))[1];
  apiBase = `http://127.0.0.1:${port}`;
}

/** One line per instance, StatefulSet, pod and claim in the instances' namespace (the first lines of diagnostics). */
async function instancesAtAGlance(): Promise<string> {
  const wai = await kubectl([
    '-n',
    INSTANCES_NS,
    'get',
    'whatsappinstances',
    '-o',
    'custom-columns=INSTANCE:.metadata.name,PHASE:.status.phase,SESSION:.status.session.state,WHY:.status.session.reason,READY:.status.conditions[?(@.type=="Ready")].message',
  ]);
  const rest = await kubectl(['-n', INSTANCES_NS, 'get', 'statefulsets,pods,pvc', '-o', 'wide']);
  return `${wai.stdout}${wai.stderr}${rest.stdout}${rest.stderr}`;
}

/**
 * What a failure's message carries: the instances at a glance, every pod, the newest events (4,000 characters), the
 * api's and the operator's last 20 log lines, and the last 1,500 characters of each node and control-plane process's
 * log.
 */
async function diagnostics(): Promise<string> {
  if (!cluster) return '';
  const pods = await kubectl(['get', 'pods', '-A', '-o', 'wide']);
  const events = await kubectl(['get', 'events', '-A', '--sort-by=.lastTimestamp']);
  const logs: string[] = [];
  for (const c of ['api', 'operator']) logs.push((await kubectl(['-n', NS, 'logs', `deploy/${RELEASE}-${c}`, '--tail=20'])).stdout);
  return `${await instancesAtAGlance()}\n${pods.stdout}\n${events.stdout.slice(-4000)}\n${logs.join('\n')}\n${cluster.logs(1500)}`;
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
  const t0 = Date.now();
  cluster = await startCluster();
  console.log(`cluster started in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
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
  await prom?.stop();
  await forward?.stop(2_000);
  await simnet?.stop(2_000);
  await cluster?.stop();
  await mongo?.stop();
  await dockerd?.release();
}, 180_000);

describe('the chart on a real single-node cluster', () => {
  test('helm install: every Deployment and the operator Lease become ready, helm test passes', async () => {
    expect((await kubectl(['create', 'namespace', NS])).code).toBe(0);
    const uri = mongo!.uri.replace(/\/$/, '/wacloud');
    expect((await kubectl(['-n', NS, 'create', 'secret', 'generic', 'wacloud-mongodb-test', `--from-literal=uri=${uri}`])).code).toBe(0);
    const install = await run(helm(), ['install', RELEASE, chartDir, '-n', NS, ...releaseValues(), '--wait', '--timeout', '5m'], kubeEnv);
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
    await openForward();
    const smoke = await run(process.execPath, [path.join(repoRoot, 'scripts', 'smoke.mjs'), apiBase], { SMOKE_TIMEOUT_MS: '300000' });
    if (smoke.code !== 0) {
      const failed = /^FAIL .*$/m.exec(smoke.out)?.[0] ?? `exit ${smoke.code}`;
      throw new Error(`smoke failed: ${failed}\n${await diagnostics()}\n--- smoke output ---\n${smoke.out}`);
    }
    expect(smoke.out).toContain('smoke: all steps passed');
  }, 600_000);

  let instanceId = ''; // tenant A's, billed away by the billing test
  let tenant = '';
  let idB = ''; // tenant B's, paid ahead: survives billing, upgrade and uninstall
  let tenantB = '';
  const phone = '15550017001';
  const peer = '15550017002';

  test('an instance pod runs; its simulated session is scanned to WORKING; it sends and receives', async () => {
    tenant = await paidTenant(api, 'cluster', 1);
    instanceId = await workingInstance(api, hook, tenant, 'cluster', phone, diagnostics);
    const pss = await podPssBytes(kubectl, INSTANCES_NS, `${instanceId}-0`);
    console.log(`instance pod PSS while idle and WORKING: ${(pss / 1048576).toFixed(1)} MiB`);
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
    const before = await podInfo(kubectl, INSTANCES_NS, name);
    expect(before.claim).toBeTruthy();
    expect((await kubectl(['-n', INSTANCES_NS, 'delete', 'pod', name, '--wait=true'])).code).toBe(0);
    const back = await podWhen(kubectl, INSTANCES_NS, name, (p) => !!p.uid && p.uid !== before.uid && p.phase === 'Running');
    expect(back.claim).toBe(before.claim);
    // Nothing scanned since: a lost session would wait in SCAN_QR_CODE forever.
    await sessionState(api, tenant, instanceId, 'WORKING');
  }, 600_000);

  test('billing: a Job from the CronJob suspends an unpaid instance (claim kept), a deposit resumes it, an unpaid period later it is gone', async () => {
    // Tenant B pays six months ahead: billing charges its instance and leaves it running (the later tests use it).
    tenantB = await paidTenant(api, 'cluster-b', 6);
    idB = await workingInstance(api, hook, tenantB, 'cluster-b', '15550017003', diagnostics);
    const pod = `${instanceId}-0`;
    const { claim } = await podInfo(kubectl, INSTANCES_NS, pod);
    const paidUntil = async () => Date.parse((await api('GET', `/v1/instances/${instanceId}`, undefined, tenant)).body.paidUntil);
    const HOUR = 3_600_000;

    // A's paid month is over and its wallet is empty.
    const first = await billingJob(kubectl, NS, BILLING, new Date((await paidUntil()) + HOUR));
    expect(first).toMatchObject({ charged: 1, suspended: 1, failed: 0 });
    await eventually(async () => !(await exists(kubectl, INSTANCES_NS, 'pod', pod)) || undefined, 180_000, 1_000);
    expect(await exists(kubectl, INSTANCES_NS, 'pvc', claim)).toBe(true);
    expect((await api('GET', `/v1/instances/${instanceId}`, undefined, tenant)).body.phase).toBe('Suspended');
    expect((await podInfo(kubectl, INSTANCES_NS, `${idB}-0`)).phase).toBe('Running');

    // A deposit resumes it on the same claim, with its session.
    await deposit(api, tenant, 1);
    const back = await podWhen(kubectl, INSTANCES_NS, pod, (p) => p.phase === 'Running');
    expect(back.claim).toBe(claim);
    await sessionState(api, tenant, instanceId, 'WORKING');

    // The resumed period ends unpaid: suspended again; once that unpaid period has passed too, deleted.
    const resumedUntil = await paidUntil();
    expect(await billingJob(kubectl, NS, BILLING, new Date(resumedUntil + HOUR))).toMatchObject({ suspended: 1, failed: 0 });
    expect(await billingJob(kubectl, NS, BILLING, new Date(resumedUntil + 32 * 24 * HOUR))).toMatchObject({ deleted: 1, failed: 0 });
    await eventually(
      async () => {
        const left = await Promise.all([
          exists(kubectl, INSTANCES_NS, 'whatsappinstance', instanceId),
          exists(kubectl, INSTANCES_NS, 'pod', pod),
          exists(kubectl, INSTANCES_NS, 'pvc', claim),
        ]);
        return left.every((x) => !x) || undefined;
      },
      180_000,
      1_000,
    );
    expect((await podInfo(kubectl, INSTANCES_NS, `${idB}-0`)).phase).toBe('Running');
  }, 900_000);

  test('helm upgrade to a new image tag rolls the api, the operator and the instances; sessions are kept', async () => {
    const TAG = 'upgrade';
    const images = (['api', 'operator', 'instance'] as const).map((n) => [testImageTag(n), `wacloud/${n}:${TAG}`] as const);
    for (const [from, to] of images) await dockerd!.docker(['tag', from, to]);
    await cluster!.loadDockerImages(
      dockerd!.host,
      images.map(([, to]) => to),
    );
    const podB = `${idB}-0`;
    const before = await podInfo(kubectl, INSTANCES_NS, podB);
    const tags = ['api', 'operator', 'instances'].flatMap((c) => ['--set', `${c}.image.tag=${TAG}`]);
    const up = await run(helm(), ['upgrade', RELEASE, chartDir, '-n', NS, '--reuse-values', ...tags, '--wait', '--timeout', '5m'], kubeEnv);
    if (up.code !== 0) throw new Error(`helm upgrade failed:\n${up.out}\n${await diagnostics()}`);
    for (const d of ['api', 'operator']) {
      const sel = `app.kubernetes.io/component=${d}`;
      const podImages = async () =>
        (await kubectl(['-n', NS, 'get', 'pods', '-l', sel, '-o', 'jsonpath={.items[*].spec.containers[0].image}'])).stdout.trim();
      await eventually(async () => (await podImages()) === `wacloud/${d}:${TAG}` || undefined, 120_000, 1_000).catch(() => undefined);
      expect(await podImages()).toBe(`wacloud/${d}:${TAG}`); // and the old pods are gone
    }
    const rolled = await podWhen(kubectl, INSTANCES_NS, podB, (p) => !!p.uid && p.uid !== before.uid && p.phase === 'Running', 300_000);
    expect(rolled).toMatchObject({ image: `wacloud/instance:${TAG}`, claim: before.claim });
    await openForward(); // the forwarded api pod was replaced
    // The tenant's login (the kept JWT key) and the WhatsApp session (the claim) both survive: no new scan.
    await sessionState(api, tenantB, idB, 'WORKING');
  }, 900_000);

  test('Prometheus discovers the chart documented targets: up for the api, the operator and every running instance', async () => {
    prom = await startMonitoring();
    const running = async () =>
      (
        await kubectl([
          '-n',
          INSTANCES_NS,
          'get',
          'pods',
          '-l',
          'app.kubernetes.io/name=wacloud-instance',
          '--field-selector=status.phase=Running',
          '-o',
          'name',
        ])
      ).stdout
        .trim()
        .split('\n')
        .filter(Boolean).length;
    const byJob = await eventually(
      async () => {
        const up = await prom!.vector('up');
        const jobs: Record<string, number[]> = {};
        for (const s of up) (jobs[s.metric.job!] ??= []).push(Number(s.value[1]));
        return Object.keys(jobs).length === 3 &&
          Object.values(jobs)
            .flat()
            .every((v) => v === 1)
          ? jobs
          : undefined;
      },
      120_000,
      2_000,
    ).catch(async (err) => {
      throw new Error(`${String(err)}\n${JSON.stringify(await prom!.vector('up'))}`);
    });
    const n = await running();
    expect(n).toBeGreaterThanOrEqual(1);
    expect(byJob).toEqual({
      [`${RELEASE}-api`]: [1],
      [`${RELEASE}-operator-metrics`]: [1],
      [`${NS}/${RELEASE}-instances`]: Array(n).fill(1),
    });
    const phases = await eventually(
      async () => ((v) => (v.length ? v : undefined))(await prom!.vector('wacloud_instances{phase="Running"}')),
      60_000,
      2_000,
    );
    expect(phases.map((s) => Number(s.value[1]))).toEqual([n]);
    // promtool's lint of each exposition (api, operator, every instance), as Prometheus fetched it.
    const targets = (await (await fetch(`${prom.url}/api/v1/targets?state=active`)).json()) as any;
    const findings: Record<string, string> = {};
    for (const t of targets.data.activeTargets) findings[t.scrapeUrl] = await promtoolCheckMetrics(await (await fetch(t.scrapeUrl)).text());
    expect(Object.keys(findings)).toHaveLength(2 + n);
    expect(Object.values(findings).filter(Boolean)).toEqual([]);
  }, 600_000);

  test('the Grafana dashboard and the alert rules shipped in the chart: Prometheus accepts every PromQL expression', async () => {
    expect(prom).toBeDefined();
    const objects = await monitoringObjects();
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1')!;
    const rules = objects.find((o) => o.kind === 'PrometheusRule')!.spec.groups.flatMap((g: any) => g.rules);
    const exprs = [
      ...dashboardExpressions(JSON.parse(cm.data!['wacloud.json']!)),
      ...rules.map((r: any) => ({ where: `alert ${r.alert}`, expr: r.expr as string })),
    ];
    const rejected: string[] = [];
    for (const { where, expr } of exprs) {
      const r = await prom!.query(expr);
      if (r.body.status !== 'success') rejected.push(`${where}: ${r.body.errorType}: ${r.body.error}`);
    }
    expect(rejected).toEqual([]);
    // And the wacloud series the dashboard reads are there (not only parseable).
    for (const m of [
      'wacloud_instances',
      'wacloud_session_state',
      'controller_runtime_reconcile_total',
      'wacloud_billing_suspensions_total',
    ])
      expect((await prom!.vector(`count(${m})`)).length).toBe(1);
  }, 300_000);

  test('helm uninstall leaves only what the chart documents as kept', async () => {
    await prom?.stop();
    prom = undefined;
    await forward?.stop(2_000);
    forward = undefined;
    const un = await run(helm(), ['uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '3m'], kubeEnv);
    expect(un.code).toBe(0);
    const kinds = (await kubectl(['api-resources', '--verbs=list', '--namespaced', '-o', 'name'])).stdout.trim().split('\n');
    const listed = kinds.filter(
      (k) => !/^(events(\.events\.k8s\.io)?|endpoints|endpointslices\.discovery\.k8s\.io|controllerrevisions\.apps)$/.test(k),
    );
    const left = async (ns: string) =>
      (await kubectl(['-n', ns, 'get', listed.join(','), '-o', 'name'])).stdout.trim().split('\n').filter(Boolean).sort();
    // The release namespace: the JWT key (kept across uninstall, README) and the operator's Lease (written at run
    // time), beside what the test made itself (the MongoDB Secret) and every namespace's defaults.
    const notChart = ['configmap/kube-root-ca.crt', 'secret/wacloud-mongodb-test', 'serviceaccount/default'];
    const kept = [`lease.coordination.k8s.io/${RELEASE}-operator`, `secret/${RELEASE}-jwt`, ...notChart].sort();
    await eventually(async () => JSON.stringify(await left(NS)) === JSON.stringify(kept) || undefined, 120_000, 2_000).catch(
      () => undefined,
    );
    expect(await left(NS)).toEqual(kept); // (the billing Jobs, owned by the CronJob, are garbage-collected with it)
    // The instances namespace (instances.keepNamespaceOnUninstall) with its instances: B's pod still runs.
    expect(await exists(kubectl, '', 'namespace', INSTANCES_NS)).toBe(true);
    expect(await exists(kubectl, INSTANCES_NS, 'whatsappinstance', idB)).toBe(true);
    expect((await podInfo(kubectl, INSTANCES_NS, `${idB}-0`)).phase).toBe('Running');
    // Nothing cluster-wide of the release but the CRD (Helm never deletes crds/).
    const global = await kubectl(['get', 'clusterroles,clusterrolebindings', '-l', `app.kubernetes.io/instance=${RELEASE}`, '-o', 'name']);
    expect(global.stdout.trim()).toBe('');
    expect(await exists(kubectl, '', 'crd', 'whatsappinstances.wacloud.io')).toBe(true);
  }, 600_000);
});

/** The release's values: ci/cluster-values.yaml and the addresses of the test's simnet and MongoDB-wire server. */
function releaseValues(): string[] {
  return [
    '-f',
    path.join(chartDir, 'ci', 'cluster-values.yaml'),
    '--set',
    `instances.simnetUrl=${simnetUrl}`,
    // The instances' egress policy names the external MongoDB by address (unenforced here: no policy CNI).
    '--set',
    `instances.networkPolicy.egress.mongodb.cidrs={${cluster!.hostIp}/32}`,
    '--set',
    `instances.networkPolicy.egress.mongodb.port=${new URL(mongo!.uri).port}`,
  ];
}

/** The chart's monitoring objects (ServiceMonitors, PodMonitor, PrometheusRule, dashboard) rendered with the release's values. */
function monitoringObjects() {
  const on = ['serviceMonitor.enabled', 'prometheusRule.enabled', 'grafanaDashboard.enabled'].flatMap((v) => ['--set', `${v}=true`]);
  const fast = ['--set', 'serviceMonitor.interval=5s', '--set', 'serviceMonitor.scrapeTimeout=4s'];
  return helmTemplate(chartDir, RELEASE, NS, [...releaseValues(), ...on, ...fast]);
}

/**
 * Prometheus on the host with the scrape configurations of the chart's ServiceMonitors and PodMonitor. It scrapes pod
 * IPs directly: the node's CNI bridge network is routed from the host through the node's veth end (the node's
 * namespace forwards; replies to the host are not masqueraded), no apiserver proxy or port-forward.
 */
async function startMonitoring(): Promise<Prometheus> {
  const c = cluster!;
  const r = await run('ip', ['route', 'replace', c.podCidr, 'via', c.nodeIp, 'dev', c.hostVeth]); // gone with the veth at stop()
  expect(r).toEqual({ code: 0, out: '' });
  return startPrometheus(scrapeConfigsFor(await monitoringObjects(), c.controlPlane.adminKubeconfigPath));
}
