/**
 * Issue #3 acceptance against a real control plane (etcd, kube-apiserver, kube-controller-manager): the operator runs
 * as its own process, authenticated as its ServiceAccount under the least-privilege RBAC of deploy/rbac.yaml.
 */
import { readFileSync } from 'node:fs';
import { API_VERSION, EXAMPLES_DIR, KIND, type WhatsAppInstance } from '@wacloud/crds';
import { eventually } from '@wacloud/testenv';
import { buildStatefulSet } from '../src/builders/index.js';
import { statefulSetOptions } from '../src/child-options.js';
import { loadOperatorConfig } from '../src/config.js';
import { RBAC_YAML, getJson, kubectlOk, useOperatorCluster } from './harness.js';

const NS = 'tenants';
const cluster = useOperatorCluster(NS, 'op-1');

/** The children an instance owns: its StatefulSet and its internal Secret (the namespace's Service is shared). */
const children = async (name: string) => ({
  sts: await getJson(cluster.cp, 'statefulset', name, NS),
  secret: await getJson(cluster.cp, 'secret', `${name}-internal`, NS),
});

/** The operations of the operator's own managedFields entries of the main resource, e.g. ['Update']. */
const operatorEntries = (obj: any): string[] =>
  obj.metadata.managedFields
    .filter((f: { manager: string; subresource?: string }) => f.manager === 'wacloud-operator' && !f.subresource)
    .map((f: { operation: string }) => f.operation);

const condition = (wai: any, type: string) => wai?.status?.conditions?.find((c: { type: string }) => c.type === type);

