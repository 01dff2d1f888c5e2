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
  api = await startApiProcess({ mongo, env: { PROVIDER: 'kubernetes', KUBECONFIG: cp.adminKubeconfigPath, K8S_NAMESPACE: NS } });
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
