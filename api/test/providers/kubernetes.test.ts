/**
 * KubernetesProvider against a real control plane (etcd, kube-apiserver, kube-controller-manager from testenv) with
 * the CRD applied and a real operator process (operator/dist, started by the operator's test harness under its own
 * ServiceAccount). The provider itself runs with the admin kubeconfig here; the chart will give the api its own Role.
 *
 * There is no kubelet or scheduler: instance pods are never created-and-run, so an instance never reaches `Running`
 * through the operator. The happy path of `endpoints` is covered in a namespace the operator does not watch, where
 * the test writes the status and Secret an operator would.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiServerError } from '@wacloud/kube-runtime';
import { eventually, freePort, type ControlPlane } from '@wacloud/testenv';
import { pino } from 'pino';
import { KubernetesProvider } from '../../src/providers/kubernetes/provider.js';
import { ProviderError, type ProvisionRequest } from '../../src/providers/provider.js';

import { getJson, kubectlOk, startClusterWithCrd, startOperator, type RunningOperator } from '../../../operator/test/harness.js';

const NS = 'tenants';
/** Not watched by the operator (WATCH_NAMESPACE=tenants): the test plays the operator there. */
const UNWATCHED = 'unwatched';

let cp: ControlPlane;
let op: RunningOperator;
let provider: KubernetesProvider;
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

beforeAll(async () => {
  const started = await startClusterWithCrd();
  cp = started.cp;
  await kubectlOk(cp, ['create', 'namespace', NS]);
  await kubectlOk(cp, ['create', 'namespace', UNWATCHED]);
  op = await startOperator(started.operatorKubeconfig, 'op-api-test', { WATCH_NAMESPACE: NS, PROBE_SESSIONS: 'false' });
  // The admin kubeconfig (system:masters); in the cluster the api gets its own Role from the chart.
  provider = new KubernetesProvider({ kubeConfig: cp.kubeConfig(), namespace: NS, logger });
}, 120_000);

afterAll(async () => {
  await provider?.close();
  await op?.stop();
  await cp?.stop();
});

afterEach(() => {
  const s = expect.getState() as { suppressedErrors?: unknown[] };
  if (s.suppressedErrors?.length) process.stderr.write(op?.proc.output().slice(-3000) ?? '');
});

const req = (id: string, over: Partial<ProvisionRequest> = {}): ProvisionRequest => ({
  id,
  owner: 'tenant-a',
  name: `Line ${id}`,
  engine: 'simulated',
  suspended: false,
  ...over,
});

/** The ProviderError code a promise rejects with (fails the test if it resolves or rejects otherwise). */
async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return (err as ProviderError).code;
}

const sts = (name: string) => getJson(cp, 'statefulset', name, NS);

describe('create', () => {
  test('applies a WhatsAppInstance (labels, annotation, spec, field manager); the operator makes its owned StatefulSet; idempotent', async () => {
    await provider.create(req('line-1'));
    const wai = await getJson(cp, 'wai', 'line-1', NS);
    expect(wai.metadata.labels).toEqual({ 'wacloud.io/owner': 'tenant-a', 'app.kubernetes.io/managed-by': 'wacloud-api' });
    expect(wai.metadata.annotations).toMatchObject({ 'wacloud.io/display-name': 'Line line-1' });
    expect(wai.spec).toEqual({ owner: 'tenant-a', engine: 'simulated', suspended: false });
    const api = wai.metadata.managedFields.find((f: { manager: string }) => f.manager === 'wacloud-api');
    expect(api.operation).toBe('Apply');
    expect(Object.keys(api.fieldsV1['f:spec'])).toEqual(expect.arrayContaining(['f:owner', 'f:engine', 'f:suspended']));

    const set = await eventually(() => sts('line-1'), 30_000);
    expect(set.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'WhatsAppInstance', name: 'line-1', uid: wai.metadata.uid, controller: true }),
    ]);
    expect(set.spec.replicas).toBe(1);

    await provider.create(req('line-1'));
    const again = await getJson(cp, 'wai', 'line-1', NS);
    expect(again.metadata.generation).toBe(wai.metadata.generation);
  });

  test('a different owner for an existing id is refused by the apiserver (owner is immutable): `rejected`, not `unavailable`', async () => {
    const err = await provider.create(req('line-1', { owner: 'tenant-b' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).code).toBe('rejected');
    expect((err as Error).message).toMatch(/owner is immutable/);
    const cause = (err as Error).cause;
    expect(cause).toBeInstanceOf(ApiServerError);
    expect((cause as ApiServerError).status).toBe(422);
    expect((cause as ApiServerError).reason).toBe('Invalid');
  });
});