describe('reconciling the examples', () => {
  test('applying crds/examples/ creates owned children; Reconciled=True at the current generation; printer columns', async () => {
    await kubectlOk(cluster.cp, ['apply', '-n', NS, '-f', EXAMPLES_DIR]);
    for (const name of ['sales-line', 'support-line']) {
      const wai = await eventually(async () => {
        const w = await getJson(cluster.cp, 'wai', name, NS);
        const c = condition(w, 'Reconciled');
        return c?.status === 'True' &&
          c.observedGeneration === w.metadata.generation &&
          w.status.observedGeneration === w.metadata.generation
          ? w
          : undefined;
      }, 30_000);
      expect(wai.metadata.finalizers).toContain('wacloud.io/finalizer');
      expect(wai.status).toMatchObject({
        phase: 'Provisioning',
        serviceName: 'wacloud-instances',
        internalSecretRef: { name: `${name}-internal`, key: 'internal-api-key' },
      });
      const c = await children(name);
      for (const [kind, obj] of Object.entries(c)) {
        expect([kind, obj?.metadata.ownerReferences]).toEqual([
          kind,
          [
            {
              apiVersion: 'wacloud.io/v1alpha1',
              kind: 'WhatsAppInstance',
              name,
              uid: wai.metadata.uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        ]);
        // Both are created by a create-only POST (the Secret: never a second key), then server-side applied when they
        // differ — the POST's Update entry moved to the Apply entry first (see the next describe).
        expect([kind, operatorEntries(obj)]).toEqual([kind, ['Update']]);
      }
      // No Service and no NetworkPolicy of its own: the namespace's shared headless Service governs its StatefulSet.
      for (const own of [name, `${name}-headless`]) expect(await getJson(cluster.cp, 'service', own, NS)).toBeUndefined();
      expect(await getJson(cluster.cp, 'networkpolicy', name, NS)).toBeUndefined();
      expect(c.sts.spec.serviceName).toBe('wacloud-instances');
      expect(c.sts.spec.replicas).toBe(1);
      expect(c.sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenScaled: 'Retain', whenDeleted: 'Delete' });
    }
    const full = await getJson(cluster.cp, 'statefulset', 'support-line', NS);
    const env = Object.fromEntries(
      full.spec.template.spec.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]),
    );
    expect(env).toMatchObject({
      ENGINE: 'simulated',
      WEBHOOK_URL: 'https://hooks.example.com/wacloud',
      WEBHOOK_EVENTS: 'message,message.ack',
    });
    expect(full.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('2Gi');

    const table = await kubectlOk(cluster.cp, ['get', 'wai', '-n', NS]);
    const [header, ...rows] = table.trim().split('\n');
    expect(header!.split(/\s+/)).toEqual(['NAME', 'OWNER', 'PHASE', 'SESSION', 'SUSPENDED', 'AGE']);
    expect(
      rows
        .find((r) => r.startsWith('sales-line'))!
        .split(/\s+/)
        .slice(0, 5),
    ).toEqual(['sales-line', 'tenant-a', 'Provisioning', 'Unknown', 'false']);
    expect((await kubectlOk(cluster.cp, ['get', 'wacloud', '-n', NS, '-o', 'name'])).split('\n')).toEqual(
      expect.arrayContaining(['whatsappinstance.wacloud.io/sales-line']),
    );
    const explain = await kubectlOk(cluster.cp, ['explain', 'wai.spec.suspended']);
    expect(explain).toMatch(/Scale the instance to zero/);
    // One headless Service for the namespace's instance pods (each pod: <name>-0.wacloud-instances.<ns>.svc), no owner.
    const svc = await getJson(cluster.cp, 'service', 'wacloud-instances', NS);
    expect(svc.metadata.ownerReferences).toBeUndefined();
    expect(svc.spec).toMatchObject({
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: { 'app.kubernetes.io/name': 'wacloud-instance' },
    });
  });

  test('the internal key is created once and never rotated; a Created event is recorded', async () => {
    const before = (await getJson(cluster.cp, 'secret', 'sales-line-internal', NS)).data['internal-api-key'];
    await kubectlOk(cluster.cp, ['annotate', 'wai', 'sales-line', '-n', NS, 'touch=1']);
    await kubectlOk(cluster.cp, ['patch', 'wai', 'sales-line', '-n', NS, '--type=merge', '-p', '{"spec":{"image":"wacloud/instance:2"}}']);
    await eventually(
      async () =>
        (await getJson(cluster.cp, 'statefulset', 'sales-line', NS)).spec.template.spec.containers[0].image === 'wacloud/instance:2',
    );
    expect((await getJson(cluster.cp, 'secret', 'sales-line-internal', NS)).data['internal-api-key']).toBe(before);
    const events = JSON.parse(
      await kubectlOk(cluster.cp, ['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=sales-line', '-o', 'json']),
    );
    expect(events.items.map((e: { reason: string }) => e.reason)).toContain('Created');
  });
});

describe('an internal Secret the cache does not know', () => {
  test('a Secret that exists unlabelled (not in the cache) is adopted with its key: the create-only POST is refused, the key read', async () => {
    const key = 'pre-existing-key-of-kept-key';
    await kubectlOk(cluster.cp, ['create', 'secret', 'generic', 'kept-key-internal', '-n', NS, `--from-literal=internal-api-key=${key}`]);
    await cluster.cp.kubectl(['apply', '-n', NS, '-f', '-'], {
      stdin: 'apiVersion: wacloud.io/v1alpha1\nkind: WhatsAppInstance\nmetadata: {name: kept-key}\nspec: {owner: tenant-k}\n',
    });
    const secret = await eventually(async () => {
      const s = await getJson(cluster.cp, 'secret', 'kept-key-internal', NS);
      return s?.metadata.ownerReferences?.length ? s : undefined;
    }, 30_000);
    expect(Buffer.from(secret.data['internal-api-key'], 'base64').toString()).toBe(key);
    expect(secret.metadata.labels['app.kubernetes.io/managed-by']).toBe('wacloud-operator');
    expect(secret.data['mongodb-uri']).toBeDefined();
    await kubectlOk(cluster.cp, ['delete', 'wai', 'kept-key', '-n', NS, '--wait=false']);
    await eventually(async () => (await getJson(cluster.cp, 'wai', 'kept-key', NS)) === undefined, 30_000);
  });
});

