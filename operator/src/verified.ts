/**
 * What the reconciler remembers about children it knows to be at their desired state (see reconciler.ts): a version
 * of the live object (its resourceVersion, or `g<generation>` for StatefulSets) with a hash of the desired object.
 */
import { createHash } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { MetadataOnly } from '@wacloud/kube-runtime';

/**
 * Children known to be at their desired state: `kind/namespace/name` → `resourceVersion|hash of the desired object`.
 * About 100 bytes per child.
 */
export class VerifiedChildren {
  private readonly m = new Map<string, string>();
  /** Whether `live` (by its resourceVersion) was verified against a desired object with this `hash`. */
  has(key: string, live: MetadataOnly, hash: string): boolean {
    return this.hasVersion(key, live.metadata.resourceVersion, hash);
  }
  /** Whether the object was verified at this `version` (a resourceVersion, or `g<generation>`) against `hash`. */
  hasVersion(key: string, version: string | undefined, hash: string): boolean {
    // `${version}|${hash}` compared without building it (this runs for every child of every reconcile).
    const v = this.m.get(key);
    return (
      version !== undefined &&
      v !== undefined &&
      v.length === version.length + 1 + hash.length &&
      v.startsWith(version) &&
      v.charCodeAt(version.length) === 124 &&
      v.endsWith(hash)
    );
  }
  set(key: string, resourceVersion: string | undefined, hash: string): void {
    if (resourceVersion) this.m.set(key, `${resourceVersion}|${hash}`);
  }
  delete(key: string): void {
    this.m.delete(key);
  }
  get size(): number {
    return this.m.size;
  }
}

/** A short digest of a desired object (base64 of SHA-1, 16 characters). */
export function desiredHash(obj: unknown): string {
  return createHash('sha1').update(JSON.stringify(obj)).digest('base64').slice(0, 16);
}

/** `Kind/namespace/name` of an object. */
export function childKey(o: KubernetesObject): string {
  return `${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`;
}

/** `g<metadata.generation>` of an object (undefined without one): the version of a child cached without its spec. */
export function generationVersion(o: KubernetesObject | undefined): string | undefined {
  const g = (o?.metadata as { generation?: number } | undefined)?.generation;
  return g === undefined ? undefined : `g${g}`;
}
