/**
 * The Helm chart (charts/wacloud) with the real helm binary (`make tools` builds it into .tools/bin) and a real
 * kube-apiserver (testenv's control plane): lint (values checked against values.schema.json) and render with the
 * default values and every ci/*-values.yaml, compare what must not drift (the operator's RBAC with
 * operator/deploy/rbac.yaml, the shipped CRD with crds/), check the billing CronJob, server-side dry-run every rendered
 * manifest, then install and upgrade a release for real (the generated JWT key and MongoDB password must survive the
 * upgrade).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRD_YAML_PATH } from '@wacloud/crds';
import { eventually, freePort, startControlPlane, startProcess, toolsBin, waitForCrds, type ControlPlane } from '@wacloud/testenv';
import { parse, parseAllDocuments } from 'yaml';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RBAC_YAML = path.join(repoRoot, 'operator', 'deploy', 'rbac.yaml');
const HELM_VERSION = 'v3.19.0';
const chartDir = path.join(repoRoot, 'charts', 'wacloud');
const RELEASE = 'wacloud';
const NS = 'wacloud-system';

/** The values files the chart is tested with: the defaults, then every ci/*-values.yaml. */
const VALUES: Record<string, string[]> = {
  default: [],
  ci: ['-f', path.join(chartDir, 'ci', 'ci-values.yaml')],
  external: ['-f', path.join(chartDir, 'ci', 'external-values.yaml')],
};

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: any;
}

/** .tools/bin/helm; a missing binary fails the test (never a silent skip). */
function helmBin(): string {
  const bin = path.join(toolsBin(), 'helm');
  if (!existsSync(bin))
    throw new Error(
      `helm not found at ${bin}: run \`make tools\` (builds helm ${HELM_VERSION} into the tools cache and links it into .tools/bin)`,
    );
  return bin;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(bin: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(bin, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && !stderr ? err.message : '') });
    });
  });
}

/** Runs helm; throws with its output unless it exits 0. */
async function helm(args: string[]): Promise<string> {
  const r = await run(helmBin(), args);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout.slice(-3000)}`);
  return r.stdout;
}

/** Runs kubectl against the control plane; throws with its stderr unless it exits 0. */
async function kubectlOk(cp: ControlPlane, args: string[], stdin?: string): Promise<string> {
  const r = await cp.kubectl(args, stdin === undefined ? undefined : { stdin });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(`rendered YAML does not parse: ${d.errors[0]!.message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

const rendered = new Map<string, { text: string; objects: K8sObject[] }>();

/** `helm template` of one values set (cached), release RELEASE in namespace NS. */
async function render(name: string, extra: string[] = []): Promise<{ text: string; objects: K8sObject[] }> {
  const key = `${name} ${extra.join(' ')}`;
  let r = rendered.get(key);
  if (!r) {
    const text = await helm(['template', RELEASE, chartDir, '--namespace', NS, ...VALUES[name]!, ...extra]);
    r = { text, objects: parseManifests(text) };
    rendered.set(key, r);
  }
  return r;
}

const find = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} rendered; have: ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
};

const envOf = (container: any): Record<string, any> => Object.fromEntries((container.env as { name: string }[]).map((e) => [e.name, e]));

test(`helm ${HELM_VERSION} is installed in .tools/bin (make tools)`, async () => {
  expect((await helm(['version', '--template', '{{.Version}}'])).trim()).toBe(HELM_VERSION);
});

