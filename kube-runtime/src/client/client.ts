/**
 * A thin JSON client for the Kubernetes API over the shared keep-alive connection pool of transport.ts:
 * server-side apply (`application/apply-patch+yaml`, JSON being YAML) with a field manager — also on the status
 * subresource — plus create-only POSTs, get/list/delete, merge and JSON patches, and the move of a manager's `Update`
 * ownership to its `Apply` entry (managed-fields.ts). Plain JSON in and out: manifests are sent as they are
 * (client-node's typed models rename fields such as `from` → `_from`).
 *
 * REST paths come from the object's apiVersion and kind: the built-in kinds below are known; custom resources are
 * registered per client with {@link KubeClientOptions.kinds}. Every failure is an {@link ApiServerError} (errors.ts).
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { isNotFound } from './errors.js';
import type { KubeConfigLike } from './kubeconfig.js';
import { upgradeManagedFieldsPatch } from './managed-fields.js';
import { KubeTransport } from './transport.js';

/** Resource (plural) names of the built-in kinds this package knows, by kind. */
export const BUILTIN_PLURALS: Readonly<Record<string, string>> = Object.freeze({
  Secret: 'secrets',
  Service: 'services',
  Event: 'events',
  ConfigMap: 'configmaps',
  Pod: 'pods',
  PersistentVolumeClaim: 'persistentvolumeclaims',
  ServiceAccount: 'serviceaccounts',
  Namespace: 'namespaces',
  StatefulSet: 'statefulsets',
  Deployment: 'deployments',
  NetworkPolicy: 'networkpolicies',
  Lease: 'leases',
  CustomResourceDefinition: 'customresourcedefinitions',
});

/**
 * REST path of a kind's collection, e.g. `/apis/apps/v1/namespaces/ns/statefulsets` (core kinds, apiVersion `v1`,
 * under `/api/v1`). `plurals` maps kind → resource name.
 * @throws Error for a kind missing from `plurals`.
 */
