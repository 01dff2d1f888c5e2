/**
 * Issue #4 acceptance 1: with a real control plane (etcd, kube-apiserver, kube-controller-manager) and the operator
 * running under its own RBAC, the api with the `kubernetes` provider: register → deposit → create → the
 * WhatsAppInstance exists with the owner label → the operator's StatefulSet exists → delete → the resource and its
 * children are gone. (No kubelet runs here, so pods stay Pending; the api runs with the admin kubeconfig.)
 */
import { eventually, startMongo, type ControlPlane, type MongoServer } from '@wacloud/testenv';
import { getJson, kubectlOk, startClusterWithCrd, startOperator, type RunningOperator } from '../../operator/test/harness.js';
import { startApiProcess, tenant, type RunningApi } from './harness.js';

const NS = 'wacloud-instances';
let cp: ControlPlane;
let op: RunningOperator;
let mongo: MongoServer;
let api: RunningApi;

beforeAll(async () => {
  const cluster = await startClusterWithCrd();
  cp = cluster.cp;
  await kubectlOk(cp, ['create', 'namespace', NS]);
  op = await startOperator(cluster.operatorKubeconfig, 'op-e2e');
  mongo = await startMongo();
  api = await startApiProcess({
    mongo,
    // No kubelet: instances never run, so the wait for a starting one is short here (60 s by default).
    env: { PROVIDER: 'kubernetes', KUBECONFIG: cp.adminKubeconfigPath, K8S_NAMESPACE: NS, INSTANCE_READY_WAIT_MS: '2000' },
  });
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await op?.stop();
  await Promise.allSettled([cp?.stop(), mongo?.stop()]);
});

test('register → deposit → create → resource with owner label → StatefulSet → delete → all gone', async () => {
  const token = await tenant(api, 'kube@example.com', 5_000);
  const me = await api.call('GET', '/v1/me', { token });
  const created = await api.call('POST', '/v1/instances', { token, body: { name: 'on kubernetes' } });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  expect(created.body.provider).toBe('kubernetes');

  const wai = await eventually(() => getJson(cp, 'wai', id, NS), 15_000);
  expect(wai.metadata.labels['wacloud.io/owner']).toBe(me.body.id);
  expect(wai.spec).toMatchObject({ owner: me.body.id, suspended: false });
  const sts = await eventually(() => getJson(cp, 'statefulset', id, NS), 30_000);
  expect(sts.metadata.ownerReferences[0]).toMatchObject({ kind: 'WhatsAppInstance', name: id, uid: wai.metadata.uid });
  const shown = await eventually(async () => {
    const r = await api.call('GET', `/v1/instances/${id}`, { token });
    return r.body.phase === 'Provisioning' ? r.body : undefined;
  }, 30_000);
  expect(shown).toMatchObject({ id, suspended: false });
  // The instance's API cannot be reached without a kubelet: tokens and the gateway answer 503, not 500.
  expect((await api.call('GET', `/v1/instances/${id}/tokens`, { token })).status).toBe(503);

  expect((await api.call('DELETE', `/v1/instances/${id}`, { token })).status).toBe(204);
  await eventually(async () => (await getJson(cp, 'wai', id, NS)) === undefined, 30_000);
  await eventually(async () => {
    const left = await Promise.all([
      getJson(cp, 'statefulset', id, NS),
      getJson(cp, 'service', id, NS),
      getJson(cp, 'secret', `${id}-internal`, NS),
      getJson(cp, 'networkpolicy', id, NS),
    ]);
    return left.every((o) => o === undefined);
  }, 60_000);
  expect((await api.call('GET', `/v1/instances/${id}`, { token })).status).toBe(404);
}, 120_000);

test('session control on kubernetes: stop scales the StatefulSet to zero, start back to one, restart rolls the pod template', async () => {
  const token = await tenant(api, 'kube-control@example.com', 5_000);
  const created = await api.call('POST', '/v1/instances', { token, body: { name: 'controlled on kubernetes' } });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const replicas = (n: number) => eventually(async () => (await getJson(cp, 'statefulset', id, NS))?.spec.replicas === n, 30_000);
  await replicas(1);

  const stopped = await api.call('POST', `/v1/instances/${id}/stop`, { token });
  expect(stopped.status).toBe(200);
  expect(stopped.body).toMatchObject({ id, phase: 'Stopped', stopped: true, suspended: false });
  expect((await getJson(cp, 'wai', id, NS)).spec.suspended).toBe(true);
  await replicas(0);
  expect((await api.call('GET', `/v1/instances/${id}`, { token })).body).toMatchObject({ phase: 'Stopped', stopped: true });
  const refused = await api.call('POST', `/v1/instances/${id}/restart`, { token });
  expect(refused.status).toBe(409);
  expect(refused.body.error.code).toBe('instance_stopped');

  const started = await api.call('POST', `/v1/instances/${id}/start`, { token });
  expect(started.status).toBe(200);
  expect(started.body).toMatchObject({ id, stopped: false });
  expect((await getJson(cp, 'wai', id, NS)).spec.suspended).toBe(false);
  await replicas(1);

  const restarted = await api.call('POST', `/v1/instances/${id}/restart`, { token });
  expect(restarted.status).toBe(200);
  const at = (await getJson(cp, 'wai', id, NS)).metadata.annotations['wacloud.io/restarted-at'];
  expect(Date.parse(at)).toBeGreaterThan(Date.parse(created.body.createdAt) - 1_000);
  // The operator carries the request onto the pod template: the StatefulSet controller rolls the pod.
  await eventually(
    async () => (await getJson(cp, 'statefulset', id, NS))?.spec.template.metadata.annotations?.['wacloud.io/restarted-at'] === at,
    30_000,
  );
  expect((await getJson(cp, 'wai', id, NS)).spec).toMatchObject({ suspended: false, owner: expect.any(String) });

  expect((await api.call('DELETE', `/v1/instances/${id}`, { token })).status).toBe(204);
  await eventually(async () => (await getJson(cp, 'wai', id, NS)) === undefined, 30_000);
}, 120_000);
