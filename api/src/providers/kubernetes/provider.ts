/**
 * `KubernetesProvider`: instances as WhatsAppInstance resources (`@wacloud/crds`) in one namespace. The api writes
 * only the resource — by server-side apply with its own field manager (`wacloud-api`), so it owns `spec.owner`,
 * `spec.engine`, `spec.suspended` (and `spec.image` when configured), the owner and managed-by labels and the
 * display-name annotation — and the operator does the rest: StatefulSet, its headless Service, the internal-key Secret,
 * the namespace's NetworkPolicy, scaling to zero on `spec.suspended`, and the status this provider reads back.
 *
 * The apiserver is reached through `KubeClient` of `@wacloud/kube-runtime` (the operator's client: one keep-alive
 * connection pool per kubeconfig, a timeout per request, every call of this provider aborted on {@link close}). The
 * api needs, in its namespace: whatsappinstances get/list/patch/delete and secrets get (the chart's Role).
 *
 * Errors (all ProviderError): an invalid id → `invalid_id` before any request; the apiserver unreachable, timing out,
 * throttling (429) or failing (5xx), or the provider closed → `unavailable`; other refusals (403 from RBAC, 422 from
 * validation such as a changed `spec.owner`) → `rejected`, with the `ApiServerError` as `cause`. Their messages name
 * the apiserver and the request path: for operators and logs, never for tenants.
 */
import {
  API_VERSION,
  INSTANCES_SERVICE,
  INTERNAL_KEY_SECRET_KEY,
  KIND,
  PLURAL,
  PORTS,
  RESTARTED_AT_ANNOTATION,
  childNames,
  instancePodHost,
  type WhatsAppInstance,
} from '@wacloud/crds';
import { KubeClient, asApiServerError, isRetryable, type KubeConfigLike } from '@wacloud/kube-runtime';
import type { Logger } from 'pino';
import { ProviderError, type InstanceEndpoints, type InstanceProvider, type ProviderStatus, type ProvisionRequest } from '../provider.js';
import { assertInstanceId } from '../shared/instance-id.js';
import { MANAGED_BY_API, MANAGED_BY_API_SELECTOR, ownershipLabels } from '../shared/labels.js';
import { RECONCILE_CONCURRENCY, runReconcileTasks, type ReconcileTask } from '../shared/reconcile-set.js';
import { statusOf } from './status.js';

/** Default field manager of the api's server-side applies. */
export const API_FIELD_MANAGER = 'wacloud-api';
export { MANAGED_BY_API };
/** Annotation holding the tenant's display name of the instance. */
export const DISPLAY_NAME_ANNOTATION = 'wacloud.io/display-name';

export interface KubernetesProviderOptions {
  /**
   * Where and as whom to reach the apiserver: kube-runtime's `loadKubeConfig()` or a client-node `KubeConfig` (exec
   * and auth-provider users included). In a pod, the ServiceAccount; the chart gives the api its own Role.
   */
  kubeConfig: KubeConfigLike;
  /** Namespace of the WhatsAppInstance resources (and of their children). */
  namespace: string;
  logger: Logger;
  /** Field manager of server-side applies. Default `wacloud-api`. */
  fieldManager?: string;
  /** `spec.image` of the instances when set; otherwise the operator's default image is used. */
  image?: string;
  /** DNS suffix after `<service>.<namespace>.` in the instance URLs. Default `svc` (e.g. `svc.cluster.local` also works). */
  serviceDomain?: string;
  /** Timeout of one apiserver request, ms. Default 15000. */
  requestTimeoutMs?: number;
  /** Parallel apiserver requests of `reconcile`. Default 8. */
  reconcileConcurrency?: number;
}

interface SecretObject {
  data?: Record<string, string>;
}

export class KubernetesProvider implements InstanceProvider {
  readonly kind = 'kubernetes' as const;
  /** Aborted by {@link close}: every in-flight call of {@link client} rejects, later ones fail at once. */
  private readonly closing = new AbortController();
  private readonly client: KubeClient;
  /** The apiserver's URL (for operators' messages). */
  private readonly server: string;
  private readonly namespace: string;
  private readonly log: Logger;
  private readonly fieldManager: string;
  private readonly image: string | undefined;
  private readonly serviceDomain: string;
  private readonly concurrency: number;

