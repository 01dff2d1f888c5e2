/**
 * WorkQueue semantics (client-go's dirty/processing sets, delaying queue, per-key exponential backoff), Controller
 * outcomes, metrics and the health server — all pure, no cluster.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Controller } from '../src/runtime/controller.js';
import { startHealthServer } from '../src/runtime/health-server.js';
import { createOperatorMetrics, histogramCount, metricValue } from '../src/runtime/metrics.js';
import { WorkQueue } from '../src/runtime/workqueue.js';

/** Resolves with the next key, or 'timeout' if none comes within `ms`. */
async function getWithin<K>(q: WorkQueue<K>, ms: number): Promise<K | undefined | 'timeout'> {
  return Promise.race([q.get(), sleep(ms, 'timeout' as const)]);
}

describe('WorkQueue', () => {
  test('de-duplicates keys that are queued and keeps FIFO order', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('c');
    q.add('b');
    expect(q.len()).toBe(3);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(await q.get()).toBe('c');
    expect(q.len()).toBe(0);
    q.shutDown();
  });

  test('low-priority keys wait behind normal ones; a normal add promotes a waiting low-priority key', async () => {
    const q = new WorkQueue();
    q.addLowPriority('low-1');
    q.add('a');
    q.addLowPriority('low-2');
    q.addLowPriority('low-3');
    q.add('b');
    q.add('low-3'); // promoted: now behind b, ahead of low-1
    q.addLowPriority('a'); // already pending at normal priority: unchanged
    expect(q.len()).toBe(5);
    expect(q.hasWaiting()).toBe(true);
    const order = [];
    for (let i = 0; i < 5; i++) order.push(await q.get());
    expect(order).toEqual(['a', 'b', 'low-3', 'low-1', 'low-2']);
    expect(q.hasWaiting()).toBe(false);
    expect(q.len()).toBe(0);
    // Re-added at low priority while being processed: re-queued at low priority by done().
    q.addLowPriority('a');
    q.add('c');
    q.done('a');
    expect(await q.get()).toBe('c');
    expect(await q.get()).toBe('a');
    q.shutDown();
  });

  test('lowPriorityConcurrency: while normal keys are in hand, only that many low-priority keys are processed at once', async () => {
    const q = new WorkQueue({ lowPriorityConcurrency: 1 });
    expect(() => new WorkQueue({ lowPriorityConcurrency: 0 })).toThrow(RangeError);
    /** Whether `p` has resolved within 30 ms. */
    const resolved = (p: Promise<unknown>) => Promise.race([p.then(() => true), sleep(30, false)]);
    q.add('n1');
    q.addLowPriority('low-1');
    q.addLowPriority('low-2');
    q.addLowPriority('low-3');
    expect(await q.get()).toBe('n1');
    expect(await q.get()).toBe('low-1');
    expect(q.normalProcessingLen()).toBe(1);
    // n1 is still being processed and one low-priority key is: the next worker waits.
    const w1 = q.get();
    expect(await resolved(w1)).toBe(false);
    q.add('n2'); // a normal key goes to the waiting worker at once
    expect(await w1).toBe('n2');
    const w2 = q.get();
    expect(await resolved(w2)).toBe(false);
    q.done('low-1'); // the low-priority slot is free again
    expect(await w2).toBe('low-2');
    const w3 = q.get();
    const w4 = q.get();
    q.done('n1');
    expect(await resolved(w3)).toBe(false); // n2 is still in hand, low-2 holds the slot
    q.done('n2'); // no normal key in hand: low-priority keys go to every free worker
    expect(await w3).toBe('low-3');
    q.addLowPriority('low-4');
    expect(await w4).toBe('low-4');
    expect(q.normalProcessingLen()).toBe(0);
    q.shutDown();
  });

  test('a key being processed is not handed out again until done, then re-queued once', async () => {
    const q = new WorkQueue();
    q.add('a');
    const k = await q.get();
    expect(k).toBe('a');
    q.add('a'); // re-added while processing: dirty, not queued
    q.add('a');
    expect(q.len()).toBe(0);
    expect(await getWithin(q, 50)).toBe('timeout');
    // the pending get from getWithin is still waiting; done() must hand 'a' to it, exactly once
    const next = q.get();
    q.done('a');
    expect(q.len()).toBe(0);
    expect(q.processingLen()).toBe(1);
    q.done('a'); // done for a key not held: ignored
    q.shutDown();
    expect(await next).toBeUndefined(); // the earlier waiter took 'a'; this one is released by shutdown
  });

  test('never processes one key concurrently with many workers', async () => {
    const q = new WorkQueue();
    const active = new Set<string>();
    let overlaps = 0;
    const processed: string[] = [];
    const worker = async () => {
      for (;;) {
        const k = await q.get();
        if (k === undefined) return;
        if (active.has(k)) overlaps++;
        active.add(k);
        await sleep(Math.random() * 5);
        processed.push(k);
        active.delete(k);
        q.done(k);
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    for (let round = 0; round < 20; round++) {
      for (const k of ['x', 'y', 'z']) q.add(k);
      await sleep(1);
    }
    while (q.len() > 0 || q.processingLen() > 0) await sleep(5);
    await q.shutDownWithDrain();
    await Promise.all(workers);
    expect(overlaps).toBe(0);
    // every key was processed at least once after its last add
    for (const k of ['x', 'y', 'z']) expect(processed.lastIndexOf(k)).toBeGreaterThanOrEqual(0);
  });

  test('addAfter delivers in ready-time order; an earlier addAfter of a waiting key wins', async () => {
    const q = new WorkQueue();
    const t0 = performance.now();
    q.addAfter('late', 80);
    q.addAfter('early', 20);
    q.addAfter('mid', 50);
    q.addAfter('late', 200); // later than the one already waiting: ignored
    q.addAfter('mid', 10); // earlier: wins
    expect(q.delayedLen()).toBe(3);
    const order: string[] = [];
    const at: number[] = [];
    for (let i = 0; i < 3; i++) {
      const k = await q.get();
      order.push(k!);
      at.push(performance.now() - t0);
      q.done(k!);
    }
    expect(order).toEqual(['mid', 'early', 'late']);
    expect(at[0]).toBeGreaterThanOrEqual(9);
    expect(at[2]).toBeGreaterThanOrEqual(79);
    expect(at[2]).toBeLessThan(190);
    q.addAfter('now', 0); // <= 0: immediate
    expect(q.len()).toBe(1);
    q.shutDown();
  });

  test('rate-limited backoff doubles per key up to the max; forget resets it', async () => {
    const q = new WorkQueue({ baseDelayMs: 5, maxDelayMs: 40 });
    expect([1, 2, 3, 4, 5, 6].map(() => q.when('a'))).toEqual([5, 10, 20, 40, 40, 40]);
    expect(q.numRequeues('a')).toBe(6);
    expect(q.when('b')).toBe(5); // per key
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
    expect(q.when('a')).toBe(5);

    // defaults: controller-runtime's 5 ms → 1000 s
    const d = new WorkQueue();
    const delays = Array.from({ length: 30 }, () => d.when('k'));
    expect(delays[0]).toBe(5);
    expect(delays[1]).toBe(10);
    expect(delays[29]).toBe(1_000_000);

    // addRateLimited actually waits
    const r = new WorkQueue({ baseDelayMs: 30, maxDelayMs: 1000 });
    const t0 = performance.now();
    r.addRateLimited('k'); // 30 ms
    expect(await r.get()).toBe('k');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    r.done('k');
    const t1 = performance.now();
    r.addRateLimited('k'); // 60 ms
    expect(r.numRequeues('k')).toBe(2);
    expect(await r.get()).toBe('k');
    expect(performance.now() - t1).toBeGreaterThanOrEqual(55);
    r.done('k');
    r.forget('k');
    r.shutDown();
    q.shutDown();
    d.shutDown();
    expect(() => new WorkQueue({ baseDelayMs: 10, maxDelayMs: 5 })).toThrow(RangeError);
  });

  test('shutDown releases waiting getters, ignores adds and drops delayed keys', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.addAfter('d', 20);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add('x');
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
    await sleep(40);
    expect(await q.get()).toBeUndefined();
    expect(q.isShuttingDown()).toBe(true);
  });

  test('shutDownWithDrain waits for in-flight keys to be done', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    const a = await q.get();
    let drained = false;
    const p = q.shutDownWithDrain().then(() => (drained = true));
    expect(await q.get()).toBeUndefined(); // 'b' not yet started: not handed out after shutdown
    q.add('a'); // ignored
    await sleep(20);
    expect(drained).toBe(false);
    q.done(a!);
    await p;
    expect(drained).toBe(true);
    expect(q.len()).toBe(0);
    // nothing in flight: resolves at once
    const empty = new WorkQueue();
    await empty.shutDownWithDrain();
  });

  test('reports depth, adds, retries, durations and unfinished work', async () => {
    const m = createOperatorMetrics({ defaultMetrics: false });
    const q = new WorkQueue({ name: 'wq', metrics: m.workqueue('wq'), unfinishedWorkUpdatePeriodMs: 20 });
    const l = { name: 'wq' };
    expect(await metricValue(m.registry, 'workqueue_depth', l)).toBe(0);
    q.add('a');
    q.add('b');
    q.add('a'); // dedup: not an add
    expect(await metricValue(m.registry, 'workqueue_adds_total', l)).toBe(2);
    expect(await metricValue(m.registry, 'workqueue_depth', l)).toBe(2);
    await sleep(15);
    const a = await q.get();
    expect(await metricValue(m.registry, 'workqueue_depth', l)).toBe(1);
    const qd = await histogramCount(m.registry, 'workqueue_queue_duration_seconds', l);
    expect(qd?.count).toBe(1);
    expect(qd!.sum).toBeGreaterThanOrEqual(0.01);
    await sleep(60);
    expect(await metricValue(m.registry, 'workqueue_unfinished_work_seconds', l)).toBeGreaterThanOrEqual(0.03);
    expect(await metricValue(m.registry, 'workqueue_longest_running_processor_seconds', l)).toBeGreaterThanOrEqual(0.03);
    q.done(a!);
    const wd = await histogramCount(m.registry, 'workqueue_work_duration_seconds', l);
    expect(wd?.count).toBe(1);
    expect(wd!.sum).toBeGreaterThanOrEqual(0.05);
    q.addRateLimited('c');
    q.addAfter('d', 1);
    expect(await metricValue(m.registry, 'workqueue_retries_total', l)).toBe(2);
    const text = await m.registry.metrics();
    expect(text).toContain('workqueue_depth{name="wq"}');
    q.shutDown();
  });
});