describe('children created by a POST, then applied', () => {
  test('a field the builders stop producing is removed: the webhook variables, the internal Secret’s MongoDB URI', async () => {
    await cluster.cp.kubectl(['apply', '-n', NS, '-f', '-'], {
      stdin:
        'apiVersion: wacloud.io/v1alpha1\nkind: WhatsAppInstance\nmetadata: {name: dropped}\n' +
        'spec: {owner: tenant-d, webhook: {url: "https://hooks.example.com/d"}}\n',
    });
    const env = (sts: any): Record<string, any> =>
      Object.fromEntries(sts.spec.template.spec.containers[0].env.map((e: { name: string }) => [e.name, e]));
    const sts0 = await eventually(async () => {
      const s = await getJson(cluster.cp, 'statefulset', 'dropped', NS);
      return s && env(s).WEBHOOK_URL ? s : undefined;
    }, 30_000);
    const secret0 = await eventually(() => getJson(cluster.cp, 'secret', 'dropped-internal', NS), 30_000);
    expect([operatorEntries(sts0), operatorEntries(secret0)]).toEqual([['Update'], ['Update']]);
    expect(secret0.data['mongodb-uri']).toBeDefined();

    await kubectlOk(cluster.cp, [
      'patch',
      'wai',
      'dropped',
      '-n',
      NS,
      '--type=json',
      '-p',
      JSON.stringify([
        { op: 'remove', path: '/spec/webhook' },
        { op: 'add', path: '/spec/mongodb', value: { secretRef: { name: 'own-db' } } },
      ]),
    ]);
    const sts = await eventually(async () => {
      const s = await getJson(cluster.cp, 'statefulset', 'dropped', NS);
      return s && env(s).MONGODB_URI.valueFrom.secretKeyRef.name === 'own-db' ? s : undefined;
    }, 30_000);
    expect(env(sts).WEBHOOK_URL).toBeUndefined();
    expect(env(sts).MONGODB_URI.valueFrom.secretKeyRef).toEqual({ name: 'own-db', key: 'uri' });
    expect(operatorEntries(sts)).toEqual(['Apply']);
    // What the apiserver defaulted at the POST is still set (dropped with the move, defaulted again by the apply).
    expect(sts.spec.template.spec).toMatchObject({
      dnsPolicy: 'ClusterFirst',
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
    });
    expect(sts.spec.podManagementPolicy).toBe(sts0.spec.podManagementPolicy);
    expect(sts.spec.volumeClaimTemplates).toEqual(sts0.spec.volumeClaimTemplates);

    const secret = await eventually(async () => {
      const s = await getJson(cluster.cp, 'secret', 'dropped-internal', NS);
      return s && s.data['mongodb-uri'] === undefined ? s : undefined;
    }, 30_000);
    expect(secret.data['internal-api-key']).toBe(secret0.data['internal-api-key']);
    expect(operatorEntries(secret)).toEqual(['Apply']);
    await kubectlOk(cluster.cp, ['delete', 'wai', 'dropped', '-n', NS, '--wait=false']);
  });
});

describe('isolation of an instance (issue 12 item 2)', () => {
  test('its NetworkPolicy restricts egress to DNS, its MongoDB and the internet on 443 and selects its pod; seccomp and sandbox', async () => {
    // One policy for every instance of the namespace, no owner (it outlives any one instance).
    const np = await eventually(() => getJson(cluster.cp, 'networkpolicy', 'wacloud-instances', NS), 30_000);
    expect(np.metadata.ownerReferences).toBeUndefined();
    expect(np.spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'wacloud-instance' } });
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    // Nothing else: no rule to the cluster's other pods, the apiserver's private address or 169.254.169.254.
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
      { to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/component': 'mongodb' } } }], ports: [{ protocol: 'TCP', port: 27017 }] },
      {
        to: [
          { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'] } },
          { ipBlock: { cidr: '::/0', except: ['fc00::/7', 'fe80::/10'] } },
        ],
        ports: [{ protocol: 'TCP', port: 443 }],
      },
    ]);
    // Ingress: every rule names who may come; the metrics port only the scraper (Prometheus in monitoring).
    for (const r of np.spec.ingress) expect(r.from.length).toBeGreaterThan(0);
    expect(np.spec.ingress.find((r: any) => r.ports[0].port === 9090).from).toEqual([
      {
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
      },
    ]);
    // The pod the StatefulSet controller made is the one the policy selects, with the seccomp profile and sandbox mode.
    const pod = await eventually(() => getJson(cluster.cp, 'pod', 'sales-line-0', NS), 30_000);
    expect(pod.metadata.labels).toMatchObject(np.spec.podSelector.matchLabels);
    expect(pod.spec.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    const env = Object.fromEntries(pod.spec.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]));
    expect(env.WACLOUD_CHROMIUM_SANDBOX).toBe('auto');
  });
});