  /** @throws ProviderError `unavailable` when the kubeconfig has no current cluster. */
  constructor(o: KubernetesProviderOptions) {
    const cluster = o.kubeConfig.getCurrentCluster();
    if (!cluster) throw new ProviderError('unavailable', 'the kubeconfig has no current cluster');
    this.server = cluster.server;
    this.client = new KubeClient(o.kubeConfig, {
      kinds: { [KIND]: PLURAL },
      timeoutMs: o.requestTimeoutMs ?? 15_000,
      signal: this.closing.signal,
    });
    this.namespace = o.namespace;
    this.log = o.logger.child({ provider: 'kubernetes', namespace: o.namespace });
    this.fieldManager = o.fieldManager ?? API_FIELD_MANAGER;
    this.image = o.image;
    this.serviceDomain = o.serviceDomain ?? 'svc';
    this.concurrency = Math.max(1, o.reconcileConcurrency ?? RECONCILE_CONCURRENCY);
  }

  /**
   * Applies the WhatsAppInstance `req.id` (creating it or bringing the api's fields to `req`). Idempotent.
   * @throws ProviderError `invalid_id`, `unavailable`; `rejected` (a 422) when `req.owner` differs from the existing
   * resource's (the owner is immutable).
   */
  async create(req: ProvisionRequest): Promise<void> {
    assertInstanceId(req.id);
    await this.apply(req);
    this.log.info({ instance: req.id, owner: req.owner, suspended: req.suspended }, 'instance applied');
  }

  /**
   * Sets `spec.suspended: true` (the operator scales the StatefulSet to 0 and keeps the session volume). Idempotent.
   * @throws ProviderError `invalid_id`, `not_found` when the resource does not exist, `unavailable`, `rejected`.
   */
  async suspend(id: string): Promise<void> {
    assertInstanceId(id);
    await this.setSuspended(id, true);
  }

  /**
   * Sets `spec.suspended: false` (the operator scales back to 1). Idempotent.
   * @throws ProviderError `invalid_id`, `not_found` when the resource does not exist, `unavailable`, `rejected`.
   */
  async resume(id: string): Promise<void> {
    assertInstanceId(id);
    await this.setSuspended(id, false);
  }