describe('Controller', () => {
  test('maps reconcile outcomes to queue actions and metrics; errors never stop workers', async () => {
    const m = createOperatorMetrics({ defaultMetrics: false });
    const queue = new WorkQueue({ name: 'c1', baseDelayMs: 5, maxDelayMs: 50, metrics: m.workqueue('c1') });
    const calls = new Map<string, number>();
    let concurrent = 0;
    let maxConcurrent = 0;
    const c = new Controller({
      name: 'c1',
      queue,
      maxConcurrentReconciles: 3,
      metrics: m.controller('c1'),
      reconcile: async (key) => {
        const n = (calls.get(key) ?? 0) + 1;
        calls.set(key, n);
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        await sleep(5);
        concurrent--;
        if (key === 'fails-twice' && n <= 2) throw new Error('boom');
        if (key === 'typeerror' && n === 1) throw new TypeError('bug');
        if (key === 'requeue' && n === 1) return { requeue: true };
        if (key === 'after' && n === 1) return { requeueAfterMs: 30 };
        if (key === 'low' && n === 1) return { requeueLowPriority: true };
        return {};
      },
    });
    const ac = new AbortController();
    const done = c.start(ac.signal);
    for (const k of ['ok', 'fails-twice', 'typeerror', 'requeue', 'after', 'low']) c.enqueue(k);
    const deadline = Date.now() + 5000;
    while (
      Date.now() < deadline &&
      !(
        (calls.get('fails-twice') ?? 0) >= 3 &&
        (calls.get('after') ?? 0) >= 2 &&
        (calls.get('requeue') ?? 0) >= 2 &&
        (calls.get('typeerror') ?? 0) >= 2 &&
        (calls.get('low') ?? 0) >= 2
      )
    )
      await sleep(5);
    await sleep(20);
    ac.abort();
    await done;
    expect(calls.get('ok')).toBe(1);
    expect(calls.get('fails-twice')).toBe(3);
    expect(calls.get('requeue')).toBe(2);
    expect(calls.get('after')).toBe(2);
    expect(calls.get('low')).toBe(2);
    expect(maxConcurrent).toBeGreaterThan(1);
    expect(maxConcurrent).toBeLessThanOrEqual(3);
    expect(queue.numRequeues('fails-twice')).toBe(0); // forgotten after success
    const v = (name: string, labels: Record<string, string>) => metricValue(m.registry, name, labels);
    expect(await v('controller_runtime_reconcile_total', { controller: 'c1', result: 'error' })).toBe(3);
    expect(await v('controller_runtime_reconcile_total', { controller: 'c1', result: 'requeue' })).toBe(2);
    expect(await v('controller_runtime_reconcile_total', { controller: 'c1', result: 'requeue_after' })).toBe(1);
    expect(await v('controller_runtime_reconcile_total', { controller: 'c1', result: 'success' })).toBe(6);
    expect(await v('controller_runtime_reconcile_errors_total', { controller: 'c1' })).toBe(3);
    expect(await v('controller_runtime_reconcile_panics_total', { controller: 'c1' })).toBe(1);
    expect(await v('controller_runtime_max_concurrent_reconciles', { controller: 'c1' })).toBe(3);
    expect(await v('controller_runtime_active_workers', { controller: 'c1' })).toBe(0);
    expect((await histogramCount(m.registry, 'controller_runtime_reconcile_time_seconds', { controller: 'c1' }))?.count).toBe(12);
    await expect(c.start()).resolves.toBeUndefined(); // same (finished) promise
  });

  test('stop() drains: the in-flight reconcile finishes, queued keys are not started', async () => {
    const queue = new WorkQueue({ name: 'c2' });
    const started: string[] = [];
    const finished: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const c = new Controller({
      name: 'c2',
      queue,
      reconcile: async (key, signal) => {
        started.push(key);
        await gate;
        finished.push(`${key}:${signal.aborted}`);
      },
    });
    const run = c.start();
    c.enqueue('a');
    c.enqueue('b');
    while (started.length === 0) await sleep(1);
    const stopping = c.stop();
    await sleep(20);
    expect(finished).toEqual([]);
    release();
    await stopping;
    await run;
    expect(started).toEqual(['a']);
    expect(finished).toEqual(['a:true']);
    await expect(new Controller({ name: 'x', queue, reconcile: async () => {} }).start()).rejects.toThrow(/stopped/);
  });
});