describe('validation by the apiserver', () => {
  const apply = (doc: string) => cluster.cp.kubectl(['apply', '-n', NS, '-f', '-'], { stdin: doc });
  const wai = (name: string, spec: string) =>
    `apiVersion: wacloud.io/v1alpha1\nkind: WhatsAppInstance\nmetadata: {name: ${name}}\nspec: ${spec}\n`;
  test('wrong types, unknown engine, missing owner, changed owner are refused with clear messages', async () => {
    const wrongType = await apply(wai('bad-type', '{owner: t, suspended: "yes"}'));
    expect(wrongType.code).not.toBe(0);
    expect(wrongType.stderr).toMatch(/spec.suspended.*boolean/);
    const engine = await apply(wai('bad-engine', '{owner: t, engine: selenium}'));
    expect(engine.code).not.toBe(0);
    expect(engine.stderr).toMatch(/spec.engine.*Unsupported value: "selenium".*"webjs", "simulated"/);
    const noOwner = await apply(wai('no-owner', '{engine: webjs}'));
    expect(noOwner.stderr).toMatch(/spec.owner: Required value/);
    const badUrl = await apply(wai('bad-url', '{owner: t, webhook: {url: "ftp://x"}}'));
    expect(badUrl.stderr).toMatch(/spec.webhook.url/);
    const changed = await cluster.cp.kubectl([
      'patch',
      'wai',
      'sales-line',
      '-n',
      NS,
      '--type=merge',
      '-p',
      '{"spec":{"owner":"tenant-z"}}',
    ]);
    expect(changed.code).not.toBe(0);
    expect(changed.stderr).toMatch(/owner is immutable/);
    const storage = await cluster.cp.kubectl([
      'patch',
      'wai',
      'support-line',
      '-n',
      NS,
      '--type=merge',
      '-p',
      '{"spec":{"storage":{"size":"5Gi"}}}',
    ]);
    expect(storage.stderr).toMatch(/storage is immutable/);
  });
});

