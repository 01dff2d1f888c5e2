/**
 * The operator image (operator/Dockerfile), built by a real dockerd, runs as its non-root user against the real
 * control plane under exactly its RBAC role: it elects itself leader, serves /healthz and /metrics, and reconciles a
 * WhatsAppInstance into its StatefulSet with Reconciled=True (issue #7, acceptance 2).
 */
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildWacloudImage, eventually, freePort, startDockerd, testImageTag, type ControlPlane } from '@wacloud/testenv';
import { OPERATOR_NS, getJson, kubectlOk, startClusterWithCrd } from './harness.js';

const docker = await startDockerd();
if (!docker.ok) console.warn(`SKIPPED operator image test: no Docker engine here — ${docker.reason}`);

(docker.ok ? describe : describe.skip)('operator image against the real control plane', () => {
  const d = docker.ok ? docker.dockerd : (undefined as never);
  let cp: ControlPlane;
  let dir: string;
  let container = '';
  let metricsPort = 0;

  beforeAll(async () => {
    await buildWacloudImage(d, 'operator');
    const cluster = await startClusterWithCrd();
    cp = cluster.cp;
    // The container runs as uid 65532: give it a readable copy of the ServiceAccount kubeconfig.
    dir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-op-image-'));
    chmodSync(dir, 0o755);
    copyFileSync(cluster.operatorKubeconfig, path.join(dir, 'kubeconfig'));
    chmodSync(path.join(dir, 'kubeconfig'), 0o644);
    metricsPort = await freePort();
    container = (
      await d.docker([
        'run',
        '-d',
        '--network',
        'host',
        '--read-only',
        '-v',
        `${dir}:/etc/wacloud:ro`,
        '-e',
        'KUBECONFIG=/etc/wacloud/kubeconfig',
        '-e',
        `POD_NAMESPACE=${OPERATOR_NS}`,
        '-e',
        'POD_NAME=op-image',
        '-e',
        `METRICS_PORT=${metricsPort}`,
        '-e',
        'INSTANCE_IMAGE=wacloud/instance:test',
        // No MongoDB behind this control plane: instances share the (unreachable) default credentials.
        '-e',
        'INSTANCE_DATABASE_USERS=off',
        testImageTag('operator'),
      ])
    ).trim();
  }, 1_800_000);

  afterAll(async () => {
    if (container) await d.docker(['rm', '-f', container]).catch(() => undefined);
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await d.release();
  }, 60_000);

  it('leads, serves its metrics, and reconciles an instance into a StatefulSet', async () => {
    const logs = async (): Promise<string> => d.docker(['logs', '--tail', '40', container]).catch((e: Error) => e.message);
    await eventually(
      async () => (await getJson(cp, 'lease', 'wacloud-operator', OPERATOR_NS))?.spec?.holderIdentity === 'op-image',
      30_000,
      250,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await logs()}`);
    });
    await kubectlOk(cp, ['create', 'namespace', 'img']);
    await kubectlOk(
      cp,
      ['apply', '-n', 'img', '-f', '-'],
      'apiVersion: wacloud.io/v1alpha1\nkind: WhatsAppInstance\nmetadata: {name: from-image}\nspec: {owner: tenant-img}\n',
    );
    const sts = await eventually(() => getJson(cp, 'statefulset', 'from-image', 'img'), 30_000);
    expect(sts.metadata.ownerReferences[0]).toMatchObject({ kind: 'WhatsAppInstance', name: 'from-image', controller: true });
    expect(sts.spec.template.spec.containers[0].image).toBe('wacloud/instance:test');
    const wai = await eventually(async () => {
      const w = await getJson(cp, 'whatsappinstance', 'from-image', 'img');
      return w?.status?.conditions?.find((c: { type: string; status: string }) => c.type === 'Reconciled' && c.status === 'True')
        ? w
        : undefined;
    }, 30_000);
    expect(wai.status.conditions.find((c: { type: string }) => c.type === 'Reconciled').observedGeneration).toBe(wai.metadata.generation);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/controller_runtime_reconcile_total\{[^}]*result="success"[^}]*\} [1-9]/);
    const user = JSON.parse(await d.docker(['inspect', container]))[0].Config.User as string;
    expect(user).toBe('65532:65532');
  });
});
