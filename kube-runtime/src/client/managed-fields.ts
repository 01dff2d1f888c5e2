/**
 * Moving a field manager's `Update` ownership to its `Apply` entry — what kubectl's csaupgrade package does when a
 * client-side applied object is first server-side applied.
 *
 * Why: an object created by a POST (or changed by a PUT or patch) with `fieldManager=m` records its fields under an
 * entry `{manager: m, operation: Update}`; a later server-side apply by `m` records an entry of its own,
 * `{manager: m, operation: Apply}`. A field the applier stops sending is removed from the object only when no entry
 * owns it any more — and the `Update` entry still does, so the field would stay forever. Merging the `Update` entry's
 * fields into the `Apply` entry (and dropping the `Update` entry) makes every field the manager ever set its applied
 * set: the next apply removes what it no longer sends. Fields the apiserver defaulted at the POST are in the `Update`
 * entry too; an apply that does not send them drops them and the apiserver's defaulting sets them again (the stored
 * object keeps its values).
 *
 * That apiserver behaviour — the field kept without the move, removed with it, another manager's field untouched — is
 * shown against a real kube-apiserver by test/client.test.ts; the operator's use is in operator/README.md.
 */
import type { KubernetesObject } from '@kubernetes/client-node';

/** One `metadata.managedFields` entry as the apiserver stores it (FieldsV1: a trie of `f:`/`k:`/`v:`/`i:`/`.` keys). */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update' | string;
  apiVersion?: string;
  /** RFC 3339, seconds. */
  time?: string;
  fieldsType?: string;
  fieldsV1?: FieldsV1;
  /** Set for an entry of a subresource (`status`, `scale`); absent for the main resource. */
  subresource?: string;
}

export interface FieldsV1 {
  [key: string]: FieldsV1;
}

/** One RFC 6902 operation of the patch {@link upgradeManagedFieldsPatch} returns. */
export interface JsonPatchOperation {
  op: 'replace';
  path: string;
  value: unknown;
}

/** The union of two FieldsV1 tries (every path of either); neither argument is changed (the result may share `a`'s subtrees). */
export function unionFieldsV1(a: FieldsV1 | undefined, b: FieldsV1 | undefined): FieldsV1 {
  const out: FieldsV1 = { ...a };
  for (const [k, v] of Object.entries(b ?? {})) out[k] = unionFieldsV1(out[k], v);
  return out;
}

/**
 * The JSON patch (RFC 6902) that moves `manager`'s `Update` entries of the main resource into its `Apply` entry of
 * `obj` (creating it in place of the first `Update` entry when there is none): the union of their fields, the newest
 * time, the `Apply` entry's apiVersion (else the first `Update` entry's). Subresource entries and other managers'
 * entries are kept as they are. The patch also replaces `metadata.resourceVersion` with `obj`'s, so the apiserver
 * refuses it (409 Conflict) when the object changed since `obj` was read — `obj` must be a full read, with
 * `metadata.managedFields` (informer caches usually drop them).
 *
 * The patch changes no field of the object: sent without a field manager it adds no entry of its own.
 * @returns undefined when `manager` has no `Update` entry of the main resource (nothing to move).
 * @throws Error when `obj` has no `metadata.resourceVersion`.
 */
export function upgradeManagedFieldsPatch(obj: KubernetesObject, manager: string): JsonPatchOperation[] | undefined {
  const entries = (obj.metadata?.managedFields ?? []) as ManagedFieldsEntry[];
  const own = (e: ManagedFieldsEntry, operation: string) => e.manager === manager && e.operation === operation && !e.subresource;
  const updates = entries.filter((e) => own(e, 'Update'));
  if (updates.length === 0) return undefined;
  const resourceVersion = obj.metadata?.resourceVersion;
  if (!resourceVersion) throw new Error('upgradeManagedFieldsPatch: the object has no metadata.resourceVersion (a full read is needed)');
  const applied = entries.find((e) => own(e, 'Apply'));
  let fields = applied?.fieldsV1;
  for (const u of updates) fields = unionFieldsV1(fields, u.fieldsV1);
  const times = [applied, ...updates].map((e) => e?.time).filter((t): t is string => Boolean(t));
  const merged: ManagedFieldsEntry = {
    manager,
    operation: 'Apply',
    apiVersion: applied?.apiVersion ?? updates[0]!.apiVersion,
    ...(times.length ? { time: times.sort().at(-1) } : {}),
    fieldsType: 'FieldsV1',
    fieldsV1: fields ?? {},
  };
  const target = applied ?? updates[0];
  const next = entries.filter((e) => e === target || !updates.includes(e)).map((e) => (e === target ? merged : e));
  return [
    { op: 'replace', path: '/metadata/managedFields', value: next },
    { op: 'replace', path: '/metadata/resourceVersion', value: resourceVersion },
  ];
}
