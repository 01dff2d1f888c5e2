/**
 * Informer and leader election against a REAL kube-apiserver (testenv's control plane; nothing is mocked).
 * Watch gaps are made for real: the informer talks to the apiserver through a TCP proxy the test can cut, and the
 * apiserver itself is restarted.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationV1Api, CoreV1Api, KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { eventually, startControlPlane, type ControlPlane } from '@wacloud/testenv';
import { Informer } from '../src/runtime/informer.js';
import type { RuntimeLogger } from '../src/runtime/logger.js';
import { LeaderElector } from '../src/runtime/leader-election.js';
import { createOperatorMetrics, metricValue } from '../src/runtime/metrics.js';

/** Per-test timeout, ms (apiserver restarts and lease expiry take seconds). */
const T = 120_000;

let cp: ControlPlane;
let core: CoreV1Api;
const NS = 'runtime-test';

/** Set RUNTIME_TEST_LOG=1 to see the runtime's log lines. */
const logger: RuntimeLogger | undefined = process.env.RUNTIME_TEST_LOG
  ? (Object.fromEntries(
      (['debug', 'info', 'warn', 'error'] as const).map((l) => [
        l,
        (o: object, m?: string) => process.stderr.write(`${Date.now() % 100_000} ${l} ${m ?? ''} ${JSON.stringify(o)}\n`),
      ]),
    ) as unknown as RuntimeLogger)
  : undefined;

beforeAll(async () => {
  cp = await startControlPlane({ controllerManager: false });
  core = cp.kubeConfig().makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
}, 180_000);

afterAll(async () => {
  await cp?.stop();
});

type Ev = { type: 'add' | 'update' | 'delete' | 'resync'; name: string; data?: Record<string, string> };

/** An informer on ConfigMaps labelled `rt=<label>` that records its events. */
function cmInformer(kc: KubeConfig, label: string, extra: { resyncMs?: number; initialBackoffMs?: number } = {}) {
  const events: Ev[] = [];
  const inf = new Informer<V1ConfigMap>({
    kubeConfig: kc,
    apiVersion: 'v1',
    plural: 'configmaps',
    namespace: NS,
    labelSelector: `rt=${label}`,
    logger,
    ...extra,
  });
  inf.addHandlers({
    onAdd: (o) => events.push({ type: 'add', name: o.metadata!.name!, data: o.data }),
    onUpdate: (old, o) => events.push({ type: old === o ? 'resync' : 'update', name: o.metadata!.name!, data: o.data }),
    onDelete: (o) => events.push({ type: 'delete', name: o.metadata!.name! }),
  });
  return { inf, events };
}

const cm = (name: string, label: string, data: Record<string, string> = {}): V1ConfigMap => ({
  metadata: { name, labels: { rt: label } },
  data,
});
const has = (events: Ev[], type: Ev['type'], name: string) => events.some((e) => e.type === type && e.name === name);

async function updateData(name: string, data: Record<string, string>): Promise<void> {
  const cur = await core.readNamespacedConfigMap({ name, namespace: NS });
  await core.replaceNamespacedConfigMap({ name, namespace: NS, body: { ...cur, data } });
}

