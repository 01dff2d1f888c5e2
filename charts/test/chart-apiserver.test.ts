/**
 * The Helm chart (charts/wacloud) against a real kube-apiserver (testenv's control plane): server-side dry-run of every
 * manifest rendered with each values set, a real install and upgrade (the generated JWT key and MongoDB password
 * survive it), and the operator under the chart's RBAC and environment. Rendering and linting alone: chart.test.ts.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CRD_YAML_PATH } from '@wacloud/crds';
import { eventually, freePort, startControlPlane, startProcess, waitForCrds, type ControlPlane } from '@wacloud/testenv';
import {
  repoRoot,
  chartDir,
  RELEASE,
  NS,
  VALUES,
  helmBin,
  helm,
  kubectlOk,
  parseManifests,
  render,
  find,
  envOf,
  MONITORING_CRDS,
} from './chart-helpers.js';

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

  /**
   * operator/dist/main.js (make build) as the Deployment of the release in `ns` runs it: authenticated as the chart's
   * operator ServiceAccount, with `env` and the downward API's pod namespace and name. The chart's MongoDB does not run
   * here (no node): no database users to create.
   */
  const startChartOperator = async (ns: string, podName: string, env: NodeJS.ProcessEnv) => {
    const kubeconfig = await cp.serviceAccountKubeconfig(ns, 'wacloud-operator', { expirationSeconds: 3600 });
    return startProcess({
      command: process.execPath,
      args: [path.join(repoRoot, 'operator', 'dist', 'main.js')],
      env: {
        ...process.env,
        ...env,
        KUBECONFIG: kubeconfig,
        POD_NAMESPACE: ns,
        POD_NAME: podName,
        METRICS_PORT: String(await freePort()),
        INSTANCE_DATABASE_USERS: 'off',
      },
    });
  };

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
    const proc = await startChartOperator(ns, 'rbac-op', { WATCH_NAMESPACE: instancesNs, INSTANCE_IMAGE: 'wacloud/instance:test' });
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

  test("an instance reconciled by the operator with the chart's environment gets the NetworkPolicy, pod security and extra variables of the values", async () => {
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
      '--set-json',
      'instances.extraEnv=[{"name":"WEBHOOK_LOG_RETENTION_MS","value":"2160h"}]',
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
    const proc = await startChartOperator(ns, 'netpol-op', env);
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
      // The values' extra variables come after the operator's own.
      expect(pod.spec.containers[0].env.at(-1)).toEqual({ name: 'WEBHOOK_LOG_RETENTION_MS', value: '2160h' });
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