describe.each(Object.keys(VALUES))('%s values', (name) => {
  test('helm lint --strict passes', async () => {
    const out = await helm(['lint', '--strict', chartDir, '--namespace', NS, ...VALUES[name]!]);
    expect(out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  test('helm template renders; one resource per template file; common labels on everything', async () => {
    const { text, objects } = await render(name);
    expect(objects.length).toBeGreaterThan(10);
    const sources = [...text.matchAll(/^# Source: (\S+)$/gm)].map((m) => m[1]);
    expect(sources.length).toBe(objects.length);
    expect(new Set(sources).size).toBe(sources.length);
    for (const o of objects) {
      expect([o.kind, o.metadata.name, o.metadata.labels]).toEqual([
        o.kind,
        o.metadata.name,
        expect.objectContaining({
          'app.kubernetes.io/name': 'wacloud',
          'app.kubernetes.io/instance': RELEASE,
          'app.kubernetes.io/managed-by': 'Helm',
          'app.kubernetes.io/part-of': 'wacloud',
        }),
      ]);
    }
  });
});

describe('values.schema.json', () => {
  test('helm lint and template refuse a value of the wrong type, an unknown value and an unknown engine', async () => {
    for (const set of [
      'operator.replicaCount=two',
      'api.unknownSetting=1',
      'instances.engine=baileys',
      'instances.chromiumSandbox=maybe',
      'instances.seccompProfile.type=Unconfined',
      'instances.networkPolicy.egress.internet.except[0]=metadata',
    ]) {
      const r = await run(helmBin(), ['template', RELEASE, chartDir, '--namespace', NS, '--set', set]);
      expect([set, r.code, r.stderr]).toEqual([set, 1, expect.stringMatching(/values don't meet the specifications of the schema/)]);
      const lint = await run(helmBin(), ['lint', '--strict', chartDir, '--namespace', NS, '--set', set]);
      expect([set, lint.code]).toEqual([set, 1]);
    }
  });
});

describe('what must not drift', () => {
  test('the operator ClusterRole (watchAllNamespaces=true) has exactly the rules of operator/deploy/rbac.yaml', async () => {
    const deploy = parseAllDocuments(readFileSync(RBAC_YAML, 'utf8')).map((d) => d.toJS() as K8sObject);
    const expected = deploy.find((o) => o.kind === 'ClusterRole')!.rules;
    const leaseRules = deploy.find((o) => o.kind === 'Role')!.rules;
    expect(expected.length).toBeGreaterThan(3);
    for (const name of Object.keys(VALUES)) {
      const { objects } = await render(name, ['--set', 'operator.watchAllNamespaces=true']);
      expect(find(objects, 'ClusterRole', 'wacloud-operator').rules).toEqual(expected);
      expect(find(objects, 'Role', 'wacloud-operator-leader-election').rules).toEqual(leaseRules);
      const binding = find(objects, 'ClusterRoleBinding', 'wacloud-operator');
      expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'wacloud-operator' });
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'wacloud-operator', namespace: NS }]);
    }
  });

  test('operator RBAC with watchAllNamespaces=false: a Role in the instances namespace, no cluster-wide grant', async () => {
    const deploy = parseAllDocuments(readFileSync(RBAC_YAML, 'utf8')).map((d) => d.toJS() as K8sObject);
    const expected = deploy.find((o) => o.kind === 'ClusterRole')!.rules;
    for (const name of Object.keys(VALUES)) {
      const { objects } = await render(name, ['--set', 'operator.watchAllNamespaces=false']);
      // No ClusterRole of this release may grant anything on the operator's resources.
      const clusterRoles = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding');
      expect(clusterRoles.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
      // instances.namespace of these values (the external values keep instances in the release namespace).
      const instancesNs = find(objects, 'Role', 'wacloud-api').metadata.namespace;
      expect(instancesNs).toBe(name === 'external' ? NS : 'wacloud-instances');
      const role = find(objects, 'Role', 'wacloud-operator');
      expect(role.metadata.namespace).toBe(instancesNs);
      expect(role.rules).toEqual(expected);
      const binding = find(objects, 'RoleBinding', 'wacloud-operator');
      expect(binding.metadata.namespace).toBe(instancesNs);
      expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'wacloud-operator' });
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'wacloud-operator', namespace: NS }]);
      // The Lease stays in the operator's own namespace.
      expect(find(objects, 'Role', 'wacloud-operator-leader-election').metadata.namespace).toBe(NS);
    }
  });

  test('the chart ships crds/whatsappinstances.wacloud.io.yaml unchanged', async () => {
    const shipped = path.join(chartDir, 'crds', 'whatsappinstances.wacloud.io.yaml');
    expect(readFileSync(shipped)).toEqual(readFileSync(CRD_YAML_PATH));
    const withCrds = parseManifests(await helm(['template', RELEASE, chartDir, '--namespace', NS, '--include-crds']));
    const crds = withCrds.filter((o) => o.kind === 'CustomResourceDefinition');
    expect(crds).toEqual([parse(readFileSync(CRD_YAML_PATH, 'utf8'))]);
  });

  test("the api's Role in the instances namespace: whatsappinstances get/list/watch/create/patch/delete, secrets get", async () => {
    const { objects } = await render('default');
    const role = find(objects, 'Role', 'wacloud-api');
    expect(role.metadata.namespace).toBe('wacloud-instances');
    expect(role.rules).toEqual([
      { apiGroups: ['wacloud.io'], resources: ['whatsappinstances'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
    ]);
    expect(find(objects, 'RoleBinding', 'wacloud-api').subjects).toEqual([{ kind: 'ServiceAccount', name: 'wacloud-api', namespace: NS }]);
  });
});

describe('workloads', () => {
  test('billing CronJob: 00:00 Etc/UTC, Forbid, the command of billing.command in the api image', async () => {
    const { objects } = await render('default');
    const cj = find(objects, 'CronJob', 'wacloud-billing');
    expect(cj.spec).toMatchObject({
      schedule: '0 0 * * *',
      timeZone: 'Etc/UTC',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: expect.any(Number),
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
    });
    const c = cj.spec.jobTemplate.spec.template.spec.containers[0];
    expect(c.command).toEqual(['node', 'dist/billing-cli.js', 'run']);
    expect(c.image).toBe(find(objects, 'Deployment', 'wacloud-api').spec.template.spec.containers[0].image);
    const env = envOf(c);
    expect(env.MONGODB_URI.valueFrom.secretKeyRef).toEqual({ name: 'wacloud-mongodb', key: 'mongodb-uri' });
    const custom = await render('default', ['--set-json', 'billing.command=["node","dist/main.js","billing","run"]']);
    expect(find(custom.objects, 'CronJob', 'wacloud-billing').spec.jobTemplate.spec.template.spec.containers[0].command).toEqual([
      'node',
      'dist/main.js',
      'billing',
      'run',
    ]);
  });

  test('operator Deployment: 2 replicas, leader election identity from the downward API, probes, non-root read-only', async () => {
    const { objects } = await render('default');
    const d = find(objects, 'Deployment', 'wacloud-operator');
    expect(d.spec.replicas).toBe(2);
    const pod = d.spec.template.spec;
    expect(pod.serviceAccountName).toBe('wacloud-operator');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
    const c = pod.containers[0];
    const env = envOf(c);
    expect(env.POD_NAME.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(env.POD_NAMESPACE.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
    expect(env.METRICS_PORT.value).toBe('8080');
    expect(env.WATCH_NAMESPACE.value).toBe('wacloud-instances');
    // The instances' NetworkPolicies must admit the api pods the chart runs.
    const apiLabels = find(objects, 'Deployment', 'wacloud-api').spec.template.metadata.labels;
    for (const pair of env.API_POD_SELECTOR.value.split(',')) {
      const [k, v] = pair.split('=');
      expect([k, apiLabels[k]]).toEqual([k, v]);
    }
    expect(env.API_NAMESPACE_SELECTOR.value).toBe(`kubernetes.io/metadata.name=${NS}`);
    expect(JSON.parse(env.DEFAULT_RESOURCES.value)).toEqual({ requests: { cpu: '100m', memory: '512Mi' }, limits: { memory: '2Gi' } });
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(c.resources.requests).toBeDefined();
    expect(find(objects, 'PodDisruptionBudget', 'wacloud-operator').spec.minAvailable).toBe(1);
    expect(find(objects, 'Service', 'wacloud-operator-metrics').spec.ports[0]).toMatchObject({ name: 'metrics', port: 8080 });
  });

  test("instances' NetworkPolicy and pod security: the chart hands the operator its own pods' labels and the values", async () => {
    const { objects } = await render('default');
    const env = envOf(find(objects, 'Deployment', 'wacloud-operator').spec.template.spec.containers[0]);
    const labelsOf = (v: string) => Object.fromEntries(v.split(',').map((p) => p.split('=') as [string, string]));
    // The selectors name the pods the chart runs: the operator (session probe) and the bundled MongoDB on its port.
    expect(find(objects, 'Deployment', 'wacloud-operator').spec.template.metadata.labels).toMatchObject(
      labelsOf(env.OPERATOR_POD_SELECTOR.value),
    );
    const mongo = find(objects, 'StatefulSet', 'wacloud-mongodb');
    expect(mongo.spec.template.metadata.labels).toMatchObject(labelsOf(env.EGRESS_MONGODB_POD_SELECTOR.value));
    expect(env.EGRESS_MONGODB_NAMESPACE_SELECTOR.value).toBe(`kubernetes.io/metadata.name=${NS}`);
    expect(Number(env.EGRESS_MONGODB_PORT.value)).toBe(mongo.spec.template.spec.containers[0].ports[0].containerPort);
    expect(env).toMatchObject({
      INSTANCE_EGRESS_POLICY: { value: 'true' },
      EGRESS_DNS_POD_SELECTOR: { value: 'k8s-app=kube-dns' },
      EGRESS_DNS_NAMESPACE_SELECTOR: { value: 'kubernetes.io/metadata.name=kube-system' },
      EGRESS_INTERNET_CIDRS: { value: '0.0.0.0/0,::/0' },
      EGRESS_INTERNET_EXCEPT: { value: '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,169.254.0.0/16,fc00::/7,fe80::/10' },
      EGRESS_INTERNET_PORTS: { value: '443' },
      METRICS_SCRAPER_POD_SELECTOR: { value: 'app.kubernetes.io/name=prometheus' },
      METRICS_SCRAPER_NAMESPACE_SELECTOR: { value: 'kubernetes.io/metadata.name=monitoring' },
      INSTANCE_SECCOMP_PROFILE: { value: '{"type":"RuntimeDefault"}' },
      INSTANCE_CHROMIUM_SANDBOX: { value: 'auto' },
    });

    // Instances reach the api pods on their port (they deliver their events to its ingest), at the URL the api gives them.
    const apiRule = {
      to: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NS } },
          podSelector: { matchLabels: find(objects, 'Deployment', 'wacloud-api').spec.selector.matchLabels },
        },
      ],
      ports: [
        { protocol: 'TCP', port: find(objects, 'Deployment', 'wacloud-api').spec.template.spec.containers[0].ports[0].containerPort },
      ],
    };
    expect(JSON.parse(env.EGRESS_EXTRA_RULES.value)).toEqual([apiRule]);
    const apiEnv = envOf(find(objects, 'Deployment', 'wacloud-api').spec.template.spec.containers[0]);
    const apiService = find(objects, 'Service', 'wacloud-api');
    expect(apiEnv.API_EVENTS_URL.value).toBe(`http://wacloud-api.${NS}.svc:${apiService.spec.ports[0].port}`);

    const ci = envOf(find((await render('ci')).objects, 'Deployment', 'wacloud-operator').spec.template.spec.containers[0]);
    expect(JSON.parse(ci.INSTANCE_SECCOMP_PROFILE.value)).toEqual({
      type: 'Localhost',
      localhostProfile: 'profiles/wacloud-chromium.json',
    });
    expect(ci.INSTANCE_CHROMIUM_SANDBOX.value).toBe('on');
    expect(ci.EGRESS_DNS_CIDRS.value).toBe('169.254.20.10/32');
    expect(ci.EGRESS_INTERNET_EXCEPT.value.split(',').at(-1)).toBe('203.0.113.0/24');
    expect(ci.METRICS_SCRAPER_POD_SELECTOR.value).toBe('');
    expect(JSON.parse(ci.EGRESS_EXTRA_RULES.value)).toEqual([
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'wacloud-system' } },
            podSelector: { matchLabels: { 'app.kubernetes.io/name': 'simnet' } },
          },
        ],
        ports: [{ protocol: 'TCP', port: 7300 }],
      },
      apiRule,
    ]);

    // An external MongoDB is reached by the addresses given; without any, rendering fails and says what to set.
    const ext = envOf(find((await render('external')).objects, 'Deployment', 'wacloud-operator').spec.template.spec.containers[0]);
    expect([ext.EGRESS_MONGODB_CIDRS.value, ext.EGRESS_MONGODB_PORT.value, ext.EGRESS_MONGODB_POD_SELECTOR.value]).toEqual([
      '198.51.100.20/32',
      '27018',
      '',
    ]);
    const noAddress = await run(helmBin(), [
      'template',
      RELEASE,
      chartDir,
      '--namespace',
      NS,
      ...VALUES.external!,
      '--set-json',
      'instances.networkPolicy.egress.mongodb.cidrs=[]',
    ]);
    expect([noAddress.code, noAddress.stderr]).toEqual([1, expect.stringMatching(/instances\.networkPolicy\.egress\.mongodb\.cidrs/)]);
    const off = await render('external', ['--set-json', 'instances.networkPolicy.egress={"enabled":false,"mongodb":{"cidrs":[]}}']);
    expect(envOf(find(off.objects, 'Deployment', 'wacloud-operator').spec.template.spec.containers[0]).INSTANCE_EGRESS_POLICY.value).toBe(
      'false',
    );
  });

  test('api Deployment: kubernetes provider on the instances namespace, secrets from Secrets', async () => {
    const { objects } = await render('default');
    const env = envOf(find(objects, 'Deployment', 'wacloud-api').spec.template.spec.containers[0]);
    expect(env.PROVIDER.value).toBe('kubernetes');
    expect(env.K8S_NAMESPACE.value).toBe('wacloud-instances');
    expect(env.PRICE_MONTHLY_MINOR.value).toBe('1500');
    expect(env.CURRENCY.value).toBe('USD');
    expect(env.JWT_SECRET.valueFrom.secretKeyRef).toEqual({ name: 'wacloud-jwt', key: 'jwt-secret' });
    expect(env.MONGODB_URI.valueFrom.secretKeyRef).toEqual({ name: 'wacloud-mongodb', key: 'mongodb-uri' });
    const jwt = Buffer.from(find(objects, 'Secret', 'wacloud-jwt').data['jwt-secret'], 'base64').toString();
    expect(jwt.length).toBeGreaterThanOrEqual(32);

    const ext = await render('external');
    const extEnv = envOf(find(ext.objects, 'Deployment', 'wacloud-api').spec.template.spec.containers[0]);
    expect(extEnv.JWT_SECRET.valueFrom.secretKeyRef).toEqual({ name: 'wacloud-jwt-external', key: 'key' });
    expect(extEnv.MONGODB_URI.valueFrom.secretKeyRef).toEqual({ name: 'wacloud-mongodb-external', key: 'uri' });
    expect(extEnv.DASHBOARD_DIR.value).not.toBe('');
    expect(ext.objects.filter((o) => ['Secret', 'StatefulSet', 'CronJob', 'NetworkPolicy', 'Namespace'].includes(o.kind))).toEqual([]);
    const opEnv = envOf(find(ext.objects, 'Deployment', 'wacloud-operator').spec.template.spec.containers[0]);
    expect(opEnv.DEFAULT_MONGODB_URI.valueFrom.secretKeyRef).toEqual({ name: 'wacloud-mongodb-external', key: 'uri' });
    expect(opEnv.API_NAMESPACE_SELECTOR.value).toBe('');
  });

  test('without MongoDB (bundled or external) rendering fails with a clear message', async () => {
    const r = await run(helmBin(), ['template', RELEASE, chartDir, '--set', 'mongodb.enabled=false']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/mongodb\.external\.existingSecret/);
  });

  test('ci values: Ingress, ServiceMonitors, PodMonitor, PrometheusRule, dashboard, NetworkPolicies', async () => {
    const { objects } = await render('ci');
    expect(
      objects
        .filter((o) => o.kind === 'ServiceMonitor')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['wacloud-api', 'wacloud-operator']);
    expect(objects.filter((o) => ['PodMonitor', 'PrometheusRule'].includes(o.kind)).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'PodMonitor/wacloud-instances',
      'PrometheusRule/wacloud-alerts',
    ]);
    expect(find(objects, 'ConfigMap', 'wacloud-grafana-dashboard').metadata).toMatchObject({
      namespace: NS,
      labels: { grafana_dashboard: '1' },
      annotations: { grafana_folder: 'wacloud' },
    });
    const netpols = objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name);
    expect(netpols.sort()).toEqual(['wacloud-api', 'wacloud-dashboard', 'wacloud-mongodb']);
    const mongo = find(objects, 'NetworkPolicy', 'wacloud-mongodb');
    expect(mongo.spec.ingress[0].from).toContainEqual({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'wacloud-instances' } },
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'wacloud-instance' } },
    });
    // The api's public port is open; its metrics port admits only the scraper.
    const api = find(objects, 'NetworkPolicy', 'wacloud-api');
    expect(api.spec.ingress).toEqual([
      { ports: [{ port: 'http', protocol: 'TCP' }] },
      {
        ports: [{ port: 'metrics', protocol: 'TCP' }],
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } } }],
      },
    ]);
    // The operator manages the instances' database users, so it reaches MongoDB too.
    const operator = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'wacloud-operator');
    expect(mongo.spec.ingress[0].from).toContainEqual({ podSelector: { matchLabels: operator!.spec.selector.matchLabels } });
    const ing = find(objects, 'Ingress', 'wacloud');
    expect(ing.spec.rules[0].http.paths.map((p: any) => `${p.path}->${p.backend.service.name}`)).toEqual([
      '/v1->wacloud-api',
      '/health->wacloud-api',
      '/->wacloud-dashboard',
    ]);
  });
});

