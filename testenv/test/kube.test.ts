/**
 * startControlPlane against the real binaries (etcd, kube-apiserver, kube-controller-manager, kubectl from
 * .tools/bin): one control plane for the whole file.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { eventually, startControlPlane, type ControlPlane } from '../src/index.js';

let cp: ControlPlane;
let startMs = 0;

beforeAll(async () => {
  const t0 = Date.now();
  cp = await startControlPlane();
  startMs = Date.now() - t0;
  process.stderr.write(`control plane started in ${startMs} ms (${cp.server})\n`);
}, 90_000);

afterAll(async () => {
  if (!cp) return;
  const dir = cp.dir;
  const t0 = Date.now();
  await cp.stop();
  process.stderr.write(`control plane stopped in ${Date.now() - t0} ms\n`);
  if (!cp.external) expect(existsSync(dir)).toBe(false);
}, 30_000);

/** kubectl that must succeed; returns stdout, or throws with stderr and the control plane's log tails. */
async function k(args: string[], opts?: { stdin?: string; kubeconfig?: string }): Promise<string> {
  const r = await cp.kubectl(args, opts);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} → ${r.code}: ${r.stderr}\n${cp.logs(1500)}`);
  return r.stdout;
}

test('kubectl get ns works with the admin kubeconfig, and so does client-node', async () => {
  expect(cp.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  expect(await k(['get', 'ns', '-o', 'name'])).toContain('namespace/kube-system');
  const core = cp.kubeConfig().makeApiClient(CoreV1Api);
  const list = await core.listNamespace();
  expect(list.items.map((n) => n.metadata?.name)).toEqual(expect.arrayContaining(['default', 'kube-system']));
  expect(Buffer.from(cp.caData!, 'base64').toString()).toContain('BEGIN CERTIFICATE');
});

test('a new namespace gets its default ServiceAccount (the controller-manager runs)', async () => {
  await k(['create', 'ns', 'sa-check']);
  await eventually(async () => (await cp.kubectl(['-n', 'sa-check', 'get', 'sa', 'default'])).code === 0, 30_000);
});

test('an ownerReference dependent is garbage-collected after its owner is deleted', async () => {
  await k(['create', 'ns', 'gc-check']);
  await k(['-n', 'gc-check', 'create', 'configmap', 'owner']);
  const uid = await k(['-n', 'gc-check', 'get', 'configmap', 'owner', '-o', 'jsonpath={.metadata.uid}']);
  await k(['-n', 'gc-check', 'apply', '-f', '-'], {
    stdin: JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'dependent', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid }] },
    }),
  });
  await k(['-n', 'gc-check', 'delete', 'configmap', 'owner']);
  await eventually(async () => (await cp.kubectl(['-n', 'gc-check', 'get', 'configmap', 'dependent'])).code !== 0, 40_000);
});

test('a ServiceAccount kubeconfig is forbidden to list secrets until a Role and RoleBinding grant it', async () => {
  const kubeconfig = await cp.serviceAccountKubeconfig('rbac-check', 'reader');
  const who = await k(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { kubeconfig });
  expect(who).toBe('system:serviceaccount:rbac-check:reader');
  const denied = await cp.kubectl(['get', 'secrets'], { kubeconfig });
  expect(denied.code).not.toBe(0);
  expect(denied.stderr).toMatch(/forbidden/i);
  await k(['-n', 'rbac-check', 'create', 'role', 'secret-reader', '--verb=list,get', '--resource=secrets']);
  await k(['-n', 'rbac-check', 'create', 'rolebinding', 'reader', '--role=secret-reader', '--serviceaccount=rbac-check:reader']);
  await eventually(async () => (await cp.kubectl(['get', 'secrets'], { kubeconfig })).code === 0, 10_000);
  // Still confined to its namespace.
  expect((await cp.kubectl(['-n', 'default', 'get', 'secrets'], { kubeconfig })).code).not.toBe(0);
});

test('restartApiserver() keeps the data and the CA', async () => {
  await k(['create', 'ns', 'restart-check']);
  await k(['-n', 'restart-check', 'create', 'configmap', 'survivor', '--from-literal=k=v']);
  const before = cp.processes.apiserver!.pid;
  const t0 = Date.now();
  await cp.restartApiserver();
  process.stderr.write(`apiserver restarted in ${Date.now() - t0} ms\n`);
  expect(cp.processes.apiserver!.pid).not.toBe(before);
  expect(await k(['-n', 'restart-check', 'get', 'configmap', 'survivor', '-o', 'jsonpath={.data.k}'])).toBe('v');
  // The controllers still work against the restarted apiserver.
  await k(['create', 'ns', 'after-restart']);
  await eventually(async () => (await cp.kubectl(['-n', 'after-restart', 'get', 'sa', 'default'])).code === 0, 30_000);
});