describe('status and endpoints', () => {
  test('status goes Provisioning (no kubelet here, so never Running) with the Ready condition as message', async () => {
    const s = await eventually(async () => {
      const st = await provider.status('line-1');
      return st.phase === 'Provisioning' ? st : undefined;
    }, 30_000);
    expect(s.message).toMatch(/Waiting for the instance pod/);
    expect(s.sessionState).toBeUndefined();
    expect(await provider.status('no-such-line')).toEqual({ phase: 'NotFound' });
  });

  test('endpoints: not_ready while not Running (even though the Secret exists), not_found for an unknown id', async () => {
    await eventually(() => getJson(cp, 'secret', 'line-1-internal', NS), 30_000);
    expect(await codeOf(provider.endpoints('line-1'))).toBe('not_ready');
    expect(await codeOf(provider.endpoints('no-such-line'))).toBe('not_found');
  });

  test('the internal key read from the Secret equals what kubectl shows', async () => {
    const b64 = await kubectlOk(cp, ['get', 'secret', 'line-1-internal', '-n', NS, '-o', 'jsonpath={.data.internal-api-key}']);
    const key = await provider.internalKey('line-1');
    expect(key.length).toBeGreaterThanOrEqual(16);
    expect(key).toBe(Buffer.from(b64, 'base64').toString('utf8'));
    expect(await codeOf(provider.internalKey('no-such-line'))).toBe('not_found');
  });

  test('endpoints of a Running instance: URLs of its pod under status.serviceName, key from status.internalSecretRef', async () => {
    const p = new KubernetesProvider({
      kubeConfig: cp.kubeConfig(),
      namespace: UNWATCHED,
      logger,
      serviceDomain: 'svc.cluster.local',
      image: 'wacloud/instance:9',
    });
    await p.create(req('by-hand', { owner: 'tenant-h' }));
    expect((await getJson(cp, 'wai', 'by-hand', UNWATCHED)).spec.image).toBe('wacloud/instance:9');
    expect(await p.status('by-hand')).toEqual({ phase: 'Pending', message: 'Waiting for the operator to reconcile the instance' });
    const status = {
      phase: 'Running',
      serviceName: 'custom-svc',
      internalSecretRef: { name: 'custom-secret', key: 'k' },
      session: { state: 'WORKING' },
    };
    await kubectlOk(cp, [
      'patch',
      'wai',
      'by-hand',
      '-n',
      UNWATCHED,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status }),
    ]);
    expect(await p.status('by-hand')).toEqual({ phase: 'Running', sessionState: 'WORKING' });
    expect(await codeOf(p.endpoints('by-hand'))).toBe('not_ready'); // the Secret is not there yet
    await kubectlOk(cp, ['create', 'secret', 'generic', 'custom-secret', '-n', UNWATCHED, '--from-literal=k=s3cr3t-key']);
    // The pod's own DNS name under the governing Service status.serviceName names (never that Service's name alone).
    expect(await p.endpoints('by-hand')).toEqual({
      publicUrl: 'http://by-hand-0.custom-svc.unwatched.svc.cluster.local:8080',
      internalUrl: 'http://by-hand-0.custom-svc.unwatched.svc.cluster.local:8081',
      internalKey: 's3cr3t-key',
    });
    await p.suspend('by-hand');
    expect(await codeOf(p.endpoints('by-hand'))).toBe('not_ready'); // suspended, whatever the (stale) status says
    await p.delete('by-hand'); // no operator, so no finalizer: gone at once
    expect(await p.status('by-hand')).toEqual({ phase: 'NotFound' });
    await p.close();
  });
});

describe('suspend and resume', () => {
  test('suspend → spec.suspended (owned by wacloud-api), StatefulSet at 0, phase Suspended; resume → 1, Provisioning', async () => {
    await provider.suspend('line-1');
    const wai = await getJson(cp, 'wai', 'line-1', NS);
    expect(wai.spec).toEqual({ owner: 'tenant-a', engine: 'simulated', suspended: true });
    expect(wai.metadata.annotations['wacloud.io/display-name']).toBe('Line line-1');
    const api = wai.metadata.managedFields.find((f: { manager: string }) => f.manager === 'wacloud-api');
    expect(api.fieldsV1['f:spec']).toHaveProperty('f:suspended');
    await eventually(async () => (await sts('line-1')).spec.replicas === 0, 30_000);
    await eventually(async () => (await provider.status('line-1')).phase === 'Suspended', 30_000);
    await provider.suspend('line-1'); // idempotent

    await provider.resume('line-1');
    expect((await getJson(cp, 'wai', 'line-1', NS)).spec.suspended).toBe(false);
    await eventually(async () => (await sts('line-1')).spec.replicas === 1, 30_000);
    await eventually(async () => (await provider.status('line-1')).phase === 'Provisioning', 30_000);
    expect(await codeOf(provider.suspend('no-such-line'))).toBe('not_found');
  });
});

