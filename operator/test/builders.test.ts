/** Pure builders of an instance's children, tested without a cluster (like CloudNativePG's pkg/specs tests). */
import { INTERNAL_KEY_SECRET_KEY, LABELS, instancePodHost, type WhatsAppInstance } from '@wacloud/crds';
import {
  MONGODB_URI_SECRET_KEY,
  buildInstancesService,
  buildInternalSecret,
  buildLegacyService,
  buildNetworkPolicy,
  buildStatefulSet,
  RESERVED_INSTANCE_ENV,
  databaseName,
  ipBlocks,
  type NetworkPolicyOptions,
  type StatefulSetOptions,
} from '../src/builders/index.js';

const wai = (over: Partial<WhatsAppInstance['spec']> = {}, name = 'sales'): WhatsAppInstance => ({
  apiVersion: 'wacloud.io/v1alpha1',
  kind: 'WhatsAppInstance',
  metadata: { name, namespace: 'tenants', uid: 'uid-1', generation: 3 },
  spec: { owner: 'tenant-a', ...over },
});
const opts: StatefulSetOptions = {
  image: 'wacloud/instance:1.0',
  imagePullPolicy: 'IfNotPresent',
  defaultResources: { requests: { cpu: '100m', memory: '512Mi' }, limits: { memory: '2Gi' } },
  shmSize: '512Mi',
  simnetUrl: 'http://simnet:7300',
  seccompProfile: { type: 'RuntimeDefault' },
  chromiumSandbox: 'auto',
};
const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', 'fc00::/7', 'fe80::/10'];
const npOpts: NetworkPolicyOptions = {
  apiPodSelector: { 'app.kubernetes.io/component': 'api' },
  apiNamespaceSelector: { 'kubernetes.io/metadata.name': 'wacloud-system' },
  operatorPodSelector: { 'app.kubernetes.io/component': 'operator' },
  metricsScraper: {
    podSelector: { 'app.kubernetes.io/name': 'prometheus' },
    namespaceSelector: { 'kubernetes.io/metadata.name': 'monitoring' },
  },
  egress: {
    dns: { podSelector: { 'k8s-app': 'kube-dns' }, namespaceSelector: { 'kubernetes.io/metadata.name': 'kube-system' }, cidrs: [] },
    mongodb: {
      peer: {
        podSelector: { 'app.kubernetes.io/component': 'mongodb' },
        namespaceSelector: { 'kubernetes.io/metadata.name': 'wacloud-system' },
      },
      cidrs: [],
      port: 27017,
    },
    internet: { cidrs: ['0.0.0.0/0', '::/0'], except: PRIVATE, ports: [443] },
    extraRules: [],
  },
};
const env = (s: ReturnType<typeof buildStatefulSet>) =>
  Object.fromEntries(s.spec!.template.spec!.containers[0]!.env!.map((e) => [e.name, e.value ?? e.valueFrom]));

