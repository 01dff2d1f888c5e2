/** The pure part of managed-fields.ts: which entries the patch keeps, merges and drops (the apiserver side is in client.test.ts). */
import type { KubernetesObject } from '@kubernetes/client-node';
import { unionFieldsV1, upgradeManagedFieldsPatch, type ManagedFieldsEntry } from '../src/client/managed-fields.js';

const obj = (managedFields: ManagedFieldsEntry[], resourceVersion = '42'): KubernetesObject => ({
  metadata: { name: 'x', resourceVersion, managedFields: managedFields as never },
});
const entry = (manager: string, operation: string, fieldsV1: object, more: Partial<ManagedFieldsEntry> = {}): ManagedFieldsEntry => ({
  manager,
  operation,
  apiVersion: 'apps/v1',
  time: '2026-12-02T10:00:00Z',
  fieldsType: 'FieldsV1',
  fieldsV1: fieldsV1 as never,
  ...more,
});

describe('unionFieldsV1', () => {
  it('keeps every path of both tries without changing either', () => {
    const a = { 'f:spec': { 'f:replicas': {}, 'f:template': { 'f:metadata': {} } } };
    const b = { 'f:spec': { 'f:template': { 'f:spec': { '.': {} } } }, 'f:metadata': { 'f:labels': {} } };
    const before = JSON.stringify([a, b]);
    expect(unionFieldsV1(a, b)).toEqual({
      'f:spec': { 'f:replicas': {}, 'f:template': { 'f:metadata': {}, 'f:spec': { '.': {} } } },
      'f:metadata': { 'f:labels': {} },
    });
    expect(JSON.stringify([a, b])).toBe(before);
    expect(unionFieldsV1(undefined, b)).toEqual(b);
  });
});

describe('upgradeManagedFieldsPatch', () => {
  it('nothing to move without an Update entry of the manager on the main resource', () => {
    expect(upgradeManagedFieldsPatch(obj([entry('op', 'Apply', {}), entry('other', 'Update', {})]), 'op')).toBeUndefined();
    expect(upgradeManagedFieldsPatch(obj([entry('op', 'Update', {}, { subresource: 'status' })]), 'op')).toBeUndefined();
    expect(upgradeManagedFieldsPatch({ metadata: {} }, 'op')).toBeUndefined();
  });

  it('an Update entry alone becomes the Apply entry, in its place; resourceVersion is the precondition', () => {
    const status = entry('kube-controller-manager', 'Update', { 'f:status': {} }, { subresource: 'status' });
    const ops = upgradeManagedFieldsPatch(obj([entry('op', 'Update', { 'f:data': { 'f:a': {} } }), status]), 'op')!;
    expect(ops).toEqual([
      {
        op: 'replace',
        path: '/metadata/managedFields',
        value: [entry('op', 'Apply', { 'f:data': { 'f:a': {} } }), status],
      },
      { op: 'replace', path: '/metadata/resourceVersion', value: '42' },
    ]);
  });

  it('merges every Update entry into an existing Apply entry: union of fields, newest time; others kept in order', () => {
    const ops = upgradeManagedFieldsPatch(
      obj([
        entry('op', 'Update', { 'f:data': { 'f:a': {} } }, { time: '2026-12-02T09:00:00Z' }),
        entry('other', 'Update', { 'f:data': { 'f:z': {} } }),
        entry('op', 'Apply', { 'f:data': { 'f:b': {} } }, { time: '2026-12-02T11:00:00Z' }),
        entry('op', 'Update', { 'f:metadata': { 'f:labels': {} } }, { time: '2026-12-02T12:00:00Z' }),
        entry('op', 'Update', { 'f:status': {} }, { subresource: 'status' }),
      ]),
      'op',
    )!;
    expect(ops[0]!.value).toEqual([
      entry('other', 'Update', { 'f:data': { 'f:z': {} } }),
      entry('op', 'Apply', { 'f:data': { 'f:b': {}, 'f:a': {} }, 'f:metadata': { 'f:labels': {} } }, { time: '2026-12-02T12:00:00Z' }),
      entry('op', 'Update', { 'f:status': {} }, { subresource: 'status' }),
    ]);
  });

  it('refuses an object read without its resourceVersion (no precondition possible)', () => {
    expect(() => upgradeManagedFieldsPatch(obj([entry('op', 'Update', {})], ''), 'op')).toThrow(/resourceVersion/);
  });
});
