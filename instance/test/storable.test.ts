/**
 * What the persister writes: NUL replaced in text (storage/nul.ts) and undefined fields left out
 * (storage/without-undefined.ts) — the input itself when there is nothing to change, a copy otherwise, never the
 * input changed.
 */
import { describe, expect, test } from '@jest/globals';
import { hasNul, withoutNul } from '../src/storage/nul.js';
import { withoutUndefined } from '../src/storage/without-undefined.js';

describe('withoutNul', () => {
  test('returns the value itself when no string in it holds NUL', () => {
    const at = new Date(0);
    const doc = { _id: 'a', body: 'hello', at, tags: ['x', { y: 'z' }], n: 3, none: null, bin: Buffer.from('\u0000') };
    expect(hasNul(doc)).toBe(false);
    expect(withoutNul(doc)).toBe(doc);
  });

  test('replaces NUL deep in plain objects and arrays; what holds none is shared, the input is left as it was', () => {
    const at = new Date(0);
    const clean = { name: 'ok' };
    const doc = { _id: 'a', at, clean, body: 'a\u0000b', list: ['x', { y: '\u0000\u0000' }], nested: { deep: { s: '\u0000' } } };
    const before = structuredClone(doc);
    const out = withoutNul(doc);
    expect(out).toEqual({
      _id: 'a',
      at,
      clean,
      body: 'a\uFFFDb',
      list: ['x', { y: '\uFFFD\uFFFD' }],
      nested: { deep: { s: '\uFFFD' } },
    });
    expect(out).not.toBe(doc);
    expect(out.clean).toBe(clean);
    expect(out.at).toBe(at);
    expect(doc).toEqual(before);
    expect(withoutNul('\u0000')).toBe('\uFFFD');
    expect(withoutNul(['\u0000', 'b'])).toEqual(['\uFFFD', 'b']);
  });

  test('strings inside objects other than plain ones are not searched (dates, buffers, class instances)', () => {
    class Box {
      constructor(readonly s: string) {}
    }
    const box = new Box('\u0000');
    expect(hasNul({ box })).toBe(false);
    expect(withoutNul({ box }).box).toBe(box);
  });
});

describe('withoutUndefined', () => {
  test('returns the document itself when no field is undefined', () => {
    const doc = { a: 1, b: null, c: '', d: false, e: { f: undefined } };
    expect(withoutUndefined(doc)).toBe(doc);
  });

  test('leaves undefined fields out of a copy (top level only), the input as it was', () => {
    const nested = { f: undefined };
    const doc = { a: 1, b: undefined, c: null, e: nested };
    const out = withoutUndefined(doc);
    expect(out).not.toBe(doc);
    expect(Object.keys(out)).toEqual(['a', 'c', 'e']);
    expect(out.e).toBe(nested);
    expect(Object.keys(doc)).toEqual(['a', 'b', 'c', 'e']);
  });
});