describe('suspend and resume', () => {
  test('suspended → replicas 0, Suspended=True, claim template and volume kept; resumed → replicas 1', async () => {
    // The StatefulSet controller (kube-controller-manager) makes the pod's claim from the template.
    const pvc = await eventually(() => getJson(cluster.cp, 'pvc', 'session-sales-line-0', NS), 30_000);
    const claimTemplate = (await getJson(cluster.cp, 'statefulset', 'sales-line', NS)).spec.volumeClaimTemplates;
    await kubectlOk(cluster.cp, ['patch', 'wai', 'sales-line', '-n', NS, '--type=merge', '-p', '{"spec":{"suspended":true}}']);
    const suspended = await eventually(async () => {
      const w = await getJson(cluster.cp, 'wai', 'sales-line', NS);
      const c = condition(w, 'Suspended');
      return c?.status === 'True' && c.observedGeneration === w.metadata.generation ? w : undefined;
    });
    expect(suspended.status.phase).toBe('Suspended');
    expect(condition(suspended, 'Ready')).toMatchObject({ status: 'False', reason: 'Suspended' });
    const sts = await getJson(cluster.cp, 'statefulset', 'sales-line', NS);
    expect(sts.spec.replicas).toBe(0);
    expect(sts.spec.volumeClaimTemplates).toEqual(claimTemplate);
    await new Promise((r) => setTimeout(r, 2000));
    expect((await getJson(cluster.cp, 'pvc', 'session-sales-line-0', NS))?.metadata.uid).toBe(pvc.metadata.uid);
    expect((await kubectlOk(cluster.cp, ['get', 'wai', 'sales-line', '-n', NS, '--no-headers'])).split(/\s+/).slice(2, 5)).toEqual([
      'Suspended',
      'STOPPED',
      'true',
    ]);

    await kubectlOk(cluster.cp, ['patch', 'wai', 'sales-line', '-n', NS, '--type=merge', '-p', '{"spec":{"suspended":false}}']);
    await eventually(async () => (await getJson(cluster.cp, 'statefulset', 'sales-line', NS)).spec.replicas === 1);
    const resumed = await eventually(async () => {
      const w = await getJson(cluster.cp, 'wai', 'sales-line', NS);
      return condition(w, 'Suspended')?.status === 'False' ? w : undefined;
    });
    expect(resumed.status.phase).toBe('Provisioning');
    const reasons = JSON.parse(
      await kubectlOk(cluster.cp, ['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=sales-line', '-o', 'json']),
    ).items.map((e: { reason: string }) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['Suspended', 'Resumed']));
  });
});

describe('drift', () => {
  test('a hand-deleted StatefulSet and hand-edited replicas are put back', async () => {
    const uid = (await getJson(cluster.cp, 'statefulset', 'support-line', NS)).metadata.uid;
    // A plain delete (background propagation): the StatefulSet is gone at once. With `--cascade=orphan` kubectl waited
    // for the controller-manager's garbage collector to clear the `orphan` finalizer, and once (a clean-clone CI trial,
    // 2026-12-03) that took past the test's 60 s — the collector's timing, not the operator's.
    await kubectlOk(cluster.cp, ['delete', 'statefulset', 'support-line', '-n', NS]);
    const back = await eventually(async () => {
      const s = await getJson(cluster.cp, 'statefulset', 'support-line', NS);
      return s && s.metadata.uid !== uid ? s : undefined;
    }, 15_000);
    expect(back.spec.replicas).toBe(1);
    await kubectlOk(cluster.cp, ['scale', 'statefulset', 'support-line', '-n', NS, '--replicas=3']);
    await eventually(async () => (await getJson(cluster.cp, 'statefulset', 'support-line', NS)).spec.replicas === 1, 15_000);
    // The namespace's policy and Service have no owner: their deletion is still seen and put right (through any one instance).
    for (const kind of ['networkpolicy', 'service']) {
      const before = await getJson(cluster.cp, kind, 'wacloud-instances', NS);
      await kubectlOk(cluster.cp, ['delete', kind, 'wacloud-instances', '-n', NS]);
      const back = await eventually(async () => {
        const p = await getJson(cluster.cp, kind, 'wacloud-instances', NS);
        return p && p.metadata.uid !== before.metadata.uid ? p : undefined;
      }, 15_000);
      expect([kind, back.spec.selector ?? back.spec.podSelector]).toEqual([kind, before.spec.selector ?? before.spec.podSelector]);
    }
  });
});