describe('reconcile', () => {
  test('applies what is desired, deletes api-managed instances that are not, leaves others alone', async () => {
    await provider.create(req('line-2', { owner: 'tenant-b' }));
    await kubectlOk(
      cp,
      ['apply', '-n', NS, '-f', '-'],
      'apiVersion: wacloud.io/v1alpha1\nkind: WhatsAppInstance\nmetadata: {name: by-kubectl}\nspec: {owner: tenant-k}\n',
    );
    await eventually(() => sts('line-2'), 30_000);

    await provider.reconcile([req('line-1', { suspended: true }), req('line-3', { owner: 'tenant-c' })]);
    expect((await getJson(cp, 'wai', 'line-1', NS)).spec.suspended).toBe(true);
    expect((await getJson(cp, 'wai', 'line-3', NS)).metadata.labels['wacloud.io/owner']).toBe('tenant-c');
    await eventually(async () => (await getJson(cp, 'wai', 'line-2', NS)) === undefined, 30_000);
    await eventually(async () => (await sts('line-2')) === undefined, 30_000);
    expect(await getJson(cp, 'wai', 'by-kubectl', NS)).toBeDefined();

    const rv = (await getJson(cp, 'wai', 'line-1', NS)).metadata.resourceVersion;
    await provider.reconcile([req('line-1', { suspended: true }), req('line-3', { owner: 'tenant-c' })]);
    expect((await getJson(cp, 'wai', 'line-1', NS)).metadata.resourceVersion).toBe(rv);
  });
});

describe('delete', () => {
  test('the resource and its StatefulSet are gone (finalizer, then the garbage collector); idempotent', async () => {
    await eventually(() => sts('line-3'), 30_000);
    await provider.delete('line-3');
    const st = await provider.status('line-3');
    expect(['Terminating', 'NotFound']).toContain(st.phase);
    await eventually(async () => (await provider.status('line-3')).phase === 'NotFound', 30_000);
    await eventually(async () => (await sts('line-3')) === undefined, 30_000);
    await eventually(async () => (await getJson(cp, 'secret', 'line-3-internal', NS)) === undefined, 30_000);
    await provider.delete('line-3');
    expect(await codeOf(provider.endpoints('line-3'))).toBe('not_found');
  });
});

describe('an unreachable apiserver', () => {
  test('every call fails with ProviderError unavailable and a clear message', async () => {
    const kc = new KubeConfig();
    const port = await freePort();
    kc.loadFromOptions({
      clusters: [{ name: 'gone', server: `https://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'c', cluster: 'gone', user: 'u' }],
      currentContext: 'c',
    });
    const p = new KubernetesProvider({ kubeConfig: kc, namespace: NS, logger, requestTimeoutMs: 2000 });
    const err = await p.status('line-1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).code).toBe('unavailable');
    expect((err as Error).message).toMatch(new RegExp(`Kubernetes API at https://127.0.0.1:${port} unreachable.*ECONNREFUSED`));
    expect(await codeOf(p.reconcile([req('x')]))).toBe('unavailable');
    await p.close();
    expect((await p.create(req('x')).catch((e: Error) => e.message)) as string).toMatch(/closed/);
  });
});

/** A kubeconfig for a plain-HTTP apiserver stand-in at `server`. */
function kubeConfigFor(server: http.Server): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
    currentContext: 'c',
  });
  return kc;
}

async function listen(handler: http.RequestListener): Promise<http.Server> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('connections', () => {
  test('close aborts a call in flight at once (unavailable, "closed"), not after the request timeout', async () => {
    let received!: () => void;
    const arrived = new Promise<void>((resolve) => (received = resolve));
    const server = await listen(() => received()); // never answers
    try {
      const p = new KubernetesProvider({ kubeConfig: kubeConfigFor(server), namespace: NS, logger, requestTimeoutMs: 60_000 });
      const pending = p.status('line-1').catch((e: unknown) => e);
      await arrived;
      const t0 = performance.now();
      await p.close();
      const err = await pending;
      expect(performance.now() - t0).toBeLessThan(2_000);
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).code).toBe('unavailable');
      expect((err as Error).message).toMatch(/closed/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  // undici (kube-runtime's transport) reuses a connection one event-loop turn after its answer ended (a server that
  // said keep-alive may still close it), so a call made at once after the last one may open a second connection: two at
  // most, never one per call.
  test('consecutive calls reuse keep-alive connections', async () => {
    let connections = 0;
    const server = await listen((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', reason: 'NotFound', code: 404 }));
    });
    server.on('connection', () => connections++);
    try {
      const p = new KubernetesProvider({ kubeConfig: kubeConfigFor(server), namespace: NS, logger });
      for (let i = 0; i < 10; i++) expect(await p.status(`line-${i}`)).toEqual({ phase: 'NotFound' });
      expect(connections).toBeGreaterThanOrEqual(1);
      expect(connections).toBeLessThanOrEqual(2);
      await p.close();
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
