/**
 * The periodic resync of up-to-date instances does no work (src/desired-memo.ts), against a real control plane with
 * the operator as its own process (resync every 1.5 s): no child is built or hashed
 * (`wacloud_desired_children_built_total`) and nothing is written (the apiserver's own request counts); each input of
 * the builders still reaches the cluster when it changes; children edited or deleted by hand are still put back.
 */
import { eventually } from '@wacloud/testenv';
import { getJson, kubectlOk, useOperatorCluster } from './harness.js';

const NS = 'resync';
const NAME = 'steady';
const cluster = useOperatorCluster(NS, 'op-resync', { RESYNC_PERIOD_MS: '1500' });

const built = async () => (await cluster.op.metric('wacloud_desired_children_built_total')) ?? 0;
const reconciles = async () => (await cluster.op.metric('controller_runtime_reconcile_total', { result: 'success' })) ?? 0;

/** Writes (POST, PUT, PATCH, APPLY) the apiserver has served on the instances' children so far (all clients). */
async function childWrites(): Promise<number> {
  const text = await kubectlOk(cluster.cp, ['get', '--raw', '/metrics']);
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    if (!/resource="(statefulsets|services|secrets|networkpolicies)"/.test(line) || /subresource="status"/.test(line)) continue;
    if (/verb="(POST|PUT|PATCH|APPLY)"/.test(line)) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

/** Waits for at least two more resyncs (each reconciles the one instance again). */
async function twoResyncs(): Promise<void> {
  const r0 = await reconciles();
  await eventually(async () => (await reconciles()) >= r0 + 2, 20_000, 250);
}

const patch = (p: object) => kubectlOk(cluster.cp, ['patch', 'wai', NAME, '-n', NS, '--type=merge', '-p', JSON.stringify(p)]);
const sts = () => getJson(cluster.cp, 'statefulset', NAME, NS);
const container = async () => (await sts())?.spec.template.spec.containers[0];
const env = async (name: string) => (await container())?.env.find((e: { name: string }) => e.name === name)?.value;

async function reconciled(): Promise<void> {
  await eventually(async () => {
    const w = await getJson(cluster.cp, 'wai', NAME, NS);
    const c = w?.status?.conditions?.find((x: { type: string }) => x.type === 'Reconciled');
    return c?.status === 'True' && c.observedGeneration === w.metadata.generation;
  }, 30_000);
}

/** Applies the test's instance (owner tenant-r). */
async function applyInstance(): Promise<void> {
  await kubectlOk(
    cluster.cp,
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'wacloud.io/v1alpha1',
      kind: 'WhatsAppInstance',
      metadata: { name: NAME, namespace: NS },
      spec: { owner: 'tenant-r' },
    }),
  );
}

describe('a resync of an up-to-date instance', () => {
  beforeAll(async () => {
    await applyInstance();
    await reconciled();
    await eventually(() => getJson(cluster.cp, 'service', 'wacloud-instances', NS));
  }, 60_000);

  test('builds no child and writes nothing; a label on the instance (no builder reads it) changes neither', async () => {
    await twoResyncs(); // the echoes of the first writes are over
    const [b0, w0] = [await built(), await childWrites()];
    await twoResyncs();
    expect(await built()).toBe(b0);
    expect(await childWrites()).toBe(w0);
    await kubectlOk(cluster.cp, ['label', 'wai', NAME, '-n', NS, 'team=blue']);
    await twoResyncs();
    expect(await built()).toBe(b0);
    expect(await childWrites()).toBe(w0);
  }, 60_000);

  test('each input of the builders still reaches the cluster: one build and the child written', async () => {
    const changes: Array<[string, () => Promise<unknown>, () => Promise<boolean>]> = [
      [
        'spec.image',
        () => patch({ spec: { image: 'wacloud/instance:next' } }),
        async () => (await container())?.image === 'wacloud/instance:next',
      ],
      [
        'restarted-at annotation',
        () => patch({ metadata: { annotations: { 'wacloud.io/restarted-at': '2026-12-02T06:00:00Z' } } }),
        async () => (await sts())?.spec.template.metadata.annotations?.['wacloud.io/restarted-at'] === '2026-12-02T06:00:00Z',
      ],
      ['spec.suspended', () => patch({ spec: { suspended: true } }), async () => (await sts())?.spec.replicas === 0],
      ['spec.engine', () => patch({ spec: { engine: 'simulated' } }), async () => (await env('SIMNET_URL')) !== undefined],
      [
        'spec.webhook',
        () => patch({ spec: { webhook: { url: 'https://hooks.example/x' } } }),
        async () => (await env('WEBHOOK_URL')) === 'https://hooks.example/x',
      ],
      [
        'spec.resources',
        () => patch({ spec: { resources: { limits: { memory: '700Mi' } } } }),
        async () => (await container())?.resources?.limits?.memory === '700Mi',
      ],
      [
        'spec.mongodb.database (the Secret)',
        () => patch({ spec: { mongodb: { database: 'renamed_db' } } }),
        async () => {
          const s = await getJson(cluster.cp, 'secret', `${NAME}-internal`, NS);
          return Buffer.from(s?.data?.['mongodb-uri'] ?? '', 'base64')
            .toString()
            .includes('/renamed_db');
        },
      ],
    ];
    for (const [input, change, reached] of changes) {
      const b0 = await built();
      await change();
      await eventually(reached, 20_000).catch((err: Error) => {
        throw new Error(`${input}: ${err.message}`);
      });
      expect([input, (await built()) > b0]).toEqual([input, true]);
    }
    await reconciled();
  }, 120_000);

  test('a new instance of the same name (a new uid) gets children owned by it', async () => {
    await kubectlOk(cluster.cp, ['delete', 'wai', NAME, '-n', NS, '--wait=true', '--timeout=60s']);
    await eventually(async () => (await sts()) === undefined, 60_000);
    await applyInstance();
    const uid = (await getJson(cluster.cp, 'wai', NAME, NS)).metadata.uid;
    const s = await eventually(async () => {
      const x = await sts();
      return x?.metadata.ownerReferences?.[0]?.uid === uid ? x : undefined;
    }, 30_000);
    expect(s.metadata.ownerReferences[0]).toMatchObject({ kind: 'WhatsAppInstance', uid, controller: true });
    await reconciled();
  }, 120_000);

  test('children edited by hand are put back although nothing is rebuilt for a resync', async () => {
    await eventually(async () => (await container())?.image !== undefined);
    const image = (await container()).image;
    await kubectlOk(cluster.cp, ['set', 'image', `statefulset/${NAME}`, '-n', NS, 'instance=tampered:1']);
    await eventually(async () => (await container())?.image === image, 20_000);
    await kubectlOk(cluster.cp, [
      'patch',
      'service',
      'wacloud-instances',
      '-n',
      NS,
      '--type=merge',
      '-p',
      '{"spec":{"publishNotReadyAddresses":false}}',
    ]);
    await eventually(
      async () => (await getJson(cluster.cp, 'service', 'wacloud-instances', NS))?.spec.publishNotReadyAddresses === true,
      20_000,
    );
    await kubectlOk(cluster.cp, ['label', 'secret', `${NAME}-internal`, '-n', NS, 'wacloud.io/owner=someone-else', '--overwrite']);
    await eventually(
      async () => (await getJson(cluster.cp, 'secret', `${NAME}-internal`, NS))?.metadata.labels['wacloud.io/owner'] === 'tenant-r',
      20_000,
    );
  }, 90_000);
});