describe('an instance from before the shared Service', () => {
  test('its StatefulSet keeps its own governing Service (serviceName is immutable): kept, owned, put back; status names it', async () => {
    // A StatefulSet as an earlier operator made it (its own `<name>-headless`; its immutable fields as the builder's),
    // without an owner yet: adopted by the instance created next.
    const old = {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name: 'old-line', namespace: NS, uid: 'x' },
      spec: { owner: 'tenant-o' },
    };
    const sts = buildStatefulSet(old as WhatsAppInstance, statefulSetOptions(loadOperatorConfig({})), 'old-line-headless');
    delete sts.metadata!.ownerReferences;
    expect((await cluster.cp.kubectl(['apply', '-n', NS, '-f', '-'], { stdin: JSON.stringify(sts) })).code).toBe(0);
    const instance = 'apiVersion: wacloud.io/v1alpha1\nkind: WhatsAppInstance\nmetadata: {name: old-line}\nspec: {owner: tenant-o}\n';
    expect((await cluster.cp.kubectl(['apply', '-n', NS, '-f', '-'], { stdin: instance })).code).toBe(0);
    const wai = await eventually(async () => {
      const w = await getJson(cluster.cp, 'wai', 'old-line', NS);
      return condition(w, 'Reconciled')?.status === 'True' ? w : undefined;
    }, 30_000);
    expect(wai.status.serviceName).toBe('old-line-headless');
    const adopted = await getJson(cluster.cp, 'statefulset', 'old-line', NS);
    expect(adopted.spec.serviceName).toBe('old-line-headless');
    expect(adopted.metadata.ownerReferences?.[0]?.uid).toBe(wai.metadata.uid);
    const own = await getJson(cluster.cp, 'service', 'old-line-headless', NS);
    expect(own.metadata.ownerReferences?.[0]?.uid).toBe(wai.metadata.uid);
    expect(own.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, selector: sts.spec!.selector.matchLabels });
    await kubectlOk(cluster.cp, ['delete', 'service', 'old-line-headless', '-n', NS]);
    await eventually(async () => {
      const s = await getJson(cluster.cp, 'service', 'old-line-headless', NS);
      return s && s.metadata.uid !== own.metadata.uid ? s : undefined;
    }, 15_000);
    await kubectlOk(cluster.cp, ['delete', 'wai', 'old-line', '-n', NS, '--wait=false']);
    await eventually(async () => (await getJson(cluster.cp, 'wai', 'old-line', NS)) === undefined, 30_000);
  });
});

describe('deletion', () => {
  test('delete → finalizer work → garbage collector removes every child → nothing left, finalizer gone', async () => {
    const pvcName = 'session-support-line-0';
    await eventually(() => getJson(cluster.cp, 'pvc', pvcName, NS), 30_000);
    await kubectlOk(cluster.cp, ['delete', 'wai', 'support-line', '-n', NS, '--wait=false']);
    await eventually(async () => (await getJson(cluster.cp, 'wai', 'support-line', NS)) === undefined, 30_000);
    await eventually(async () => {
      const c = await children('support-line');
      return Object.values(c).every((o) => o === undefined);
    }, 60_000);
    await eventually(async () => (await getJson(cluster.cp, 'pvc', pvcName, NS)) === undefined, 60_000);
  });
});

describe('metrics', () => {
  test('controller-runtime names and wacloud_instances{phase}', async () => {
    expect(
      await cluster.op.metric('controller_runtime_reconcile_total', { controller: 'whatsappinstance', result: 'success' }),
    ).toBeGreaterThan(0);
    const text = await cluster.op.metrics();
    for (const n of [
      'controller_runtime_reconcile_errors_total',
      'controller_runtime_reconcile_time_seconds_bucket',
      'workqueue_depth',
      'workqueue_adds_total',
      'workqueue_retries_total',
      'leader_election_master_status',
    ]) {
      expect(text).toContain(n);
    }
    expect(await cluster.op.metric('wacloud_instances', { phase: 'Provisioning' })).toBeGreaterThanOrEqual(1);
    expect(await cluster.op.metric('leader_election_master_status', { name: 'wacloud-operator' })).toBe(1);
    expect((await fetch(`${cluster.op.metricsUrl}/readyz`)).status).toBe(200);
  });
});

test('RBAC manifest grants no wildcard and no delete', () => {
  const rbac = readFileSync(RBAC_YAML, 'utf8');
  expect(rbac).not.toMatch(/['"]\*['"]|\[\*\]/);
  expect(rbac).not.toMatch(/\bdelete\b(?!s)/);
});