  /**
   * Asks the operator to restart the instance's pod: sets the `wacloud.io/restarted-at` annotation (now, ISO 8601) by
   * a JSON merge patch under the field manager `<fieldManager>-restart` (so the api's applies never remove it); the
   * operator copies it onto the pod template and the StatefulSet rolls the pod, keeping its session volume. Resolves
   * once the request is recorded: the pod restarts later. A suspended instance is left as it is.
   * @throws ProviderError `invalid_id`, `not_found` when the resource does not exist, `unavailable`, `rejected`.
   */
  async restart(id: string): Promise<void> {
    assertInstanceId(id);
    const cur = await this.get(id);
    if (!cur) throw new ProviderError('not_found', `instance ${id} does not exist in namespace ${this.namespace}`);
    if (cur.spec.suspended) return;
    const patch = { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: new Date().toISOString() } } };
    await this.call(() => this.client.mergePatch(this.path(id), patch, `${this.fieldManager}-restart`));
    this.log.info({ instance: id }, 'instance restart requested');
  }

  /**
   * Deletes the resource (background propagation): the operator's finalizer runs, then the garbage collector removes
   * the children, the session volume included. A missing resource is fine. Returns before the deletion completes
   * (`status` says `Terminating` meanwhile).
   * @throws ProviderError `invalid_id`, `unavailable`, `rejected`.
   */
  async delete(id: string): Promise<void> {
    assertInstanceId(id);
    const deleted = await this.deleteResource(id);
    if (deleted) this.log.info({ instance: id }, 'instance deleted');
  }

  /**
   * The resource's status as the operator reports it: `NotFound` when missing, `Terminating` once deleted, else
   * `status.phase` (`Pending` before the operator's first reconcile).
   * @throws ProviderError `invalid_id`, `unavailable`, `rejected`.
   */
  async status(id: string): Promise<ProviderStatus> {
    assertInstanceId(id);
    const wai = await this.get(id);
    if (!wai) return { phase: 'NotFound' };
    return statusOf(wai);
  }

  /**
   * In-cluster URLs of the instance's pod (`http://<id>-0.<status.serviceName>.<namespace>.<serviceDomain>:8080` and
   * `:8081`: its DNS name under its StatefulSet's governing Service, `wacloud-instances` unless an older one) and
   * its internal key from the operator's Secret.
   * @throws ProviderError `not_found` when the resource does not exist; `not_ready` while it is being deleted,
   * suspended, not `Running`, or its Secret is not there yet; `invalid_id`, `unavailable`, `rejected`.
   */
  async endpoints(id: string): Promise<InstanceEndpoints> {
    assertInstanceId(id);
    const wai = await this.get(id);
    if (!wai) throw new ProviderError('not_found', `instance ${id} does not exist in namespace ${this.namespace}`);
    if (wai.metadata.deletionTimestamp) throw new ProviderError('not_ready', `instance ${id} is being deleted`);
    if (wai.spec.suspended) throw new ProviderError('not_ready', `instance ${id} is suspended`);
    const phase = wai.status?.phase ?? 'Pending';
    if (phase !== 'Running') throw new ProviderError('not_ready', `instance ${id} is not running (phase ${phase})`);
    // The pod's own DNS name under its StatefulSet's governing Service (never the shared Service's name: all pods).
    const host = `${instancePodHost(id, wai.status?.serviceName || INSTANCES_SERVICE)}.${this.namespace}.${this.serviceDomain}`;
    return {
      publicUrl: `http://${host}:${PORTS.public.port}`,
      internalUrl: `http://${host}:${PORTS.internal.port}`,
      internalKey: await this.keyOf(wai),
    };
  }

  /**
   * The internal API key of instance `id`, whatever its phase: the Secret named by `status.internalSecretRef` (before
   * the operator's first status, `<id>-internal` / `internal-api-key`), base64-decoded.
   * @throws ProviderError `not_found` when the resource does not exist, `not_ready` when the Secret or its key does
   * not exist yet, `invalid_id`, `unavailable`, `rejected`.
   */
  async internalKey(id: string): Promise<string> {
    assertInstanceId(id);
    const wai = await this.get(id);
    if (!wai) throw new ProviderError('not_found', `instance ${id} does not exist in namespace ${this.namespace}`);
    return this.keyOf(wai);
  }

  /**
   * Makes the namespace match `desired`: applies every desired instance whose api-owned fields differ (or that is
   * missing), and deletes the WhatsAppInstances labelled `app.kubernetes.io/managed-by: wacloud-api` that are not
   * desired. Resources of other managers (e.g. applied with kubectl) are left alone unless desired. Every operation
   * is attempted; afterwards the first failure is thrown.
   * @throws ProviderError `invalid_id` (before anything is done) when a desired id is invalid; `unavailable` when the
   * list fails; the first failed apply/delete otherwise.
   */
  async reconcile(desired: ProvisionRequest[]): Promise<void> {
    for (const r of desired) assertInstanceId(r.id);
    const existing = new Map((await this.listManaged()).map((w) => [w.metadata.name ?? '', w]));
    const want = new Map(desired.map((r) => [r.id, r]));
    let applied = 0;
    let deleted = 0;
    const tasks: ReconcileTask[] = [];
    for (const req of want.values()) {
      const cur = existing.get(req.id);
      if (cur?.metadata.deletionTimestamp) this.log.warn({ instance: req.id }, 'reconcile: a desired instance is being deleted');
      if (cur && this.matches(cur, req)) continue;
      tasks.push({
        what: 'apply',
        id: req.id,
        run: async () => {
          await this.apply(req);
          applied++;
        },
      });
    }
    for (const [name, cur] of existing) {
      if (want.has(name) || cur.metadata.deletionTimestamp) continue;
      tasks.push({
        what: 'delete',
        id: name,
        run: async () => {
          if (await this.deleteResource(name)) deleted++;
        },
      });
    }
    const outcome = await runReconcileTasks(tasks, { concurrency: this.concurrency, log: this.log });
    this.log.info({ desired: want.size, existing: existing.size, applied, deleted, failed: outcome.failed }, 'reconciled instances');
    outcome.throwFirst();
  }

  /** Aborts in-flight requests (they reject with `unavailable`); later calls fail the same way. */
  async close(): Promise<void> {
    this.closing.abort(new Error('provider closed'));
  }

  // ---------------------------------------------------------------------------------------------------------------

  /** REST path of the WhatsAppInstance `name`. */
  private path(name: string): string {
    return this.client.objectPath({ apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace: this.namespace } });
  }

  /** The object the api applies for `req` (its whole intent: SSA removes api-owned fields left out). */
  private manifest(req: ProvisionRequest): WhatsAppInstance {
    return {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: {
        name: req.id,
        namespace: this.namespace,
        labels: ownershipLabels(req.owner),
        annotations: { [DISPLAY_NAME_ANNOTATION]: req.name },
      },
      spec: { owner: req.owner, engine: req.engine, suspended: req.suspended, ...(this.image ? { image: this.image } : {}) },
    };
  }

  /** Whether `cur` already has every field {@link manifest} would set for `req`. */
  private matches(cur: WhatsAppInstance, req: ProvisionRequest): boolean {
    const want = this.manifest(req);
    const labels = cur.metadata.labels ?? {};
    return (
      Object.entries(want.metadata.labels ?? {}).every(([k, v]) => labels[k] === v) &&
      cur.metadata.annotations?.[DISPLAY_NAME_ANNOTATION] === req.name &&
      cur.spec.owner === want.spec.owner &&
      (cur.spec.engine ?? 'webjs') === want.spec.engine &&
      (cur.spec.suspended ?? false) === want.spec.suspended &&
      (this.image === undefined || cur.spec.image === this.image)
    );
  }

  /** Server-side apply of {@link manifest}, forcing: the api is the authority on the fields it sets. */
  private async apply(req: ProvisionRequest): Promise<void> {
    await this.call(() => this.client.apply<WhatsAppInstance>(this.manifest(req), this.fieldManager));
  }

  /**
   * Re-applies the api's whole intent with `suspended` changed: a partial apply under the same field manager would
   * drop the fields it leaves out. Owner, engine and display name are read back from the resource.
   */
  private async setSuspended(id: string, suspended: boolean): Promise<void> {
    const cur = await this.get(id);
    if (!cur) throw new ProviderError('not_found', `instance ${id} does not exist in namespace ${this.namespace}`);
    const req: ProvisionRequest = {
      id,
      owner: cur.spec.owner,
      name: cur.metadata.annotations?.[DISPLAY_NAME_ANNOTATION] ?? id,
      engine: cur.spec.engine ?? 'webjs',
      suspended,
    };
    if (!this.matches(cur, req)) await this.apply(req);
    this.log.info({ instance: id, suspended }, suspended ? 'instance suspended' : 'instance resumed');
  }

  /** DELETE with background propagation; false when it was already gone. */
  private deleteResource(name: string): Promise<boolean> {
    return this.call(() => this.client.delete(this.path(name)));
  }

  /** The resource, or undefined when it does not exist. */
  private get(name: string): Promise<WhatsAppInstance | undefined> {
    return this.call(() => this.client.get<WhatsAppInstance>(this.path(name)));
  }

  /** Every WhatsAppInstance in the namespace labelled managed-by wacloud-api (paginated, 500 a page). */
  private listManaged(): Promise<WhatsAppInstance[]> {
    return this.call(() =>
      this.client.list<WhatsAppInstance>(this.client.collectionPath(API_VERSION, KIND, this.namespace), {
        labelSelector: MANAGED_BY_API_SELECTOR,
      }),
    );
  }

  /** The internal key from the Secret `wai` points at. */
  private async keyOf(wai: WhatsAppInstance): Promise<string> {
    const id = wai.metadata.name ?? '';
    const ref = wai.status?.internalSecretRef ?? { name: childNames(id).internalSecret, key: INTERNAL_KEY_SECRET_KEY };
    const path = this.client.objectPath({ apiVersion: 'v1', kind: 'Secret', metadata: { name: ref.name, namespace: this.namespace } });
    const secret = await this.call(() => this.client.get<SecretObject>(path));
    if (!secret) throw new ProviderError('not_ready', `instance ${id}: Secret ${ref.name} does not exist yet`);
    const encoded = secret.data?.[ref.key];
    if (!encoded) throw new ProviderError('not_ready', `instance ${id}: Secret ${ref.name} has no key ${ref.key} yet`);
    return Buffer.from(encoded, 'base64').toString('utf8');
  }

  /**
   * One apiserver call through the client (`get` and `delete` answer a 404 themselves; elsewhere it is a refusal).
   * @throws ProviderError `unavailable` when the apiserver cannot be reached, times out, throttles (429) or fails
   *   (5xx), or after {@link close}; `rejected` for other non-2xx answers (403, 404, 409, 422, …: retrying will not
   *   help), with the ApiServerError as `cause`.
   */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closing.signal.aborted) throw new ProviderError('unavailable', 'the Kubernetes provider is closed');
    try {
      return await fn();
    } catch (err) {
      if (this.closing.signal.aborted) throw new ProviderError('unavailable', 'the Kubernetes provider is closed', { cause: err });
      const e = asApiServerError(err);
      if (!e || e.code === 'unreachable') {
        throw new ProviderError('unavailable', `Kubernetes API at ${this.server} unreachable (${(err as Error).message})`, { cause: err });
      }
      if (isRetryable(e)) throw new ProviderError('unavailable', `Kubernetes API at ${this.server} failed: ${e.message}`, { cause: err });
      throw new ProviderError('rejected', `Kubernetes API refused ${e.message}`, { cause: err });
    }
  }
}
