/** Cache transforms (pure): what the informers keep of each object, and that drift is still visible in it. */
import type { V1StatefulSet } from '@kubernetes/client-node';
import type { WhatsAppInstance } from '@wacloud/crds';
import { slimChildMetadata } from '@wacloud/kube-runtime';
import { buildStatefulSet, type StatefulSetOptions } from '../src/builders/index.js';
import { intern, slimChild, slimInstance, slimStatefulSet } from '../src/cache-transforms.js';
import { isSubset } from '../src/conditions.js';
import { VerifiedChildren, childKey, desiredHash, generationVersion } from '../src/verified.js';

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

describe('slimStatefulSet', () => {
  test('keeps identity (with generation), labels, ownership, spec.replicas and serviceName and the status the reconciler reads; no other spec', () => {
    const c = slimStatefulSet(served());
    expect(c).toEqual({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: {
        name: 'sales',
        namespace: 'tenants',
        uid: 'sts-uid',
        resourceVersion: '42',
        generation: 2,
        labels: served().metadata!.labels,
        ownerReferences: served().metadata!.ownerReferences,
      },
      // The governing Service: the shared one, or an older StatefulSet's own (immutable; the reconciler keeps it).
      spec: { replicas: 1, serviceName: 'wacloud-instances' },
      status: { replicas: 1, readyReplicas: 1, observedGeneration: 2 },
    });
    // A tenth of the JSON the whole object takes (the spec was kept as text before: ~4–6 KiB per instance).
    expect(JSON.stringify(c).length * 4).toBeLessThan(
      JSON.stringify({ ...served(), metadata: { ...served().metadata, annotations: {} } }).length,
    );
  });
  test('drift stays visible: a spec change is a new generation, a metadata change shows in the cached metadata', () => {
    const desired = buildStatefulSet(wai, opts);
    const verified = new VerifiedChildren();
    const key = childKey(desired);
    const hash = desiredHash(desired);
    verified.set(key, generationVersion(served()), hash);
    expect(verified.hasVersion(key, generationVersion(slimStatefulSet(served())), hash)).toBe(true);
    const edited = served();
    edited.spec!.template.spec!.containers[0]!.image = 'evil:1';
    edited.metadata!.generation = 3; // the apiserver bumps it with every spec change
    expect(verified.hasVersion(key, generationVersion(slimStatefulSet(edited)), hash)).toBe(false);
    // A new desired object (e.g. a new image in the instance's spec) is not verified either.
    expect(verified.hasVersion(key, generationVersion(slimStatefulSet(served())), desiredHash({ ...desired, x: 1 }))).toBe(false);
    expect(isSubset(desired.metadata, slimStatefulSet(served()).metadata)).toBe(true);
    const relabelled = served();
    delete relabelled.metadata!.labels!['app.kubernetes.io/managed-by'];
    expect(isSubset(desired.metadata, slimStatefulSet(relabelled).metadata)).toBe(false);
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
        creationTimestamp: '2026-01-01T00:00:00Z',
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
        creationTimestamp: '2026-01-01T00:00:00Z',
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

describe('slimChild (Secrets, Services, NetworkPolicies)', () => {
  test('keeps kind, identity, labels and owner references only, with their values', () => {
    const child = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 's',
        namespace: 'n',
        uid: 'u',
        resourceVersion: '1',
        labels: { l: 'v' },
        ownerReferences: [{ apiVersion: 'wacloud.io/v1alpha1', kind: 'WhatsAppInstance', name: 'w', uid: 'wu', controller: true }],
        annotations: { a: 'b' },
        creationTimestamp: 'x',
        managedFields: [{}],
      },
    };
    expect(slimChild(JSON.parse(JSON.stringify(child)))).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 's',
        namespace: 'n',
        uid: 'u',
        resourceVersion: '1',
        labels: { l: 'v' },
        ownerReferences: [{ apiVersion: 'wacloud.io/v1alpha1', kind: 'WhatsAppInstance', name: 'w', uid: 'wu', controller: true }],
      },
    });
  });
  test('intern gives back an equal string (the kept copy) and passes undefined through', () => {
    const a = JSON.parse('"wacloud-operator"') as string;
    expect(intern(a)).toBe('wacloud-operator');
    expect(intern(JSON.parse('"wacloud-operator"') as string)).toBe(a);
    expect(intern(undefined)).toBeUndefined();
  });
});
