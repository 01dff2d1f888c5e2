/**
 * A thin JSON client for the Kubernetes API over the shared keep-alive connection pool of kube-transport.ts:
 * server-side apply (`application/apply-patch+yaml`, JSON being YAML) with a field manager — also on the status
 * subresource — plus get/list/delete/merge-patch and Events. Plain JSON in and out: the manifests built by
 * `builders/` are sent as they are (client-node's typed models rename fields such as `from` → `_from`).
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { KubeStatusError, KubeTransport, type KubeConfigLike } from './kube-transport.js';

/** An error answer of the apiserver, with its HTTP status and Status object. */
export { KubeStatusError as KubeApiError } from './kube-transport.js';

const CORE = new Set(['Secret', 'Service', 'Event', 'ConfigMap', 'Pod', 'PersistentVolumeClaim', 'ServiceAccount', 'Namespace']);

const PLURALS: Record<string, string> = {
  Secret: 'secrets',
  Service: 'services',
  Event: 'events',
  ConfigMap: 'configmaps',
  Pod: 'pods',
  PersistentVolumeClaim: 'persistentvolumeclaims',
  ServiceAccount: 'serviceaccounts',
  StatefulSet: 'statefulsets',
  NetworkPolicy: 'networkpolicies',
  Lease: 'leases',
  WhatsAppInstance: 'whatsappinstances',
};

/** REST path of a kind's collection in `namespace`, e.g. `/apis/apps/v1/namespaces/ns/statefulsets`. */
export function collectionPath(apiVersion: string, kind: string, namespace?: string): string {
  const plural = PLURALS[kind];
  if (!plural) throw new Error(`unknown kind ${kind}`);
  const base = CORE.has(kind) && apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`;
  return namespace ? `${base}/namespaces/${namespace}/${plural}` : `${base}/${plural}`;
}

/** REST path of one object. */
export function objectPath(obj: { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } }): string {
  return `${collectionPath(obj.apiVersion!, obj.kind!, obj.metadata?.namespace)}/${encodeURIComponent(obj.metadata!.name!)}`;
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
}

export class KubeClient {
  /** The shared keep-alive connection pool of `kc` (see kube-transport.ts). */
  private readonly transport: KubeTransport;

  constructor(readonly kc: KubeConfigLike) {
    this.transport = KubeTransport.for(kc);
  }

  /** One API call (30 s timeout). Resolves with the parsed body; rejects with KubeApiError for non-2xx. */
  request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, o: RequestOptions = {}): Promise<T> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) q.set(k, String(v));
    const qs = q.toString();
    return this.transport.request<T>({ method, path: qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path, body: o.body, contentType: o.contentType });
  }

  /** GET an object; undefined when it does not exist (404). */
  async get<T extends KubernetesObject>(path: string): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', path);
    } catch (err) {
      if (err instanceof KubeStatusError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  /**
   * Server-side apply of `obj` (its apiVersion, kind, metadata.name/namespace name the target) with `fieldManager`,
   * forcing ownership of the fields it sets (a controller is the authority on its desired state).
   * `subresource: 'status'` applies to /status.
   */
  apply<T extends KubernetesObject>(obj: KubernetesObject, fieldManager: string, o: { subresource?: 'status'; force?: boolean } = {}): Promise<T> {
    const path = objectPath(obj) + (o.subresource ? `/${o.subresource}` : '');
    return this.request<T>('PATCH', path, { body: obj, contentType: 'application/apply-patch+yaml', query: { fieldManager, force: o.force ?? true } });
  }

  /** JSON merge patch. */
  mergePatch<T extends KubernetesObject>(path: string, patch: unknown, fieldManager?: string): Promise<T> {
    return this.request<T>('PATCH', path, { body: patch, contentType: 'application/merge-patch+json', query: { fieldManager } });
  }

  /** JSON patch (RFC 6902), e.g. a test-and-remove of a finalizer. */
  jsonPatch<T extends KubernetesObject>(path: string, ops: unknown[], fieldManager?: string): Promise<T> {
    return this.request<T>('PATCH', path, { body: ops, contentType: 'application/json-patch+json', query: { fieldManager } });
  }

  /** DELETE; resolves false when already gone. */
  async delete(path: string, propagationPolicy: 'Foreground' | 'Background' | 'Orphan' = 'Background'): Promise<boolean> {
    try {
      await this.request('DELETE', path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy } });
      return true;
    } catch (err) {
      if (err instanceof KubeStatusError && err.statusCode === 404) return false;
      throw err;
    }
  }
}
