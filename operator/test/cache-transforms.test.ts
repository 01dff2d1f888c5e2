/** Cache transforms (pure): what the informers keep of each object, and that drift is still visible in it. */
import type { V1StatefulSet } from '@kubernetes/client-node';
import type { WhatsAppInstance } from '@wacloud/crds';
import { compactStatefulSet, slimChildMetadata } from '@wacloud/kube-runtime';
import { buildStatefulSet, type StatefulSetOptions } from '../src/builders/index.js';
import { slimInstance } from '../src/cache-transforms.js';
import { isSubset } from '../src/conditions.js';

const wai: WhatsAppInstance = {
  apiVersion: 'wacloud.io/v1alpha1',
  kind: 'WhatsAppInstance',
  metadata: { name: 'sales', namespace: 'tenants', uid: 'uid-1', generation: 3 },
  spec: { owner: 'tenant-a' },
};
const opts: StatefulSetOptions = {
  image: 'wacloud/instance:1.0',
  imagePullPolicy: 'IfNotPresent',
  defaultResources: {},
  shmSize: '512Mi',
  simnetUrl: undefined,
  seccompProfile: { type: 'RuntimeDefault' },
  chromiumSandbox: 'auto',
};

/** The StatefulSet as the apiserver would return it: the desired one plus server fields, defaults and status. */
function served(): V1StatefulSet {
  const s = structuredClone(buildStatefulSet(wai, opts));
  s.metadata = {
    ...s.metadata,
    uid: 'sts-uid',
    resourceVersion: '42',
    generation: 2,
    creationTimestamp: '2026-01-01T00:00:00Z' as unknown as Date,
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(2000) },
    managedFields: [{ manager: 'wacloud-operator', operation: 'Apply' }],
  };
  s.spec!.revisionHistoryLimit = 10;
  s.spec!.template.spec!.dnsPolicy = 'ClusterFirst';
  s.status = {
    replicas: 1,
    readyReplicas: 1,
    observedGeneration: 2,
    currentRevision: 'sales-abc',
    updateRevision: 'sales-abc',
    availableReplicas: 1,
  };
  return s;
}

describe('compactStatefulSet', () => {
  test('keeps identity, ownership, the status the reconciler reads, and the whole spec (parsed on access)', () => {
    const c = compactStatefulSet(served());
    expect(c.metadata).toEqual({
      name: 'sales',
      namespace: 'tenants',
      uid: 'sts-uid',
      resourceVersion: '42',
      generation: 2,
      labels: served().metadata!.labels,
      ownerReferences: served().metadata!.ownerReferences,
    });
    expect(c.status).toEqual({ replicas: 1, readyReplicas: 1, observedGeneration: 2 });
    expect(c.spec).toEqual(served().spec);
    expect(c.spec).not.toBe(c.spec); // a fresh copy per access: callers cannot modify the cache
  });
  test('drift is still detected: the desired StatefulSet is a subset of the compact one until a field changes', () => {
    const desired = buildStatefulSet(wai, opts);
    expect(isSubset(desired, compactStatefulSet(served()))).toBe(true);
    const scaled = served();
    scaled.spec!.replicas = 3;
    expect(isSubset(desired, compactStatefulSet(scaled))).toBe(false);
    const edited = served();
    edited.spec!.template.spec!.containers[0]!.image = 'evil:1';
    expect(isSubset(desired, compactStatefulSet(edited))).toBe(false);
    const relabelled = served();
    delete relabelled.metadata!.labels!['app.kubernetes.io/managed-by'];
    expect(isSubset(desired, compactStatefulSet(relabelled))).toBe(false);
  });
});

describe('slimInstance', () => {
  test('drops labels, annotations and managedFields; keeps what the reconciler reads', () => {
    const full = {
      ...wai,
      metadata: {
        ...wai.metadata,
        resourceVersion: '7',
        finalizers: ['wacloud.io/finalizer'],
        deletionTimestamp: '2026-01-02T00:00:00Z',
        labels: { a: 'b' },
        annotations: { big: 'x'.repeat(1000) },
        managedFields: [{}],
      },
      status: { phase: 'Running' as const, observedGeneration: 3 },
    } as unknown as WhatsAppInstance;
    expect(slimInstance(full)).toEqual({
      apiVersion: 'wacloud.io/v1alpha1',
      kind: 'WhatsAppInstance',
      metadata: {
        name: 'sales',
        namespace: 'tenants',
        uid: 'uid-1',
        generation: 3,
        resourceVersion: '7',
        finalizers: ['wacloud.io/finalizer'],
        deletionTimestamp: '2026-01-02T00:00:00Z',
      },
      spec: { owner: 'tenant-a' },
      status: { phase: 'Running', observedGeneration: 3 },
    });
  });

  test('keeps the restart request (wacloud.io/restarted-at) of the annotations, and only it', () => {
    const at = '2026-12-01T06:00:00.000Z';
    const full = { ...wai, metadata: { ...wai.metadata, annotations: { big: 'x', 'wacloud.io/restarted-at': at } } } as WhatsAppInstance;
    expect(slimInstance(full).metadata.annotations).toEqual({ 'wacloud.io/restarted-at': at });
  });
});

describe('slimChildMetadata', () => {
  test('keeps kind, identity, labels and owner references only', () => {
    const meta = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 's',
        namespace: 'n',
        uid: 'u',
        resourceVersion: '1',
        labels: { l: 'v' },
        ownerReferences: [],
        annotations: { a: 'b' },
        creationTimestamp: 'x',
      },
    };
    expect(slimChildMetadata(meta as never)).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'n', uid: 'u', resourceVersion: '1', labels: { l: 'v' }, ownerReferences: [] },
    });
  });
});