describe('every child', () => {
  const children = [
    buildInternalSecret(wai(), { existingKey: undefined, defaultMongoUri: 'mongodb://m:27017/' }),
    buildLegacyService(wai()),
    buildStatefulSet(wai(), opts),
  ];
  test('is owned by the instance as its controller, in its namespace, with the owner label', () => {
    for (const c of children) {
      expect(c.metadata!.namespace).toBe('tenants');
      expect(c.metadata!.ownerReferences).toEqual([
        {
          apiVersion: 'wacloud.io/v1alpha1',
          kind: 'WhatsAppInstance',
          name: 'sales',
          uid: 'uid-1',
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(c.metadata!.labels![LABELS.OWNER]).toBe('tenant-a');
      expect(c.metadata!.labels![LABELS.INSTANCE]).toBe('sales');
    }
  });
  test('names are distinct per kind', () => {
    expect(new Set(children.map((c) => `${c.kind}/${c.metadata!.name}`)).size).toBe(children.length);
  });
});

describe('StatefulSet', () => {
  test('one replica, zero when suspended; the claim template is the same either way', () => {
    const on = buildStatefulSet(wai(), opts);
    const off = buildStatefulSet(wai({ suspended: true }), opts);
    expect(on.spec!.replicas).toBe(1);
    expect(off.spec!.replicas).toBe(0);
    expect(off.spec!.volumeClaimTemplates).toEqual(on.spec!.volumeClaimTemplates);
    expect(on.spec!.persistentVolumeClaimRetentionPolicy).toEqual({ whenScaled: 'Retain', whenDeleted: 'Delete' });
  });
  test("the instance's restart request (wacloud.io/restarted-at) goes onto the pod template; none without one", () => {
    expect(buildStatefulSet(wai(), opts).spec!.template.metadata!.annotations).toBeUndefined();
    const at = '2026-12-01T06:00:00.000Z';
    const asked = { ...wai(), metadata: { ...wai().metadata, annotations: { 'wacloud.io/restarted-at': at } } };
    expect(buildStatefulSet(asked, opts).spec!.template.metadata!.annotations).toEqual({ 'wacloud.io/restarted-at': at });
  });

  test('session volume, memory-backed /dev/shm, probes on /health, non-root', () => {
    const s = buildStatefulSet(wai({ storage: { size: '2Gi', storageClassName: 'fast' } }), opts);
    const pvc = s.spec!.volumeClaimTemplates![0]!;
    expect(pvc.spec!.resources!.requests).toEqual({ storage: '2Gi' });
    expect(pvc.spec!.storageClassName).toBe('fast');
    const pod = s.spec!.template.spec!;
    expect(pod.volumes!.find((v) => v.name === 'dshm')!.emptyDir).toEqual({ medium: 'Memory', sizeLimit: '512Mi' });
    const c = pod.containers[0]!;
    expect(c.volumeMounts!.map((m) => m.mountPath).sort()).toEqual(['/data', '/dev/shm', '/etc/wacloud/internal', '/tmp']);
    for (const p of [c.startupProbe!, c.readinessProbe!]) expect(p.httpGet).toEqual({ path: '/health', port: 'public' });
    expect(c.livenessProbe!.httpGet).toEqual({ path: '/health/live', port: 'public' });
    expect(pod.securityContext!.runAsNonRoot).toBe(true);
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(c.ports!.map((p) => p.name)).toEqual(['public', 'internal', 'metrics']);
    expect(s.spec!.selector.matchLabels).toEqual({ [LABELS.NAME]: 'wacloud-instance', [LABELS.INSTANCE]: 'sales' });
    expect(s.spec!.template.metadata!.labels).toMatchObject(s.spec!.selector.matchLabels!);
  });
  test('resources from the spec, else the defaults; image from the spec, else the default', () => {
    expect(buildStatefulSet(wai(), opts).spec!.template.spec!.containers[0]!.resources).toEqual(opts.defaultResources);
    const custom = buildStatefulSet(wai({ resources: { limits: { memory: '1Gi' } }, image: 'mine:2' }), opts).spec!.template.spec!
      .containers[0]!;
    expect(custom.resources).toEqual({ limits: { memory: '1Gi' } });
    expect(custom.image).toBe('mine:2');
  });
  test('env: engine, data dir, internal key file, MongoDB from the internal Secret or the named one, webhook', () => {
    const e = env(buildStatefulSet(wai(), opts));
    expect(e).toMatchObject({
      ENGINE: 'webjs',
      DATA_DIR: '/data',
      PORT: '8080',
      INTERNAL_PORT: '8081',
      INTERNAL_API_KEY_FILE: '/etc/wacloud/internal/internal-api-key',
      INSTANCE_ID: 'sales',
    });
    expect(e.MONGODB_URI).toEqual({ secretKeyRef: { name: 'sales-internal', key: MONGODB_URI_SECRET_KEY } });
    expect(e.SIMNET_URL).toBeUndefined();
    const full = env(
      buildStatefulSet(
        wai({
          engine: 'simulated',
          mongodb: { secretRef: { name: 'db' } },
          webhook: { url: 'https://h/x', secretRef: { name: 'wh' }, events: ['message', 'message.ack'] },
        }),
        opts,
      ),
    );
    expect(full).toMatchObject({
      ENGINE: 'simulated',
      SIMNET_URL: 'http://simnet:7300',
      WEBHOOK_URL: 'https://h/x',
      WEBHOOK_EVENTS: 'message,message.ack',
    });
    expect(full.MONGODB_URI).toEqual({ secretKeyRef: { name: 'db', key: 'uri' } });
    expect(full.WEBHOOK_SECRET).toEqual({ secretKeyRef: { name: 'wh', key: 'secret' } });
  });
  test("env: the extra variables follow the operator's own, copied; the operator's own names are the reserved ones", () => {
    const extra = Object.freeze([
      Object.freeze({ name: 'WEBHOOK_LOG_RETENTION_MS', value: '2160h' }),
      Object.freeze({ name: 'SMTP_PASSWORD', valueFrom: Object.freeze({ secretKeyRef: Object.freeze({ name: 'mail', key: 'pw' }) }) }),
    ]);
    const full = wai({ engine: 'simulated', webhook: { url: 'https://h/x', secretRef: { name: 'wh' }, events: ['message'] } });
    const vars = buildStatefulSet(full, { ...opts, extraEnv: extra }).spec!.template.spec!.containers[0]!.env!;
    const own = buildStatefulSet(full, opts).spec!.template.spec!.containers[0]!.env!;
    expect(vars.slice(0, own.length)).toEqual(own);
    expect(vars.slice(own.length)).toEqual([
      { name: 'WEBHOOK_LOG_RETENTION_MS', value: '2160h' },
      { name: 'SMTP_PASSWORD', valueFrom: { secretKeyRef: { name: 'mail', key: 'pw' } } },
    ]);
    // Copies: a change to the desired object (e.g. by a client while applying it) never reaches the configuration.
    expect(vars[own.length]).not.toBe(extra[0]);
    expect(Object.isFrozen(vars[own.length + 1]!.valueFrom)).toBe(false);
    // Every name the operator sets itself is reserved (the configuration refuses an extra variable of that name).
    expect(own.map((v) => v.name).filter((n) => !RESERVED_INSTANCE_ENV.includes(n))).toEqual([]);
  });
});

describe('internal Secret', () => {
  test('a new random key when none exists; the existing key is carried over unchanged', () => {
    const a = buildInternalSecret(wai(), { existingKey: undefined, defaultMongoUri: 'mongodb://m:27017/' });
    const b = buildInternalSecret(wai(), { existingKey: undefined, defaultMongoUri: 'mongodb://m:27017/' });
    const keyA = Buffer.from(a.data![INTERNAL_KEY_SECRET_KEY]!, 'base64').toString();
    expect(keyA).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(b.data![INTERNAL_KEY_SECRET_KEY]).not.toBe(a.data![INTERNAL_KEY_SECRET_KEY]);
    const kept = buildInternalSecret(wai(), { existingKey: keyA, defaultMongoUri: 'mongodb://m:27017/' });
    expect(kept.data![INTERNAL_KEY_SECRET_KEY]).toBe(a.data![INTERNAL_KEY_SECRET_KEY]);
  });
  test('MongoDB URI names the instance database on the default server, unless the instance names a Secret', () => {
    const s = buildInternalSecret(wai(), { existingKey: 'k', defaultMongoUri: 'mongodb://user:pw@m:27017/?authSource=admin' });
    expect(Buffer.from(s.data![MONGODB_URI_SECRET_KEY]!, 'base64').toString()).toBe(
      'mongodb://user:pw@m:27017/wacloud_tenants_sales?authSource=admin',
    );
    expect(
      buildInternalSecret(wai({ mongodb: { secretRef: { name: 'x' } } }), { existingKey: 'k', defaultMongoUri: 'mongodb://m/' }).data![
        MONGODB_URI_SECRET_KEY
      ],
    ).toBeUndefined();
    expect(databaseName(wai({ mongodb: { database: 'custom' } }))).toBe('custom');
  });
});

describe('Services and NetworkPolicy', () => {
  test("one headless Service per namespace: every StatefulSet's governing service, selecting instance pods only, not-ready pods too, no owner", () => {
    const h = buildInstancesService('tenants');
    expect(h.metadata).toEqual({
      name: 'wacloud-instances',
      namespace: 'tenants',
      labels: {
        'app.kubernetes.io/name': 'wacloud-instance',
        'app.kubernetes.io/component': 'instance',
        'app.kubernetes.io/part-of': 'wacloud',
        'app.kubernetes.io/managed-by': 'wacloud-operator',
      },
    });
    expect(h.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(h.spec).not.toHaveProperty('type');
    // Every instance's pod (each StatefulSet's selector includes it) and nothing but instance pods.
    expect(h.spec!.selector).toEqual({ 'app.kubernetes.io/name': 'wacloud-instance' });
    for (const name of ['sales', 'support']) {
      const sts = buildStatefulSet(wai({}, name), opts);
      expect(sts.spec!.selector!.matchLabels).toMatchObject(h.spec!.selector!);
      expect(sts.spec!.serviceName).toBe('wacloud-instances');
    }
    expect(h.spec!.ports!.map((p) => [p.name, p.port])).toEqual([
      ['public', 8080],
      ['internal', 8081],
      ['metrics', 9090],
    ]);
    // The pod's own DNS name under it (what the api and the session probe use).
    expect(instancePodHost('sales', h.metadata!.name!)).toBe('sales-0.wacloud-instances');
  });
  test("an older instance's own headless Service: selecting its pod, governing a StatefulSet created with it (serviceName is immutable)", () => {
    const h = buildLegacyService(wai());
    expect(h.metadata!.name).toBe('sales-headless');
    expect(h.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(h.spec!.selector).toEqual(buildStatefulSet(wai(), opts).spec!.selector!.matchLabels);
    expect(h.spec!.ports).toEqual(buildInstancesService('tenants').spec!.ports);
    expect(buildStatefulSet(wai(), opts, 'sales-headless').spec!.serviceName).toBe('sales-headless');
    expect(instancePodHost('sales', 'sales-headless')).toBe('sales-0.sales-headless');
  });
  test("one NetworkPolicy per namespace: every instance pod (not one instance's), no owner, watched by the managed-by label", () => {
    const np = buildNetworkPolicy('tenants', npOpts);
    expect(np.metadata).toEqual({
      name: 'wacloud-instances',
      namespace: 'tenants',
      labels: {
        'app.kubernetes.io/name': 'wacloud-instance',
        'app.kubernetes.io/component': 'instance',
        'app.kubernetes.io/part-of': 'wacloud',
        'app.kubernetes.io/managed-by': 'wacloud-operator',
      },
    });
    expect(np.spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'wacloud-instance' } });
    // It selects the pod of every instance: their template labels carry the selector's.
    for (const name of ['sales', 'support'])
      expect(buildStatefulSet(wai({}, name), opts).spec!.template.metadata!.labels).toMatchObject(np.spec.podSelector.matchLabels!);
    expect(buildNetworkPolicy('other', npOpts).metadata.namespace).toBe('other');
  });
  test('ingress: internal port only from the api; public only from the api and the operator; metrics only from the scraper', () => {
    const np = buildNetworkPolicy('tenants', npOpts);
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const ns = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'wacloud-system' } } };
    const api = { podSelector: { matchLabels: { 'app.kubernetes.io/component': 'api' } }, ...ns };
    const operator = { podSelector: { matchLabels: { 'app.kubernetes.io/component': 'operator' } }, ...ns };
    const scraper = {
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
    };
    expect(np.spec.ingress).toEqual([
      { from: [api], ports: [{ protocol: 'TCP', port: 8081 }] },
      { from: [api, operator], ports: [{ protocol: 'TCP', port: 8080 }] },
      { from: [scraper], ports: [{ protocol: 'TCP', port: 9090 }] },
    ]);
    // Without a scraper the metrics port admits nobody: a rule without `from` would admit everyone.
    const closed = buildNetworkPolicy('tenants', { ...npOpts, metricsScraper: { podSelector: {}, namespaceSelector: {} } });
    expect(closed.spec.ingress.map((r) => r.ports!.map((p) => p.port))).toEqual([[8081], [8080]]);
    for (const r of closed.spec.ingress) expect(r.from!.length).toBeGreaterThan(0);
  });

  test('egress: DNS, the MongoDB pods on their port, the internet on 443 minus private, link-local (metadata) ranges', () => {
    const np = buildNetworkPolicy('tenants', npOpts);
    expect(np.spec.egress).toEqual([
      {
        to: [
          {
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
          },
        ],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
      {
        to: [
          {
            podSelector: { matchLabels: { 'app.kubernetes.io/component': 'mongodb' } },
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'wacloud-system' } },
          },
        ],
        ports: [{ protocol: 'TCP', port: 27017 }],
      },
      {
        to: [
          { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'] } },
          { ipBlock: { cidr: '::/0', except: ['fc00::/7', 'fe80::/10'] } },
        ],
        ports: [{ protocol: 'TCP', port: 443 }],
      },
    ]);
    // Every egress rule names where it goes: a rule without `to` would open everything on its ports.
    for (const r of np.spec.egress!) expect(r.to!.length).toBeGreaterThan(0);
    // No policy without egress when it is off; extra rules and an external MongoDB by address are appended as given.
    expect(buildNetworkPolicy('tenants', { ...npOpts, egress: undefined }).spec).not.toHaveProperty('egress');
    const extra = { to: [{ ipBlock: { cidr: '10.96.5.5/32' } }], ports: [{ protocol: 'TCP' as const, port: 7300 }] };
    const ext = buildNetworkPolicy('tenants', {
      ...npOpts,
      egress: { ...npOpts.egress!, mongodb: { peer: undefined, cidrs: ['203.0.113.10/32'], port: 27018 }, extraRules: [extra] },
    });
    expect(ext.spec.egress![1]).toEqual({ to: [{ ipBlock: { cidr: '203.0.113.10/32' } }], ports: [{ protocol: 'TCP', port: 27018 }] });
    expect(ext.spec.egress!.at(-1)).toEqual(extra);
  });

  test('ipBlocks: each excepted block goes under the block that contains it; a block wholly excepted is left out', () => {
    expect(ipBlocks(['0.0.0.0/0'], ['10.0.0.0/8', '169.254.169.254/32', 'fd00::/8'])).toEqual([
      { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '169.254.169.254/32'] } },
    ]);
    expect(ipBlocks(['10.1.0.0/16', '8.8.8.0/24'], ['10.0.0.0/8'])).toEqual([{ ipBlock: { cidr: '8.8.8.0/24' } }]);
    expect(ipBlocks(['2001:db8::/32'], ['2001:db8:1::/48', '::ffff:0:0/96'])).toEqual([
      { ipBlock: { cidr: '2001:db8::/32', except: ['2001:db8:1::/48'] } },
    ]);
    expect(() => ipBlocks(['10.0.0.0'], [])).toThrow(/not a CIDR block/);
  });
});

describe('Chromium sandbox', () => {
  test('seccompProfile RuntimeDefault by default, the Localhost Chromium profile when configured; WACLOUD_CHROMIUM_SANDBOX', () => {
    const byDefault = buildStatefulSet(wai(), opts);
    expect(byDefault.spec!.template.spec!.securityContext!.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(env(byDefault).WACLOUD_CHROMIUM_SANDBOX).toBe('auto');
    const localhost = buildStatefulSet(wai(), {
      ...opts,
      seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/wacloud-chromium.json' },
      chromiumSandbox: 'on',
    });
    const pod = localhost.spec!.template.spec!;
    expect(pod.securityContext!.seccompProfile).toEqual({ type: 'Localhost', localhostProfile: 'profiles/wacloud-chromium.json' });
    expect(env(localhost).WACLOUD_CHROMIUM_SANDBOX).toBe('on');
    // The sandbox needs no privilege: the container stays non-root, without capabilities or privilege escalation.
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(pod.containers[0]!.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });
});
