/**
 * The per-instance memo of the desired children's hashes (src/desired-memo.ts) and the status comparison
 * (src/conditions.ts `sameJson`): pure, without a cluster. The memo's effect on a running operator is in resync.test.ts.
 */
import type { WhatsAppInstance } from '@wacloud/crds';
import { sameJson } from '../src/conditions.js';
import { DesiredMemo, type DesiredHashes } from '../src/desired-memo.js';

const base = (): WhatsAppInstance => ({
  apiVersion: 'wacloud.io/v1alpha1',
  kind: 'WhatsAppInstance',
  metadata: { name: 'a', namespace: 'ns', uid: 'uid-1', generation: 1 },
  spec: { owner: 'tenant' },
});

describe('DesiredMemo', () => {
  const hashes: DesiredHashes = { statefulSet: 's', service: 'v', secret: 'k' };
  const config = {};

  test('the same inputs compute once, also from an equal copy of the instance', () => {
    const memo = new DesiredMemo();
    let calls = 0;
    const compute = () => (calls++, hashes);
    const wai = base();
    expect(memo.hashes(wai, config, compute)).toBe(hashes);
    memo.hashes(wai, config, compute);
    memo.hashes(structuredClone(wai), config, compute);
    memo.hashes({ ...wai, metadata: { ...wai.metadata, labels: { team: 'blue' }, resourceVersion: '9' } }, config, compute);
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
    memo.hashes(wai, config, () => hashes);
    memo.hashes(change(wai), config, () => hashes);
    expect(memo.computed).toBe(2);
  });

  test('another configuration object computes again; a forgotten instance too', () => {
    const memo = new DesiredMemo();
    memo.hashes(base(), config, () => hashes);
    memo.hashes(base(), {}, () => hashes);
    expect(memo.computed).toBe(2);
    memo.delete('ns', 'a');
    memo.hashes(base(), {}, () => hashes);
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
