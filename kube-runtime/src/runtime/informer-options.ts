/** Options and event handlers of an Informer (informer.ts). */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { KubeConfigLike } from '../client/kubeconfig.js';
import type { RuntimeLogger } from './logger.js';

export interface InformerOptions<T = KubernetesObject> {
  kubeConfig: KubeConfigLike;
  /** `v1`, `apps/v1`, `example.com/v1alpha1`. */
  apiVersion: string;
  /** Resource (plural) name: `configmaps`, `statefulsets`, `myapps`. */
  plural: string;
  /** Kind, used to fill list items' `kind`. Default: the list's kind minus `List`. */
  kind?: string;
  /** Namespace to watch; empty or undefined for all namespaces (or a cluster-scoped resource). */
  namespace?: string;
  /** Label selector, e.g. `app.kubernetes.io/managed-by=my-operator`. */
  labelSelector?: string;
  /** Field selector, e.g. `metadata.name=foo`. */
  fieldSelector?: string;
  /** Re-deliver every cached object as an update this often, ms; 0 or undefined disables resync. */
  resyncMs?: number;
  /** Objects per list page. Default 500. */
  pageSize?: number;
  /** First relist backoff, ms. Default 200. */
  initialBackoffMs?: number;
  /** Maximum relist backoff, ms. Default 30_000. */
  maxBackoffMs?: number;
  /** Timeout of one list page request, ms. Default 60_000. */
  listTimeoutMs?: number;
  /** Server-side watch timeout range, s (a random value in it per watch, as client-go). Default [300, 600]. */
  watchTimeoutSeconds?: [number, number];
  /** Name for logs. Default `<plural>`. */
  name?: string;
  /** Keep `metadata.managedFields` in cached objects (default: dropped, saving memory). */
  keepManagedFields?: boolean;
  /**
   * List and watch metadata only (`PartialObjectMetadata`: apiVersion `meta.k8s.io/v1`; `kind` is set to
   * {@link kind}). Default false.
   */
  metadataOnly?: boolean;
  /**
   * Shrinks an object before it is cached (after managedFields are dropped); may modify and return its argument.
   * Handlers receive the transformed object. Also applied to `Informer.upsert`.
   */
  transform?: (obj: T) => T;
  logger?: RuntimeLogger;
}

/** Event handlers; exceptions they throw are logged and otherwise ignored. */
export interface InformerHandlers<T> {
  onAdd?(obj: T): void;
  /** `oldObj === newObj` on a periodic resync. */
  onUpdate?(oldObj: T, newObj: T): void;
  /** The last known state of the object (the deleted object from the watch, or the cached one after a relist). */
  onDelete?(obj: T): void;
}