/** A TCP proxy to the apiserver that can be cut (all connections reset, new ones refused) and resumed. */
async function startProxy(target: URL) {
  const sockets = new Set<net.Socket>();
  let down = false;
  const server = net.createServer((client) => {
    if (down) return client.destroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    resume() {
      down = false;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('Informer', () => {
  test(
    'lists, then watches adds, updates and deletes into the cache (label selector respected)',
    async () => {
      await core.createNamespacedConfigMap({ namespace: NS, body: cm('pre', 'basic', { v: '0' }) });
      await core.createNamespacedConfigMap({ namespace: NS, body: cm('other', 'unrelated') });
      const { inf, events } = cmInformer(cp.kubeConfig(), 'basic');
      inf.start();
      try {
        await inf.waitForSync(10_000);
        expect(inf.hasSynced()).toBe(true);
        expect(inf.keys()).toEqual([`${NS}/pre`]);
        expect(events).toEqual([{ type: 'add', name: 'pre', data: { v: '0' } }]);
        const pre = inf.get('pre', NS)!;
        expect(pre.kind).toBe('ConfigMap'); // filled in on list items
        expect(pre.apiVersion).toBe('v1');
        expect(typeof pre.metadata!.creationTimestamp).toBe('string'); // raw JSON, as watch events are

        await core.createNamespacedConfigMap({ namespace: NS, body: cm('a', 'basic', { v: '1' }) });
        await eventually(() => has(events, 'add', 'a'));
        await updateData('a', { v: '2' });
        await eventually(() => events.some((e) => e.type === 'update' && e.name === 'a' && e.data?.v === '2'));
        expect(inf.get('a', NS)?.data).toEqual({ v: '2' });
        expect(inf.getByKey(`${NS}/a`)?.data).toEqual({ v: '2' });
        expect(
          inf
            .list(NS)
            .map((o) => o.metadata!.name)
            .sort(),
        ).toEqual(['a', 'pre']);
        expect(inf.list('elsewhere')).toEqual([]);

        await core.deleteNamespacedConfigMap({ name: 'a', namespace: NS });
        await eventually(() => has(events, 'delete', 'a'));
        expect(inf.get('a', NS)).toBeUndefined();
        expect(inf.size()).toBe(1);
        expect(events.some((e) => e.name === 'other')).toBe(false);
        expect(inf.listCount()).toBe(1);
      } finally {
        await inf.stop();
      }
    },
    T,
  );

  test(
    'metadataOnly caches PartialObjectMetadata (no data); upsert writes through and suppresses the same version from the watch',
    async () => {
      await core.createNamespacedConfigMap({ namespace: NS, body: cm('meta-pre', 'meta', { secret: 'value' }) });
      const events: Ev[] = [];
      const inf = new Informer<V1ConfigMap>({
        kubeConfig: cp.kubeConfig(),
        apiVersion: 'v1',
        plural: 'configmaps',
        kind: 'ConfigMap',
        namespace: NS,
        labelSelector: 'rt=meta',
        metadataOnly: true,
        logger,
      });
      inf.addHandlers({
        onAdd: (o) => events.push({ type: 'add', name: o.metadata!.name! }),
        onUpdate: (_old, o) => events.push({ type: 'update', name: o.metadata!.name!, data: o.data }),
      });
      inf.start();
      try {
        await inf.waitForSync(10_000);
        const pre = inf.get('meta-pre', NS)!;
        expect(pre).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'meta-pre', labels: { rt: 'meta' } } });
        expect(pre.data).toBeUndefined();
        // Our own write: its answer goes into the cache at once (the watch is paused so it cannot get there first).
        await inf.stop();
        const created = await core.createNamespacedConfigMap({ namespace: NS, body: cm('mine', 'meta', { v: '1' }) });
        await core.createNamespacedConfigMap({ namespace: NS, body: cm('theirs', 'meta') });
        expect(inf.upsert(JSON.parse(JSON.stringify(created)) as V1ConfigMap)).toBe(true);
        expect(inf.get('mine', NS)?.metadata?.resourceVersion).toBe(created.metadata!.resourceVersion);
        expect(inf.get('mine', NS)?.data).toBeUndefined();
        // Resumed: someone else's object is delivered; ours, already cached at that version, reaches no handler.
        inf.start();
        await eventually(() => has(events, 'add', 'theirs'));
        expect(events.some((e) => e.name === 'mine')).toBe(false);
        // An answer not newer than what the informer has seen is ignored.
        expect(inf.upsert(JSON.parse(JSON.stringify(created)) as V1ConfigMap)).toBe(false);
      } finally {
        await inf.stop();
      }
    },
    T,
  );

  test(
    'pages through a large list (limit/continue) and keeps one cache entry per object',
    async () => {
      await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          core.createNamespacedConfigMap({ namespace: NS, body: cm(`p${i}`, 'page', { i: String(i) }) }),
        ),
      );
      const events: string[] = [];
      const inf = new Informer<V1ConfigMap>({
        kubeConfig: cp.kubeConfig(),
        apiVersion: 'v1',
        plural: 'configmaps',
        namespace: NS,
        labelSelector: 'rt=page',
        pageSize: 7,
        logger,
      });
      inf.addHandlers({ onAdd: (o) => events.push(o.metadata!.name!) });
      inf.start();
      try {
        await inf.waitForSync(10_000);
        expect(inf.size()).toBe(60);
        expect(new Set(events).size).toBe(60);
        expect(events).toHaveLength(60);
        expect(inf.get('p42', NS)?.data).toEqual({ i: '42' });
      } finally {
        await inf.stop();
      }
    },
    T,
  );

  test(
    'after a watch gap (connection cut), relists and delivers the delete, add and update it missed',
    async () => {
      const proxy = await startProxy(new URL(cp.server));
      const kc = new KubeConfig();
      kc.loadFromString(cp.adminKubeconfigYaml.replace(cp.server, proxy.url));
      const { inf, events } = cmInformer(kc, 'gap', { initialBackoffMs: 100 });
      for (const n of ['g1', 'g2']) await core.createNamespacedConfigMap({ namespace: NS, body: cm(n, 'gap', { v: '1' }) });
      inf.start();
      try {
        await inf.waitForSync(10_000);
        expect(inf.size()).toBe(2);
        proxy.cut();
        await sleep(300);
        // changes while the informer cannot see anything
        await core.deleteNamespacedConfigMap({ name: 'g1', namespace: NS });
        await core.createNamespacedConfigMap({ namespace: NS, body: cm('g3', 'gap', { v: '1' }) });
        await updateData('g2', { v: '2' });
        await sleep(500); // a few failed relists with backoff
        expect(has(events, 'delete', 'g1')).toBe(false);
        proxy.resume();
        await eventually(
          () =>
            has(events, 'delete', 'g1') &&
            has(events, 'add', 'g3') &&
            events.some((e) => e.type === 'update' && e.name === 'g2' && e.data?.v === '2'),
          15_000,
        );
        expect(inf.keys().sort()).toEqual([`${NS}/g2`, `${NS}/g3`]);
        expect(inf.listCount()).toBeGreaterThanOrEqual(2);
        // and it keeps watching after the gap
        await core.deleteNamespacedConfigMap({ name: 'g3', namespace: NS });
        await eventually(() => has(events, 'delete', 'g3'));
      } finally {
        await inf.stop();
        await proxy.close();
      }
    },
    T,
  );

  test(
    'survives an apiserver restart and sees changes made right after it',
    async () => {
      const { inf, events } = cmInformer(cp.kubeConfig(), 'restart', { initialBackoffMs: 100 });
      await core.createNamespacedConfigMap({ namespace: NS, body: cm('r1', 'restart') });
      await core.createNamespacedConfigMap({ namespace: NS, body: cm('r2', 'restart') });
      inf.start();
      try {
        await inf.waitForSync(10_000);
        await cp.restartApiserver();
        await core.createNamespacedConfigMap({ namespace: NS, body: cm('r3', 'restart') });
        await core.deleteNamespacedConfigMap({ name: 'r1', namespace: NS });
        await updateData('r2', { v: 'after-restart' });
        await eventually(
          () =>
            has(events, 'add', 'r3') && has(events, 'delete', 'r1') && events.some((e) => e.name === 'r2' && e.data?.v === 'after-restart'),
          30_000,
        );
        expect(inf.keys().sort()).toEqual([`${NS}/r2`, `${NS}/r3`]);
      } finally {
        await inf.stop();
      }
    },
    T,
  );

  test(
    'periodic resync re-delivers every cached object as an update',
    async () => {
      for (const n of ['s1', 's2']) await core.createNamespacedConfigMap({ namespace: NS, body: cm(n, 'resync') });
      const { inf, events } = cmInformer(cp.kubeConfig(), 'resync', { resyncMs: 300 });
      inf.start();
      try {
        await inf.waitForSync(10_000);
        await eventually(
          () =>
            events.filter((e) => e.type === 'resync' && e.name === 's1').length >= 2 &&
            events.filter((e) => e.type === 'resync' && e.name === 's2').length >= 2,
          5_000,
        );
      } finally {
        await inf.stop();
      }
      const n = events.length;
      await sleep(700);
      expect(events.length).toBe(n); // stopped: no more resyncs
    },
    T,
  );
});

