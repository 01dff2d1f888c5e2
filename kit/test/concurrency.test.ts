/** SingleFlight (one run per key at a time) and forEachInParallel (a list, a few calls at a time). */
import { SingleFlight, forEachInParallel } from '../src/concurrency.js';

/** A promise with its settlers, to hold a run open. */
function held<T>() {
  let resolve!: (v: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('SingleFlight', () => {
  it('joins a run under way, per key; the next run after it settles starts anew', async () => {
    const flight = new SingleFlight<string, number>();
    const first = held<number>();
    let starts = 0;
    const start = () => (starts++, first.promise);
    const a = flight.run('k', start);
    const b = flight.run('k', () => Promise.resolve(99)); // joined: not called
    expect(b).toBe(a);
    expect(flight.get('k')).toBe(a);
    expect(flight.has('k')).toBe(true);
    const other = flight.run('other', () => Promise.resolve(7));
    expect(other).not.toBe(a);
    expect(flight.size).toBe(2);
    first.resolve(1);
    await expect(Promise.all([a, b, other])).resolves.toEqual([1, 1, 7]);
    expect(starts).toBe(1);
    expect(flight.has('k')).toBe(false);
    expect(flight.get('k')).toBeUndefined();
    expect(flight.size).toBe(0);
    await expect(flight.run('k', () => Promise.resolve(2))).resolves.toBe(2); // nothing kept after settling
  });

  it('shares a failure with every caller, then forgets it; a synchronous throw is a rejection', async () => {
    const flight = new SingleFlight<string, number>();
    const run = held<number>();
    const a = flight.run('k', () => run.promise);
    const b = flight.run('k', () => Promise.resolve(1));
    run.reject(new Error('down'));
    await expect(a).rejects.toThrow('down');
    await expect(b).rejects.toThrow('down');
    expect(flight.has('k')).toBe(false);
    const thrown = flight.run('k', () => {
      throw new Error('at once');
    });
    await expect(thrown).rejects.toThrow('at once');
    expect(flight.has('k')).toBe(false);
  });

  it('settled() waits for every run under way and never rejects', async () => {
    const flight = new SingleFlight<string, void>();
    const slow = held<void>();
    const failing = held<void>();
    const done: string[] = [];
    void flight.run('a', () => slow.promise).then(() => done.push('a'));
    flight.run('b', () => failing.promise).catch(() => done.push('b'));
    const settled = flight.settled().then(() => done.push('settled'));
    failing.reject(new Error('no'));
    await Promise.resolve();
    expect(done).not.toContain('settled');
    slow.resolve();
    await settled;
    expect(done).toContain('settled');
    expect(done).toEqual(expect.arrayContaining(['a', 'b']));
  });
});

describe('forEachInParallel', () => {
  it('calls fn on every item in order, never more than limit at a time', async () => {
    let running = 0;
    let peak = 0;
    const seen: number[] = [];
    await forEachInParallel([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      seen.push(n);
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, 5 + (n % 3)));
      running--;
    });
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(3);
    await forEachInParallel([], 4, () => Promise.reject(new Error('never called')));
  });

  it('throws the first failure only once every call has settled; the other workers go on', async () => {
    const finished: number[] = [];
    const started = Date.now();
    const err = await forEachInParallel([1, 2, 3, 4], 2, async (n) => {
      if (n === 1) throw new Error('item 1');
      await new Promise((r) => setTimeout(r, 30));
      finished.push(n);
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('item 1');
    expect(finished).toEqual([2, 3, 4]); // item 1's worker ended; the other took the rest, all before the throw
    expect(Date.now() - started).toBeGreaterThanOrEqual(85);
  });

  it('refuses a limit below 1 or not whole', async () => {
    for (const limit of [0, -1, 1.5, Number.NaN])
      await expect(forEachInParallel([1], limit, () => Promise.resolve())).rejects.toBeInstanceOf(RangeError);
  });
});
