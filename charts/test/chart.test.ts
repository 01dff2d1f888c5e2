/**
 * The Helm chart (charts/wacloud) with the real helm binary (`make tools` builds it into .tools/bin): lint (values
 * checked against values.schema.json) and render with the default values and every ci/*-values.yaml, compare what must
 * not drift (the operator's RBAC with operator/deploy/rbac.yaml, the shipped CRD with crds/), check the workloads
 * (the billing CronJob, the operator and api Deployments, the instances' NetworkPolicy and pod security). Against a
 * real kube-apiserver (server-side dry runs, install and upgrade): chart-apiserver.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CRD_YAML_PATH } from '@wacloud/crds';
import { parse, parseAllDocuments } from 'yaml';
import {
  RBAC_YAML,
  HELM_VERSION,
  chartDir,
  RELEASE,
  NS,
  VALUES,
  type K8sObject,
  helmBin,
  run,
  helm,
  parseManifests,
  render,
  find,
  envOf,
} from './chart-helpers.js';

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
      'instances.extraEnv[0].value=no-name',
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
      INSTANCE_EXTRA_ENV: { value: '[]' },
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
    expect(JSON.parse(ci.INSTANCE_EXTRA_ENV.value)).toEqual([
      { name: 'WEBHOOK_LOG_RETENTION_MS', value: '2160h' },
      { name: 'SEND_RATE_PER_S', value: '2' },
    ]);
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