describe('against a real kube-apiserver', () => {
  let cp: ControlPlane;

  beforeAll(async () => {
    helmBin(); // fail fast, with the `make tools` message, before starting a control plane
    cp = await startControlPlane();
    await kubectlOk(cp, ['apply', '--server-side', '-f', CRD_YAML_PATH]);
    // The Prometheus Operator's CRDs are not in a bare cluster: minimal ones for the monitoring.coreos.com/v1 kinds the chart uses.
    for (const crd of MONITORING_CRDS) await kubectlOk(cp, ['apply', '--server-side', '-f', '-'], crd);
    await waitForCrds(cp, [
      'whatsappinstances.wacloud.io',
      'servicemonitors.monitoring.coreos.com',
      'podmonitors.monitoring.coreos.com',
      'prometheusrules.monitoring.coreos.com',
    ]);
    await kubectlOk(cp, ['create', 'namespace', NS]);
  }, 120_000);

  afterAll(async () => {
    await cp?.stop();
  });

  test.each(Object.keys(VALUES))('kubectl apply --dry-run=server accepts every manifest rendered with the %s values', async (name) => {
    const { objects } = await render(name);
    // Namespaced objects need their namespace to exist: the chart's Namespaces are created for real first.
    for (const ns of objects.filter((o) => o.kind === 'Namespace')) await kubectlOk(cp, ['apply', '-f', '-'], JSON.stringify(ns));
    const file = path.join(cp.dir, `rendered-${name}.yaml`);
    writeFileSync(file, objects.map((o) => JSON.stringify(o)).join('\n---\n'));
    const r = await cp.kubectl(['apply', '--dry-run=server', '-f', file]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout.trim().split('\n')).toHaveLength(objects.length);
  });

  test('helm install, then upgrade: every value the chart generates (JWT key, MongoDB password) is kept', async () => {
    // A namespace of its own: the dry runs above created the default instances namespace outside any release.
    const ns = 'wacloud-install';
    const instancesNs = `${ns}-instances`;
    const kc = ['--kubeconfig', cp.adminKubeconfigPath, '--namespace', ns];
    // What the chart generates: the Secrets whose data differ between two renders without a cluster (no lookup).
    const renderSecrets = async () =>
      parseManifests(await helm(['template', RELEASE, chartDir, '--namespace', ns, '--set', `instances.namespace=${instancesNs}`]))
        .filter((o) => o.kind === 'Secret')
        .map((o) => ({ name: o.metadata.name, data: o.data as Record<string, string> }));
    const [first, second] = [await renderSecrets(), await renderSecrets()];
    const generated = first
      .filter((a) => JSON.stringify(a.data) !== JSON.stringify(second.find((b) => b.name === a.name)!.data))
      .map((a) => a.name);
    expect(generated).toEqual(expect.arrayContaining(['wacloud-jwt', 'wacloud-mongodb']));
    await helm(['install', RELEASE, chartDir, ...kc, '--create-namespace', '--set', `instances.namespace=${instancesNs}`]);
    const secret = async (name: string) =>
      JSON.parse(await kubectlOk(cp, ['get', 'secret', name, '-n', ns, '-o', 'json'])).data as Record<string, string>;
    const secrets = async () => Object.fromEntries(await Promise.all(generated.map(async (n) => [n, await secret(n)] as const)));
    const installed = await secrets();
    const jwt = installed['wacloud-jwt']!;
    const mongo = installed['wacloud-mongodb']!;
    expect(Buffer.from(jwt['jwt-secret']!, 'base64').toString()).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(Buffer.from(mongo['mongodb-uri']!, 'base64').toString()).toContain(
      `:${Buffer.from(mongo['mongodb-root-password']!, 'base64').toString()}@`,
    );
    await helm(['upgrade', RELEASE, chartDir, ...kc, '--reuse-values', '--set', 'api.priceMonthlyMinor=2000']);
    expect(await secrets()).toEqual(installed);
    // A server-side dry run of the next upgrade looks the Secrets up too: it shows no new values either.
    const dry = parseManifests(
      await helm(['upgrade', RELEASE, chartDir, ...kc, '--reuse-values', '--dry-run=server', '-o', 'json']).then(
        (out) => (JSON.parse(out) as { manifest: string }).manifest,
      ),
    );
    for (const name of generated) expect([name, find(dry, 'Secret', name).data]).toEqual([name, installed[name]]);
    const api = JSON.parse(await kubectlOk(cp, ['get', 'deployment', 'wacloud-api', '-n', ns, '-o', 'json']));
    expect(envOf(api.spec.template.spec.containers[0]).PRICE_MONTHLY_MINOR.value).toBe('2000');
    // watchAllNamespaces=false (the default): every verb the operator uses is allowed in the instances namespace and
    // denied in any other (the release namespace, default); the Lease only in the release namespace.
    const operatorCan = async (verb: string, resource: string, namespace: string, sub?: string) =>
      (
        await cp.kubectl([
          'auth',
          'can-i',
          verb,
          resource,
          ...(sub ? [`--subresource=${sub}`] : []),
          '-n',
          namespace,
          `--as=system:serviceaccount:${ns}:wacloud-operator`,
        ])
      ).stdout.trim();
    const matrix: [string, string, string?][] = [
      ['watch', 'whatsappinstances.wacloud.io'],
      ['patch', 'whatsappinstances.wacloud.io'],
      ['patch', 'whatsappinstances.wacloud.io', 'status'],
      ['update', 'whatsappinstances.wacloud.io', 'finalizers'],
      ['list', 'statefulsets.apps'],
      ['patch', 'statefulsets.apps'],
      ['get', 'secrets'],
      ['patch', 'secrets'],
      ['watch', 'services'],
      ['patch', 'networkpolicies.networking.k8s.io'],
      ['create', 'events'],
    ];
    const seen: string[] = [];
    for (const [verb, resource, sub] of matrix) {
      for (const namespace of [instancesNs, ns, 'default']) {
        seen.push(`${verb} ${resource}${sub ? '/' + sub : ''} -n ${namespace}: ${await operatorCan(verb, resource, namespace, sub)}`);
      }
    }
    expect(seen).toEqual(
      matrix.flatMap(([verb, resource, sub]) =>
        [instancesNs, ns, 'default'].map(
          (namespace) => `${verb} ${resource}${sub ? '/' + sub : ''} -n ${namespace}: ${namespace === instancesNs ? 'yes' : 'no'}`,
        ),
      ),
    );
    expect(await operatorCan('update', 'leases.coordination.k8s.io', ns)).toBe('yes');
    expect(await operatorCan('update', 'leases.coordination.k8s.io', instancesNs)).toBe('no');
    const apiCanI = await cp.kubectl([
      'auth',
      'can-i',
      'delete',
      'whatsappinstances.wacloud.io',
      '-n',
      instancesNs,
      `--as=system:serviceaccount:${ns}:wacloud-api`,
    ]);
    expect(apiCanI.stdout.trim()).toBe('yes');
    const apiCannot = await cp.kubectl(['auth', 'can-i', 'get', 'secrets', '-n', ns, `--as=system:serviceaccount:${ns}:wacloud-api`]);
    expect(apiCannot.stdout.trim()).toBe('no');
    await kubectlOk(cp, ['get', 'cronjob', 'wacloud-billing', '-n', ns]);
    await helm(['uninstall', RELEASE, ...kc]);
    // helm.sh/resource-policy: keep — the signing key, the database password and the instances' namespace survive.
    expect(await secrets()).toEqual(installed);
    await kubectlOk(cp, ['get', 'namespace', instancesNs]);
    expect((await cp.kubectl(['get', 'deployment', 'wacloud-api', '-n', ns])).code).not.toBe(0);
    // …and a new install adopts them (the MongoDB volume's root user still matches).
    const again = ['--set', `instances.namespace=${instancesNs}`, '--set', 'instances.createNamespace=false'];
    await helm(['install', RELEASE, chartDir, ...kc, ...again]);
    expect(await secrets()).toEqual(installed);
    await helm(['uninstall', RELEASE, ...kc]);
  }, 120_000);

  test("the operator under the chart's namespaced RBAC (watchAllNamespaces=false) reconciles in the instances namespace", async () => {
    const ns = 'wacloud-rbac';
    const instancesNs = `${ns}-instances`;
    const kc = ['--kubeconfig', cp.adminKubeconfigPath, '--namespace', ns];
    await helm(['install', RELEASE, chartDir, ...kc, '--create-namespace', '--set', `instances.namespace=${instancesNs}`]);
    // operator/dist/main.js (make build), authenticated as the chart's operator ServiceAccount, as the Deployment runs it.
    const kubeconfig = await cp.serviceAccountKubeconfig(ns, 'wacloud-operator', { expirationSeconds: 3600 });
    const proc = startProcess({
      command: process.execPath,
      args: [path.join(repoRoot, 'operator', 'dist', 'main.js')],
      env: {
        ...process.env,
        KUBECONFIG: kubeconfig,
        WATCH_NAMESPACE: instancesNs,
        POD_NAMESPACE: ns,
        POD_NAME: 'rbac-op',
        METRICS_PORT: String(await freePort()),
        INSTANCE_IMAGE: 'wacloud/instance:test',
        // The chart's MongoDB does not run here (no node): no database users to create.
        INSTANCE_DATABASE_USERS: 'off',
      },
    });
    try {
      const wai = (name: string) =>
        JSON.stringify({ apiVersion: 'wacloud.io/v1alpha1', kind: 'WhatsAppInstance', metadata: { name }, spec: { owner: 't' } });
      await kubectlOk(cp, ['apply', '-n', instancesNs, '-f', '-'], wai('rbac-line'));
      const reconciled = await eventually(async () => {
        const r = await cp.kubectl(['get', 'wai', 'rbac-line', '-n', instancesNs, '-o', 'json']);
        const w = r.code === 0 ? JSON.parse(r.stdout) : undefined;
        return w?.status?.conditions?.find((c: { type: string }) => c.type === 'Reconciled')?.status === 'True' ? w : undefined;
      }, 60_000).catch((err: Error) => {
        throw new Error(`not reconciled: ${err.message}\n${proc.output().slice(-3000)}`);
      });
      expect(reconciled.metadata.finalizers).toContain('wacloud.io/finalizer');
      // Its StatefulSet and Secret, and the namespace's one headless Service and one NetworkPolicy.
      await kubectlOk(cp, ['get', 'statefulset', 'rbac-line', '-n', instancesNs]);
      await kubectlOk(cp, ['get', 'service', 'wacloud-instances', '-n', instancesNs]);
      await kubectlOk(cp, ['get', 'secret', 'rbac-line-internal', '-n', instancesNs]);
      await kubectlOk(cp, ['get', 'networkpolicy', 'wacloud-instances', '-n', instancesNs]);
      // No permission error in its log: everything it lists, watches and applies is inside the granted namespaces.
      expect(proc.output()).not.toMatch(/forbidden/i);
    } finally {
      await proc.stop();
      await helm(['uninstall', RELEASE, ...kc]);
    }
  }, 120_000);

  test("an instance reconciled by the operator with the chart's environment gets the NetworkPolicy and pod security of the values", async () => {
    const ns = 'wacloud-netpol';
    const instancesNs = `${ns}-instances`;
    const kc = ['--kubeconfig', cp.adminKubeconfigPath, '--namespace', ns];
    await helm([
      'install',
      RELEASE,
      chartDir,
      ...kc,
      '--create-namespace',
      '--set',
      `instances.namespace=${instancesNs}`,
      '--set-json',
      'instances.seccompProfile={"type":"Localhost","localhostProfile":"profiles/wacloud-chromium.json"}',
      '--set',
      'instances.chromiumSandbox=on',
    ]);
    const get = async (kind: string, name: string, namespace: string) =>
      JSON.parse(await kubectlOk(cp, ['get', kind, name, '-n', namespace, '-o', 'json']));
    // The operator's environment exactly as the installed Deployment gives it (Secret references resolved), except
    // what the downward API and the test set.
    const deployment = await get('deployment', 'wacloud-operator', ns);
    const env: Record<string, string> = {};
    for (const e of deployment.spec.template.spec.containers[0].env as any[]) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.secretKeyRef) {
        const ref = e.valueFrom.secretKeyRef;
        env[e.name] = Buffer.from((await get('secret', ref.name, ns)).data[ref.key], 'base64').toString();
      }
    }
    const kubeconfig = await cp.serviceAccountKubeconfig(ns, 'wacloud-operator', { expirationSeconds: 3600 });
    const proc = startProcess({
      command: process.execPath,
      args: [path.join(repoRoot, 'operator', 'dist', 'main.js')],
      env: {
        ...process.env,
        ...env,
        KUBECONFIG: kubeconfig,
        POD_NAMESPACE: ns,
        POD_NAME: 'netpol-op',
        METRICS_PORT: String(await freePort()),
        // The chart's MongoDB does not run here (no node): no database users to create.
        INSTANCE_DATABASE_USERS: 'off',
      },
    });
    try {
      const wai = { apiVersion: 'wacloud.io/v1alpha1', kind: 'WhatsAppInstance', metadata: { name: 'guarded' }, spec: { owner: 't' } };
      await kubectlOk(cp, ['apply', '-n', instancesNs, '-f', '-'], JSON.stringify(wai));
      const np = await eventually(async () => {
        // One policy for every instance pod of the namespace, written by the operator before the first StatefulSet.
        const r = await cp.kubectl(['get', 'networkpolicy', 'wacloud-instances', '-n', instancesNs, '-o', 'json']);
        return r.code === 0 ? JSON.parse(r.stdout) : undefined;
      }, 60_000).catch((err: Error) => {
        throw new Error(`no NetworkPolicy: ${err.message}\n${proc.output().slice(-3000)}`);
      });
      const podLabels = async (kind: string, name: string) => (await get(kind, name, ns)).spec.template.metadata.labels;
      const releaseNs = { matchLabels: { 'kubernetes.io/metadata.name': ns } };
      // The release namespace carries the label the policy selects it by.
      expect((await get('namespace', ns, '')).metadata.labels).toMatchObject(releaseNs.matchLabels);
      expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      const [dns, mongo, internet, ...more] = np.spec.egress;
      // …and the api pods on their port (the instance's events go to its ingest).
      expect(more).toEqual([
        {
          to: [
            {
              namespaceSelector: releaseNs,
              podSelector: { matchLabels: (await get('deployment', 'wacloud-api', ns)).spec.selector.matchLabels },
            },
          ],
          ports: [{ protocol: 'TCP', port: 3000 }],
        },
      ]);
      expect(dns.to).toEqual([
        {
          podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
        },
      ]);
      // Egress to MongoDB selects the chart's MongoDB pods, in the release namespace, on their port.
      expect(mongo.ports).toEqual([{ protocol: 'TCP', port: 27017 }]);
      expect(mongo.to).toHaveLength(1);
      expect(mongo.to[0].namespaceSelector).toEqual(releaseNs);
      expect(await podLabels('statefulset', 'wacloud-mongodb')).toMatchObject(mongo.to[0].podSelector.matchLabels);
      expect(internet).toEqual({
        to: [
          { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'] } },
          { ipBlock: { cidr: '::/0', except: ['fc00::/7', 'fe80::/10'] } },
        ],
        ports: [{ protocol: 'TCP', port: 443 }],
      });
      // Ingress: the public port only from the chart's api and operator pods, the metrics port only from Prometheus.
      const from = (port: number) => np.spec.ingress.find((r: any) => r.ports.some((p: any) => p.port === port)).from;
      const [apiPeer, operatorPeer] = from(8080);
      expect(from(8080)).toHaveLength(2);
      expect(await podLabels('deployment', 'wacloud-api')).toMatchObject(apiPeer.podSelector.matchLabels);
      expect(await podLabels('deployment', 'wacloud-operator')).toMatchObject(operatorPeer.podSelector.matchLabels);
      expect([apiPeer.namespaceSelector, operatorPeer.namespaceSelector]).toEqual([releaseNs, releaseNs]);
      expect(from(9090)).toEqual([
        {
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
        },
      ]);
      // The instance's pod (made by the StatefulSet controller) is the one selected, with Chromium's seccomp profile.
      const pod = await eventually(async () => {
        const r = await cp.kubectl(['get', 'pod', 'guarded-0', '-n', instancesNs, '-o', 'json']);
        return r.code === 0 ? JSON.parse(r.stdout) : undefined;
      }, 60_000);
      expect(pod.metadata.labels).toMatchObject(np.spec.podSelector.matchLabels);
      expect(pod.spec.securityContext.seccompProfile).toEqual({ type: 'Localhost', localhostProfile: 'profiles/wacloud-chromium.json' });
      expect(envOf(pod.spec.containers[0]).WACLOUD_CHROMIUM_SANDBOX.value).toBe('on');
      expect(pod.spec.containers[0].securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
    } finally {
      await proc.stop();
      await helm(['uninstall', RELEASE, ...kc]);
    }
  }, 120_000);
});

/** A minimal CRD (any content) for the Prometheus Operator's monitoring.coreos.com/v1 `kind`. */
const monitoringCrd = (kind: string) =>
  JSON.stringify({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${kind.toLowerCase()}s.monitoring.coreos.com` },
    spec: {
      group: 'monitoring.coreos.com',
      scope: 'Namespaced',
      names: { kind, listKind: `${kind}List`, plural: `${kind.toLowerCase()}s`, singular: kind.toLowerCase() },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  });
const MONITORING_CRDS = ['ServiceMonitor', 'PodMonitor', 'PrometheusRule'].map(monitoringCrd);
