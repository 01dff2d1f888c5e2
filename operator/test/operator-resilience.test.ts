/**
 * The operator's resilience against a real control plane (etcd, kube-apiserver, kube-controller-manager) of its own:
 * an apiserver restart mid-run, and leader election between two operator processes (a failover only after the lease
 * has expired). The operator runs as its own process under deploy/rbac.yaml, as in operator.test.ts.
 */
import { eventually } from '@wacloud/testenv';
import { getJson, kubectlOk, startOperator, useOperatorCluster } from './harness.js';

const NS = 'tenants';
const cluster = useOperatorCluster(NS, 'op-1');

describe('resilience', () => {
  test('restart the apiserver mid-run: the operator relists and converges without a restart', async () => {
    await kubectlOk(
      cluster.cp,
      ['apply', '-n', NS, '-f', '-'],
      'apiVersion: wacloud.io/v1alpha1\nkind: WhatsAppInstance\nmetadata: {name: before-restart}\nspec: {owner: tenant-r}\n',
    );
    await eventually(() => getJson(cluster.cp, 'statefulset', 'before-restart', NS), 30_000);
    const pid = cluster.op.proc.pid;
    await cluster.cp.restartApiserver();
    await kubectlOk(
      cluster.cp,
      ['apply', '-n', NS, '-f', '-'],
      'apiVersion: wacloud.io/v1alpha1\nkind: WhatsAppInstance\nmetadata: {name: after-restart}\nspec: {owner: tenant-r, suspended: true}\n',
    );
    const sts = await eventually(() => getJson(cluster.cp, 'statefulset', 'after-restart', NS), 60_000);
    expect(sts.spec.replicas).toBe(0);
    await kubectlOk(cluster.cp, ['patch', 'wai', 'before-restart', '-n', NS, '--type=merge', '-p', '{"spec":{"suspended":true}}']);
    await eventually(async () => (await getJson(cluster.cp, 'statefulset', 'before-restart', NS)).spec.replicas === 0, 30_000);
    expect(cluster.op.proc.pid).toBe(pid);
    expect(cluster.op.proc.child.exitCode).toBeNull();
  }, 120_000);

  test('two operators: only the leader reconciles; kill it and the other takes over once the lease has expired, not before', async () => {
    const standby = await startOperator(cluster.kubeconfig, 'op-2');
    try {
      await eventually(async () => (await standby.metric('leader_election_master_status', { name: 'wacloud-operator' })) === 0, 15_000);
      // A standby is ready (its informers wait for the lease): a rolling update of one replica can replace the leader.
      expect((await fetch(`${standby.metricsUrl}/readyz`)).status).toBe(200);
      await kubectlOk(
        cluster.cp,
        ['apply', '-n', NS, '-f', '-'],
        'apiVersion: wacloud.io/v1alpha1\nkind: WhatsAppInstance\nmetadata: {name: led-by-one}\nspec: {owner: tenant-l}\n',
      );
      await eventually(() => getJson(cluster.cp, 'statefulset', 'led-by-one', NS), 30_000);
      expect((await standby.metric('controller_runtime_reconcile_total', { controller: 'whatsappinstance', result: 'success' })) ?? 0).toBe(
        0,
      );
      const lease = await getJson(cluster.cp, 'lease', 'wacloud-operator', 'wacloud-system');
      expect(lease.spec.holderIdentity).toBe('op-1');

      await cluster.op.proc.kill9();
      const killedAt = Date.now();
      // op-1's last renewal: the lease is op-1's until renewTime + leaseDurationSeconds.
      const held = (await getJson(cluster.cp, 'lease', 'wacloud-operator', 'wacloud-system')).spec;
      expect(held.holderIdentity).toBe('op-1');
      // Speed is the benchmark's business; here only the order counts. The bound is three lease durations.
      const taken = await eventually(
        async () => {
          const spec = (await getJson(cluster.cp, 'lease', 'wacloud-operator', 'wacloud-system')).spec;
          return spec.holderIdentity === 'op-2' ? spec : undefined;
        },
        3 * held.leaseDurationSeconds * 1000,
        250,
      );
      const tookOverMs = Date.now() - killedAt;
      const expiredAt = Date.parse(held.renewTime) + held.leaseDurationSeconds * 1000;
      // acquireTime has microsecond precision; allow the apiserver's second-rounding of renewTime on older servers.
      expect(Date.parse(taken.acquireTime)).toBeGreaterThanOrEqual(expiredAt - 1000);
      await kubectlOk(
        cluster.cp,
        ['apply', '-n', NS, '-f', '-'],
        'apiVersion: wacloud.io/v1alpha1\nkind: WhatsAppInstance\nmetadata: {name: after-failover}\nspec: {owner: tenant-l}\n',
      );
      await eventually(() => getJson(cluster.cp, 'statefulset', 'after-failover', NS), 30_000);
      expect(
        await standby.metric('controller_runtime_reconcile_total', { controller: 'whatsappinstance', result: 'success' }),
      ).toBeGreaterThan(0);
      process.stdout.write(`leader failover took ${tookOverMs} ms\n`);
    } finally {
      await standby.stop();
    }
  }, 90_000);
});
