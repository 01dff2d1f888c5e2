/** Pure builders of an instance's children, tested without a cluster (like CloudNativePG's pkg/specs tests). */
import { INTERNAL_KEY_SECRET_KEY, LABELS, type WhatsAppInstance } from '@wacloud/crds';
import {
  MONGODB_URI_SECRET_KEY,
  buildHeadlessService,
  buildInternalSecret,
  buildNetworkPolicy,
  buildService,
  buildStatefulSet,
  databaseName,
  type StatefulSetOptions,
} from '../src/builders/index.js';

const wai = (over: Partial<WhatsAppInstance['spec']> = {}): WhatsAppInstance => ({
  apiVersion: 'wacloud.io/v1alpha1',
  kind: 'WhatsAppInstance',
  metadata: { name: 'sales', namespace: 'tenants', uid: 'uid-1', generation: 3 },
  spec: { owner: 'tenant-a', ...over },
});
const opts: StatefulSetOptions = {
  image: 'wacloud/instance:1.0',
  imagePullPolicy: 'IfNotPresent',
  defaultResources: { requests: { cpu: '100m', memory: '512Mi' }, limits: { memory: '2Gi' } },
  shmSize: '512Mi',
  simnetUrl: 'http://simnet:7300',
};
const env = (s: ReturnType<typeof buildStatefulSet>) =>
  Object.fromEntries(s.spec!.template.spec!.containers[0]!.env!.map((e) => [e.name, e.value ?? e.valueFrom]));

describe('every child', () => {
  const children = [
    buildInternalSecret(wai(), { existingKey: undefined, defaultMongoUri: 'mongodb://m:27017/' }),
    buildHeadlessService(wai()),
    buildService(wai()),
    buildNetworkPolicy(wai(), { apiPodSelector: { app: 'api' }, apiNamespaceSelector: {} }),
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
  test('session volume, memory-backed /dev/shm, probes on /health, non-root', () => {
    const s = buildStatefulSet(wai({ storage: { size: '2Gi', storageClassName: 'fast' } }), opts);
    const pvc = s.spec!.volumeClaimTemplates![0]!;
    expect(pvc.spec!.resources!.requests).toEqual({ storage: '2Gi' });
    expect(pvc.spec!.storageClassName).toBe('fast');
    const pod = s.spec!.template.spec!;
    expect(pod.volumes!.find((v) => v.name === 'dshm')!.emptyDir).toEqual({ medium: 'Memory', sizeLimit: '512Mi' });
    const c = pod.containers[0]!;
    expect(c.volumeMounts!.map((m) => m.mountPath).sort()).toEqual(['/data', '/dev/shm', '/etc/wacloud/internal', '/tmp']);
    for (const p of [c.startupProbe!, c.readinessProbe!, c.livenessProbe!]) expect(p.httpGet).toEqual({ path: '/health', port: 'public' });
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
  test('headless service for the StatefulSet, ClusterIP for clients; both select the pod', () => {
    const h = buildHeadlessService(wai());
    const c = buildService(wai());
    expect(h.spec!.clusterIP).toBe('None');
    expect(c.spec!.type).toBe('ClusterIP');
    expect(h.spec!.selector).toEqual(c.spec!.selector);
    expect(c.spec!.ports!.map((p) => [p.name, p.port])).toEqual([
      ['public', 8080],
      ['internal', 8081],
      ['metrics', 9090],
    ]);
    expect(buildStatefulSet(wai(), opts).spec!.serviceName).toBe(h.metadata!.name);
  });
  test('the internal port admits only the api pods; public and metrics stay open', () => {
    const np = buildNetworkPolicy(wai(), {
      apiPodSelector: { 'app.kubernetes.io/name': 'wacloud-api' },
      apiNamespaceSelector: { 'kubernetes.io/metadata.name': 'wacloud-system' },
    });
    expect(np.spec.policyTypes).toEqual(['Ingress']);
    const internal = np.spec.ingress.find((r) => r.ports?.some((p) => p.port === 8081))!;
    expect(internal.from).toEqual([
      {
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'wacloud-api' } },
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'wacloud-system' } },
      },
    ]);
    expect(internal.ports).toHaveLength(1);
    const open = np.spec.ingress.find((r) => !r.from)!;
    expect(open.ports!.map((p) => p.port)).toEqual([8080, 9090]);
  });
});