describe('health server', () => {
  test('/healthz, /readyz with failing checks, /metrics', async () => {
    const m = createOperatorMetrics();
    m.workqueue('hs');
    let synced = false;
    const srv = await startHealthServer({
      host: '127.0.0.1',
      registry: m.registry,
      readiness: { informers: () => synced, broken: () => Promise.reject(new Error('no lease')) },
      checkTimeoutMs: 200,
    });
    try {
      expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
      let r = await fetch(`${srv.url}/readyz`);
      expect(r.status).toBe(503);
      expect(await r.json()).toEqual({
        status: 'unready',
        failing: [
          { name: 'informers', reason: 'not ready' },
          { name: 'broken', reason: 'no lease' },
        ],
      });
      synced = true;
      srv.removeReadinessCheck('broken');
      srv.addReadinessCheck('slow', () => new Promise<boolean>((res) => setTimeout(() => res(true), 1000)));
      r = await fetch(`${srv.url}/readyz`);
      expect(r.status).toBe(503);
      expect(((await r.json()) as any).failing[0].reason).toMatch(/timed out/);
      srv.removeReadinessCheck('slow');
      r = await fetch(`${srv.url}/readyz`);
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ status: 'ok', checks: ['informers'] });
      r = await fetch(`${srv.url}/metrics`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/text\/plain/);
      const text = await r.text();
      expect(text).toContain('workqueue_adds_total{name="hs"} 0');
      expect(text).toContain('process_cpu_user_seconds_total');
      expect((await fetch(`${srv.url}/nope`)).status).toBe(404);
      expect((await fetch(`${srv.url}/healthz`, { method: 'POST' })).status).toBe(405);
    } finally {
      await srv.close();
    }
  });
});
