/**
 * The per-instance memo of the desired children's hashes (src/desired-memo.ts) and the status comparison
 * (src/conditions.ts `sameJson`, `setCondition`): pure, without a cluster. The memo's effect on a running operator is in resync.test.ts.
 */
import type { WhatsAppInstance } from '@wacloud/crds';
import { sameJson, setCondition } from '../src/conditions.js';
import { DesiredMemo, type DesiredHashes } from '../src/desired-memo.js';

const base = (): WhatsAppInstance => ({
  apiVersion: 'wacloud.io/v1alpha1',
  kind: 'WhatsAppInstance',
  metadata: { name: 'a', namespace: 'ns', uid: 'uid-1', generation: 1 },
  spec: { owner: 'tenant' },
});

describe('DesiredMemo', () => {
  const hashes: DesiredHashes = { statefulSet: 's', secret: 'k' };
  const config = {};
  const SVC = 'wacloud-instances';

  test('the same inputs compute once, also from an equal copy of the instance', () => {
    const memo = new DesiredMemo();
    let calls = 0;
    const compute = () => (calls++, hashes);
    const wai = base();
    expect(memo.hashes(wai, config, SVC, compute)).toBe(hashes);
    memo.hashes(wai, config, SVC, compute);
    memo.hashes(structuredClone(wai), config, SVC, compute);
    memo.hashes({ ...wai, metadata: { ...wai.metadata, labels: { team: 'blue' }, resourceVersion: '9' } }, config, SVC, compute);
    expect([calls, memo.computed]).toEqual([1, 1]);
  });

  test.each<[string, (w: WhatsAppInstance) => WhatsAppInstance]>([
    ['metadata.uid', (w) => ({ ...w, metadata: { ...w.metadata, uid: 'uid-2' } })],
    ['metadata.generation', (w) => ({ ...w, metadata: { ...w.metadata, generation: 2 } })],
    ['the restarted-at annotation', (w) => ({ ...w, metadata: { ...w.metadata, annotations: { 'wacloud.io/restarted-at': 'now' } } })],
    ['a spec field without a new generation', (w) => ({ ...w, spec: { ...w.spec, image: 'other:1' } })],
    ['a nested spec field', (w) => ({ ...w, spec: { ...w.spec, mongodb: { database: 'd2' } } })],
  ])('a new %s computes again', (_input, change) => {
    const memo = new DesiredMemo();
    const wai = base();
    memo.hashes(wai, config, SVC, () => hashes);
    memo.hashes(change(wai), config, SVC, () => hashes);
    expect(memo.computed).toBe(2);
  });

  test("another governing Service (an older instance's StatefulSet, seen once it is cached) computes again", () => {
    const memo = new DesiredMemo();
    memo.hashes(base(), config, SVC, () => hashes);
    memo.hashes(base(), config, 'a-headless', () => ({ ...hashes, service: 'v' }));
    expect(memo.hashes(base(), config, 'a-headless', () => hashes).service).toBe('v');
    expect(memo.computed).toBe(2);
  });

  test('another configuration object computes again; a forgotten instance too', () => {
    const memo = new DesiredMemo();
    memo.hashes(base(), config, SVC, () => hashes);
    memo.hashes(base(), {}, SVC, () => hashes);
    expect(memo.computed).toBe(2);
    memo.delete('ns', 'a');
    memo.hashes(base(), {}, SVC, () => hashes);
    expect([memo.computed, memo.size]).toEqual([3, 1]);
  });
});

describe('sameJson', () => {
  test('equal up to key order and undefined fields; arrays in order', () => {
    expect(sameJson({ a: 1, b: { c: [1, { d: 'x' }] } }, { b: { c: [1, { d: 'x' }] }, a: 1 })).toBe(true);
    expect(sameJson({ a: 1, u: undefined }, { a: 1 })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 1, u: undefined })).toBe(true);
    expect(sameJson({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(sameJson({ a: 1 }, { a: 1, b: null })).toBe(false);
    expect(sameJson({ a: '1' }, { a: 1 })).toBe(false);
    expect(sameJson({ a: {} }, { a: [] })).toBe(false);
    expect(sameJson({ a: { b: 1 } }, { a: { b: 2 } })).toBe(false);
  });
});

describe('setCondition', () => {
  const now = new Date('2026-12-02T06:00:00.123Z');
  const ready = { type: 'Ready', status: 'True' as const, reason: 'R', message: 'm', observedGeneration: 1 };
  const conds = setCondition(setCondition([], ready, now), { ...ready, type: 'Reconciled' }, now);

  test('the same condition again: the same array (nothing to write)', () => {
    expect(setCondition(conds, ready, new Date())).toBe(conds);
  });

  test('a new generation, reason or status: a new array; lastTransitionTime moves only with the status', () => {
    const gen = setCondition(conds, { ...ready, observedGeneration: 2 }, new Date('2026-12-03T00:00:00Z'));
    expect(gen).not.toBe(conds);
    expect(gen.find((c) => c.type === 'Ready')).toMatchObject({ observedGeneration: 2, lastTransitionTime: '2026-12-02T06:00:00Z' });
    const status = setCondition(conds, { ...ready, status: 'False' }, new Date('2026-12-03T00:00:00Z'));
    expect(status.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', lastTransitionTime: '2026-12-03T00:00:00Z' });
    expect(setCondition(conds, { ...ready, reason: 'Other' }, now)).not.toBe(conds);
    expect(status.map((c) => c.type)).toEqual(['Ready', 'Reconciled']);
  });

  test('unsorted conditions are sorted even when the condition is already there', () => {
    const unsorted = [...conds].reverse();
    expect(setCondition(unsorted, ready, now).map((c) => c.type)).toEqual(['Ready', 'Reconciled']);
  });
});