describe('LeaderElector', () => {
  const durations = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };

  function elector(
    lease: string,
    identity: string,
    releaseOnCancel: boolean,
    log: string[],
    metrics?: ReturnType<typeof createOperatorMetrics>,
  ) {
    let leadingSince = 0;
    const e = new LeaderElector({
      kubeConfig: cp.kubeConfig(),
      namespace: NS,
      name: lease,
      identity,
      ...durations,
      releaseOnCancel,
      metrics: metrics?.leaderElection(lease),
      logger,
      onStartedLeading: (signal) => {
        leadingSince = Date.now();
        log.push(`${identity}:start`);
        signal.addEventListener('abort', () => log.push(`${identity}:signal`));
      },
      onStoppedLeading: () => log.push(`${identity}:stop`),
      onNewLeader: (id) => log.push(`${identity}:leader=${id}`),
    });
    return { e, since: () => leadingSince };
  }

  async function leaseOf(name: string) {
    return cp.kubeConfig().makeApiClient(CoordinationV1Api).readNamespacedLease({ name, namespace: NS });
  }

  test(
    'only one of two leads; without release the other takes over after the lease expires',
    async () => {
      const log: string[] = [];
      const m = createOperatorMetrics({ defaultMetrics: false });
      const a = elector('le-expire', 'a', false, log, m);
      const b = elector('le-expire', 'b', false, log);
      const runA = a.e.run();
      await sleep(50); // a creates the lease first (b may still race it: then b got 409 and a or b leads alone)
      const runB = b.e.run();
      await eventually(() => a.e.isLeading() || b.e.isLeading(), 10_000);
      await sleep(2 * durations.leaseDurationMs); // long enough for a second leader to appear if election were broken
      expect([a.e.isLeading(), b.e.isLeading()].filter(Boolean)).toHaveLength(1);
      const [leader, follower, runLeader, runFollower] = a.e.isLeading() ? [a, b, runA, runB] : [b, a, runB, runA];
      expect(follower.e.getLeader()).toBe(leader.e.identity);
      expect(log).toContain(`${follower.e.identity}:leader=${leader.e.identity}`);
      const before = await leaseOf('le-expire');
      expect(before.spec?.holderIdentity).toBe(leader.e.identity);
      expect(before.spec?.leaseDurationSeconds).toBe(3);
      // client-node returns MicroTime as a string: six fractional digits as written
      expect(String(before.spec?.renewTime)).toMatch(/\.\d{6}Z$/);
      if (leader === a) expect(await metricValue(m.registry, 'leader_election_master_status', { name: 'le-expire' })).toBe(1);

      const stoppedAt = Date.now();
      await leader.e.stop();
      await runLeader;
      expect(log).toEqual(expect.arrayContaining([`${leader.e.identity}:signal`, `${leader.e.identity}:stop`]));
      if (leader === a) expect(await metricValue(m.registry, 'leader_election_master_status', { name: 'le-expire' })).toBe(0);
      // not released: still held by the stopped leader until it expires
      expect((await leaseOf('le-expire')).spec?.holderIdentity).toBe(leader.e.identity);
      await eventually(() => follower.e.isLeading(), 15_000, 20);
      const took = follower.since() - stoppedAt;
      if (logger) process.stderr.write(`takeover after ${took} ms\n`);
      // at least most of a lease duration (expiry by the follower's own clock), at most lease + 2 jittered retries
      expect(took).toBeGreaterThanOrEqual(1_500);
      expect(took).toBeLessThan(durations.leaseDurationMs + 2 * durations.retryPeriodMs * 2.2 + 1_000);
      const after = await leaseOf('le-expire');
      expect(after.spec?.holderIdentity).toBe(follower.e.identity);
      expect(after.spec?.leaseTransitions).toBe((before.spec?.leaseTransitions ?? 0) + 1);
      await follower.e.stop();
      await runFollower;
    },
    T,
  );

  test(
    'with releaseOnCancel the other takes over at once',
    async () => {
      const log: string[] = [];
      const a = elector('le-release', 'a', true, log);
      const b = elector('le-release', 'b', true, log);
      const runA = a.e.run();
      await eventually(() => a.e.isLeading(), 10_000);
      const runB = b.e.run();
      await sleep(1_000);
      expect(b.e.isLeading()).toBe(false);
      expect(b.e.getLeader()).toBe('a');
      const stoppedAt = Date.now();
      await a.e.stop();
      await runA;
      const released = await leaseOf('le-release');
      // either still released, or b already took it
      expect(['', 'b']).toContain(released.spec?.holderIdentity ?? '');
      await eventually(() => b.e.isLeading(), 5_000, 20);
      if (logger) process.stderr.write(`takeover after release ${b.since() - stoppedAt} ms\n`);
      expect(b.since() - stoppedAt).toBeLessThan(durations.retryPeriodMs * 2.2 + 700); // well under the 3 s lease
      expect(log).toContain('a:stop');
      await b.e.stop();
      await runB;
      expect((await leaseOf('le-release')).spec?.holderIdentity ?? '').toBe('');
    },
    T,
  );

  test('rejects inconsistent durations', () => {
    const base = { kubeConfig: cp.kubeConfig(), namespace: NS, name: 'x', identity: 'x', onStartedLeading: () => {} };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 2_000, renewDeadlineMs: 2_000 })).toThrow(RangeError);
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 1_000, retryPeriodMs: 1_000 })).toThrow(RangeError);
    expect(() => new LeaderElector({ ...base, identity: '' })).toThrow(RangeError);
  });
});
