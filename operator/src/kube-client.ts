/**
 * A thin JSON client for the Kubernetes API on top of @kubernetes/client-node's KubeConfig (authentication, TLS):
 * server-side apply (`application/apply-patch+yaml`, JSON being YAML) with a field manager — also on the status
 * subresource — plus get/list/delete/merge-patch and Events. Plain JSON in and out: the manifests built by
 * `builders/` are sent as they are (client-node's typed models rename fields such as `from` → `_from`).
 */
import { HttpMethod, RequestContext, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { fetch } from 'undici';

/** An error answer of the apiserver, with its HTTP status and Status object. */
export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly status: { reason?: string; message?: string; details?: unknown } | undefined,
    method: string,
    path: string,
  ) {
    super(`${method} ${path}: ${statusCode} ${status?.reason ?? ''} ${status?.message ?? ''}`.trim());
    this.name = 'KubeApiError';
  }
}

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
  /**
   * The connection pool of the first request, reused: client-node makes a new dispatcher (a new TLS connection) per
   * authenticated request otherwise — 7.6 ms instead of 1.0 ms per call and hundreds of sockets under load.
   */
  private dispatcher: ReturnType<RequestContext['getDispatcher']> | undefined;

  constructor(readonly kc: KubeConfig) {}

  /** One API call. Resolves with the parsed body; rejects with KubeApiError for non-2xx. */
  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, o: RequestOptions = {}): Promise<T> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const ctx = new RequestContext(url.toString(), HttpMethod[method]);
    await this.kc.applySecurityAuthentication(ctx);
    const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
    if (o.body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
    const res = await fetch(url, {
      method,
      headers,
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
      dispatcher: (this.dispatcher ??= ctx.getDispatcher()),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) throw new KubeApiError(res.status, parsed as KubeApiError['status'], method, path);
    return parsed as T;
  }

  /** GET an object; undefined when it does not exist (404). */
  async get<T extends KubernetesObject>(path: string): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', path);
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 404) return undefined;
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
      if (err instanceof KubeApiError && err.statusCode === 404) return false;
      throw err;
    }
  }
}
