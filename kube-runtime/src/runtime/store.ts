/**
 * The informer's cache: objects by `namespace/name` key (client-go's MetaNamespaceKeyFunc) with a per-namespace
 * index, so `get`/`set`/`delete` are O(1) and `list(namespace)` is O(objects in that namespace).
 */
import type { KubernetesObject } from '@kubernetes/client-node';

/** `namespace/name`, or `name` for cluster-scoped objects (client-go's MetaNamespaceKeyFunc). */
export function objectKey(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

/** Splits a {@link objectKey} into namespace ('' if none) and name. */
export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** See the module comment. */
export class ObjectStore<T extends KubernetesObject> {
  /** key → object */
  private readonly byKey = new Map<string, T>();
  /** namespace → name → object, for `list(namespace)`. */
  private readonly byNamespace = new Map<string, Map<string, T>>();

  get(key: string): T | undefined {
    return this.byKey.get(key);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  get size(): number {
    return this.byKey.size;
  }

  keys(): IterableIterator<string> {
    return this.byKey.keys();
  }

  values(): IterableIterator<T> {
    return this.byKey.values();
  }

  entries(): IterableIterator<[string, T]> {
    return this.byKey.entries();
  }

  /** Objects of one namespace, or all when `namespace` is undefined or ''. */
  list(namespace?: string): T[] {
    if (namespace === undefined || namespace === '') return [...this.byKey.values()];
    const m = this.byNamespace.get(namespace);
    return m ? [...m.values()] : [];
  }

  /** Caches `obj` under `key` (its {@link objectKey}), replacing the previous object. */
  set(key: string, obj: T): void {
    this.byKey.set(key, obj);
    const ns = obj.metadata?.namespace ?? '';
    let m = this.byNamespace.get(ns);
    if (!m) this.byNamespace.set(ns, (m = new Map()));
    m.set(obj.metadata?.name ?? '', obj);
  }

  /** Removes the object under `key` (no-op when absent). */
  delete(key: string): void {
    const obj = this.byKey.get(key);
    this.byKey.delete(key);
    if (!obj) return;
    const ns = obj.metadata?.namespace ?? '';
    const m = this.byNamespace.get(ns);
    m?.delete(obj.metadata?.name ?? '');
    if (m && m.size === 0) this.byNamespace.delete(ns);
  }
}