export function collectionPath(
  apiVersion: string,
  kind: string,
  namespace?: string,
  plurals: Readonly<Record<string, string>> = BUILTIN_PLURALS,
): string {
  const plural = plurals[kind];
  if (!plural) throw new Error(`unknown kind ${kind}: register its plural in KubeClientOptions.kinds`);
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${plural}` : `${base}/${plural}`;
}

/** An object's identity: enough to name its REST path. */
export interface ObjectRef {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

/**
 * A manifest to apply, as plain JSON: client-node's typed objects, a custom resource's own interface (timestamps as
 * strings) and object literals all fit.
 */
export interface ApplyObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    ownerReferences?: Array<{
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
      blockOwnerDeletion?: boolean;
    }>;
    resourceVersion?: string;
    uid?: string;
    generation?: number;
    creationTimestamp?: string | Date;
    deletionTimestamp?: string | Date;
  };
  spec?: unknown;
  status?: unknown;
  data?: unknown;
  stringData?: unknown;
  type?: string;
}

export interface KubeClientOptions {
  /** Custom resources (and any built-in kind missing from {@link BUILTIN_PLURALS}): kind → plural, e.g. `{ MyApp: 'myapps' }`. */
  kinds?: Record<string, string>;
  /** Timeout of one call, ms (for the response head, and again for its body). Default 30_000. */
  timeoutMs?: number;
  /** Aborts every call of this client (e.g. on shutdown): in-flight calls reject with the AbortError. */
  signal?: AbortSignal;
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** This call's timeout, ms. Default: the client's. */
  timeoutMs?: number;
  /** Aborts this call (together with the client's signal). */
  signal?: AbortSignal;
}

/** Selectors and page size of {@link KubeClient.list}. */
export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Objects per page. Default 500. */
  pageSize?: number;
}

export class KubeClient {
  /** The shared keep-alive connection pool of `kc` (see transport.ts). */
  private readonly transport: KubeTransport;
  private readonly plurals: Readonly<Record<string, string>>;
  private readonly timeoutMs: number | undefined;
  private readonly signal: AbortSignal | undefined;

  /** @throws Error when `kc` has no current cluster. */
  constructor(
    readonly kc: KubeConfigLike,
    o: KubeClientOptions = {},
  ) {
    this.transport = KubeTransport.for(kc);
    this.plurals = { ...BUILTIN_PLURALS, ...o.kinds };
    this.timeoutMs = o.timeoutMs;
    this.signal = o.signal;
  }

  /** REST path of a kind's collection (see {@link collectionPath}), with this client's registered kinds. */
  collectionPath(apiVersion: string, kind: string, namespace?: string): string {
    return collectionPath(apiVersion, kind, namespace, this.plurals);
  }

  /** REST path of one object, from its apiVersion, kind, namespace and name. */
  objectPath(obj: ObjectRef): string {
    return `${this.collectionPath(obj.apiVersion!, obj.kind!, obj.metadata?.namespace)}/${encodeURIComponent(obj.metadata!.name!)}`;
  }

  /**
   * One API call. Resolves with the parsed body.
   * @throws ApiServerError `rejected` for a non-2xx answer, `unreachable` when there is none; the AbortError when a
   * signal aborts.
   */
  request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, o: RequestOptions = {}): Promise<T> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) q.set(k, String(v));
    const qs = q.toString();
    const signals = [this.signal, o.signal].filter((s): s is AbortSignal => s !== undefined);
    return this.transport.request<T>({
      method,
      path: qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path,
      body: o.body,
      contentType: o.contentType,
      timeoutMs: o.timeoutMs ?? this.timeoutMs,
      signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
    });
  }

  /** GET an object by path; undefined when it does not exist (404). @throws ApiServerError otherwise. */
  async get<T = KubernetesObject>(path: string): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', path);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Every object of a collection path (e.g. {@link collectionPath}), following `continue` tokens page by page.
   * Items are as the apiserver lists them (without apiVersion and kind).
   * @throws ApiServerError
   */
  async list<T = KubernetesObject>(path: string, o: ListOptions = {}): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined;
    do {
      const page: { items?: T[]; metadata?: { continue?: string } } = await this.request('GET', path, {
        query: { labelSelector: o.labelSelector, fieldSelector: o.fieldSelector, limit: o.pageSize ?? 500, continue: next },
      });
      items.push(...(page.items ?? []));
      next = page.metadata?.continue || undefined;
    } while (next);
    return items;
  }

  /**
   * Server-side apply of `obj` (its apiVersion, kind, metadata.name/namespace name the target) with `fieldManager`,
   * forcing ownership of the fields it sets unless `force: false` (a controller is the authority on its desired
   * state). `subresource: 'status'` applies to /status. Resolves with the object as stored.
   * @throws ApiServerError (e.g. 422 Invalid, 409 Conflict when `force: false` and another manager owns a field).
   */
  apply<T = KubernetesObject>(obj: ApplyObject, fieldManager: string, o: { subresource?: 'status'; force?: boolean } = {}): Promise<T> {
    const path = this.objectPath(obj) + (o.subresource ? `/${o.subresource}` : '');
    return this.request<T>('PATCH', path, {
      body: obj,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force: o.force ?? true },
    });
  }

  /**
   * Create-only POST of `obj` to its collection, its fields recorded under `fieldManager` (an `Update` entry: see
   * {@link upgradeManagedFields} before the first server-side apply of such an object). Resolves with the object as
   * stored. Cheaper for the apiserver than an apply that creates (no read of the missing object, no merge).
   * @throws ApiServerError (409 AlreadyExists when it exists: see isAlreadyExists; 422 Invalid).
   */
  create<T = KubernetesObject>(obj: ApplyObject, fieldManager: string): Promise<T> {
    const path = this.collectionPath(obj.apiVersion!, obj.kind!, obj.metadata?.namespace);
    return this.request<T>('POST', path, { body: obj, query: { fieldManager } });
  }

  /**
   * Moves `manager`'s `Update` ownership of `live` (a full read, with `metadata.managedFields`) to its `Apply` entry,
   * so that its next server-side apply removes the fields it no longer sends (managed-fields.ts says why). One JSON
   * patch, refused when the object changed since `live` was read.
   * @returns the object as stored after the patch, or undefined when there was nothing to move (no request sent).
   * @throws ApiServerError (409 Conflict when `live` is stale).
   */
  async upgradeManagedFields<T extends KubernetesObject = KubernetesObject>(live: T, manager: string): Promise<T | undefined> {
    const ops = upgradeManagedFieldsPatch(live, manager);
    return ops ? this.jsonPatch<T>(this.objectPath(live), ops) : undefined;
  }

  /** JSON merge patch of the object (or subresource, e.g. `…/status`) at `path`. @throws ApiServerError */
  mergePatch<T = KubernetesObject>(path: string, patch: unknown, fieldManager?: string): Promise<T> {
    return this.request<T>('PATCH', path, { body: patch, contentType: 'application/merge-patch+json', query: { fieldManager } });
  }

  /** JSON patch (RFC 6902), e.g. a test-and-remove of a finalizer. @throws ApiServerError (422 when a `test` fails) */
  jsonPatch<T = KubernetesObject>(path: string, ops: unknown[], fieldManager?: string): Promise<T> {
    return this.request<T>('PATCH', path, { body: ops, contentType: 'application/json-patch+json', query: { fieldManager } });
  }

  /** DELETE; resolves false when already gone (404). @throws ApiServerError otherwise. */
  async delete(path: string, propagationPolicy: 'Foreground' | 'Background' | 'Orphan' = 'Background'): Promise<boolean> {
    try {
      await this.request('DELETE', path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy } });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}
