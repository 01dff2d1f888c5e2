/**
 * `KubernetesProvider`: instances as WhatsAppInstance resources (`@wacloud/crds`) in one namespace. The api writes
 * only the resource — by server-side apply with its own field manager (`wacloud-api`), so it owns `spec.owner`,
 * `spec.engine`, `spec.suspended` (and `spec.image` when configured), the owner and managed-by labels and the
 * display-name annotation — and the operator does the rest: StatefulSet, Services, the internal-key Secret,
 * NetworkPolicy, scaling to zero on `spec.suspended`, and the status this provider reads back.
 *
 * The api talks to the apiserver with plain JSON over `fetch` (authentication and TLS from client-node's KubeConfig):
 * server-side apply needs `application/apply-patch+yaml`, which the generated clients make awkward, and the
 * WhatsAppInstance is a custom resource that has no typed model anyway. The api needs, in its namespace:
 * whatsappinstances get/list/patch/delete and secrets get (the chart's Role).
 *
 * Errors: the apiserver unreachable, timing out, throttling (429) or failing (5xx) → `ProviderError('unavailable')`;
 * other refusals (403 from RBAC, 422 from validation such as a changed `spec.owner`) → {@link KubeApiError}.
 */
import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import {
  API_VERSION,
  INTERNAL_KEY_SECRET_KEY,
  KIND,
  LABELS,
  PLURAL,
  PORTS,
  childNames,
  type Condition,
  type WhatsAppInstance,
  type WhatsAppInstanceList,
} from '@wacloud/crds';
import type { Logger } from 'pino';
import { fetch } from 'undici';
import { ProviderError, type InstanceEndpoints, type InstanceProvider, type ProviderStatus, type ProvisionRequest } from './provider.js';

/** Default field manager of the api's server-side applies. */
export const API_FIELD_MANAGER = 'wacloud-api';
/** Value of `app.kubernetes.io/managed-by` on the resources the api creates; `reconcile` only deletes those. */
export const MANAGED_BY_API = 'wacloud-api';
/** Annotation holding the tenant's display name of the instance. */
export const DISPLAY_NAME_ANNOTATION = 'wacloud.io/display-name';

/** A refusal of the apiserver that is not a transient unavailability (e.g. 403 Forbidden, 422 Invalid). */
export class KubeApiError extends Error {
  constructor(
    /** HTTP status code of the answer. */
    readonly statusCode: number,
    /** `reason` of the returned Status object (`Forbidden`, `Invalid`, `NotFound`, …) when present. */
    readonly reason: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export interface KubernetesProviderOptions {
  /** Where and as whom to reach the apiserver (in a pod: `loadFromCluster()`; the chart gives the api its own Role). */
  kubeConfig: KubeConfig;
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

interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
}

interface SecretObject {
  data?: Record<string, string>;
}

export class KubernetesProvider implements InstanceProvider {
  readonly kind = 'kubernetes' as const;
  private readonly kc: KubeConfig;
  private readonly namespace: string;
  private readonly log: Logger;
  private readonly fieldManager: string;
  private readonly image: string | undefined;
  private readonly serviceDomain: string;
  private readonly timeoutMs: number;
  private readonly concurrency: number;
  /** Aborted by {@link close}: in-flight requests end with `unavailable`. */
  private readonly closing = new AbortController();
  /**
   * The connection pool of the first request, reused: client-node makes a new dispatcher (a new TLS connection) per
   * authenticated request otherwise (measured on the operator: 7.6 ms instead of 1.0 ms per call).
   */
  private dispatcher: ReturnType<RequestContext['getDispatcher']> | undefined;

  constructor(o: KubernetesProviderOptions) {
    this.kc = o.kubeConfig;
    this.namespace = o.namespace;
    this.log = o.logger.child({ provider: 'kubernetes', namespace: o.namespace });
    this.fieldManager = o.fieldManager ?? API_FIELD_MANAGER;
    this.image = o.image;
    this.serviceDomain = o.serviceDomain ?? 'svc';
    this.timeoutMs = o.requestTimeoutMs ?? 15_000;
    this.concurrency = Math.max(1, o.reconcileConcurrency ?? 8);
  }

  /**
   * Applies the WhatsAppInstance `req.id` (creating it or bringing the api's fields to `req`). Idempotent.
   * @throws ProviderError `unavailable`; KubeApiError 422 when `req.owner` differs from the existing resource's
   * (the owner is immutable) or `req.id` is not a valid name.
   */
  async create(req: ProvisionRequest): Promise<void> {
    await this.apply(req);
    this.log.info({ instance: req.id, owner: req.owner, suspended: req.suspended }, 'instance applied');
  }

  /**
   * Sets `spec.suspended: true` (the operator scales the StatefulSet to 0 and keeps the session volume). Idempotent.
   * @throws ProviderError `not_found` when the resource does not exist, `unavailable`.
   */
  async suspend(id: string): Promise<void> {
    await this.setSuspended(id, true);
  }

  /**
   * Sets `spec.suspended: false` (the operator scales back to 1). Idempotent.
   * @throws ProviderError `not_found` when the resource does not exist, `unavailable`.
   */
  async resume(id: string): Promise<void> {
    await this.setSuspended(id, false);
  }

  /**
   * Deletes the resource (background propagation): the operator's finalizer runs, then the garbage collector removes
   * the children, the session volume included. A missing resource is fine. Returns before the deletion completes
   * (`status` says `Terminating` meanwhile).
   * @throws ProviderError `unavailable`.
   */
  async delete(id: string): Promise<void> {
    const deleted = await this.deleteResource(id);
    if (deleted) this.log.info({ instance: id }, 'instance deleted');
  }

  /**
   * The resource's status as the operator reports it: `NotFound` when missing, `Terminating` once deleted, else
   * `status.phase` (`Pending` before the operator's first reconcile).
   * @throws ProviderError `unavailable`.
   */
  async status(id: string): Promise<ProviderStatus> {
    const wai = await this.get(id);
    if (!wai) return { phase: 'NotFound' };
    return statusOf(wai);
  }

  /**
   * In-cluster URLs of the instance's Service (`http://<service>.<namespace>.<serviceDomain>:8080` and `:8081`) and
   * its internal key from the operator's Secret.
   * @throws ProviderError `not_found` when the resource does not exist; `not_ready` while it is being deleted,
   * suspended, not `Running`, or its Secret is not there yet; `unavailable`.
   */
  async endpoints(id: string): Promise<InstanceEndpoints> {
    const wai = await this.get(id);
    if (!wai) throw new ProviderError('not_found', `instance ${id} does not exist in namespace ${this.namespace}`);
    if (wai.metadata.deletionTimestamp) throw new ProviderError('not_ready', `instance ${id} is being deleted`);
    if (wai.spec.suspended) throw new ProviderError('not_ready', `instance ${id} is suspended`);
    const phase = wai.status?.phase ?? 'Pending';
    if (phase !== 'Running') throw new ProviderError('not_ready', `instance ${id} is not running (phase ${phase})`);
    const host = `${wai.status?.serviceName || childNames(id).service}.${this.namespace}.${this.serviceDomain}`;
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
   * not exist yet, `unavailable`.
   */
  async internalKey(id: string): Promise<string> {
    const wai = await this.get(id);
    if (!wai) throw new ProviderError('not_found', `instance ${id} does not exist in namespace ${this.namespace}`);
    return this.keyOf(wai);
  }

  /**
   * Makes the namespace match `desired`: applies every desired instance whose api-owned fields differ (or that is
   * missing), and deletes the WhatsAppInstances labelled `app.kubernetes.io/managed-by: wacloud-api` that are not
   * desired. Resources of other managers (e.g. applied with kubectl) are left alone unless desired. Every operation
   * is attempted; afterwards the first failure is thrown.
   * @throws ProviderError `unavailable` when the list fails; the first failed apply/delete otherwise.
   */
  async reconcile(desired: ProvisionRequest[]): Promise<void> {
    const existing = new Map((await this.listManaged()).map((w) => [w.metadata.name ?? '', w]));
    const want = new Map(desired.map((r) => [r.id, r]));
    const errors: unknown[] = [];
    const guard = (what: string, id: string, f: () => Promise<void>) => async (): Promise<void> => {
      try {
        await f();
      } catch (err) {
        this.log.warn({ instance: id, err }, `reconcile: ${what} failed`);
        errors.push(err);
      }
    };
    let applied = 0;
    let deleted = 0;
    const tasks: Array<() => Promise<void>> = [];
    for (const req of want.values()) {
      const cur = existing.get(req.id);
      if (cur?.metadata.deletionTimestamp) this.log.warn({ instance: req.id }, 'reconcile: a desired instance is being deleted');
      if (cur && this.matches(cur, req)) continue;
      tasks.push(
        guard('apply', req.id, async () => {
          await this.apply(req);
          applied++;
        }),
      );
    }
    for (const [name, cur] of existing) {
      if (want.has(name) || cur.metadata.deletionTimestamp) continue;
      tasks.push(
        guard('delete', name, async () => {
          if (await this.deleteResource(name)) deleted++;
        }),
      );
    }
    await runLimited(tasks, this.concurrency);
    this.log.info({ desired: want.size, existing: existing.size, applied, deleted, failed: errors.length }, 'reconciled instances');
    if (errors.length > 0) throw errors[0];
  }

  /** Aborts in-flight requests (they reject with `unavailable`); later calls fail the same way. */
  async close(): Promise<void> {
    this.closing.abort(new Error('provider closed'));
  }

  // ---------------------------------------------------------------------------------------------------------------

  private path(name?: string): string {
    const base = `/apis/${API_VERSION}/namespaces/${encodeURIComponent(this.namespace)}/${PLURAL}`;
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  /** The object the api applies for `req` (its whole intent: SSA removes api-owned fields left out). */
  private manifest(req: ProvisionRequest): WhatsAppInstance {
    return {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: {
        name: req.id,
        namespace: this.namespace,
        labels: { [LABELS.OWNER]: req.owner, [LABELS.MANAGED_BY]: MANAGED_BY_API },
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
  private apply(req: ProvisionRequest): Promise<WhatsAppInstance> {
    return this.request<WhatsAppInstance>('PATCH', this.path(req.id), {
      body: this.manifest(req),
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: this.fieldManager, force: true },
    });
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
  private async deleteResource(name: string): Promise<boolean> {
    try {
      await this.request('DELETE', this.path(name), { body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' } });
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 404) return false;
      throw err;
    }
  }

  /** The resource, or undefined when it does not exist. */
  private async get(name: string): Promise<WhatsAppInstance | undefined> {
    try {
      return await this.request<WhatsAppInstance>('GET', this.path(name));
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  /** Every WhatsAppInstance in the namespace labelled managed-by wacloud-api (paginated, 500 a page). */
  private async listManaged(): Promise<WhatsAppInstance[]> {
    const items: WhatsAppInstance[] = [];
    let next: string | undefined;
    do {
      const page: WhatsAppInstanceList = await this.request<WhatsAppInstanceList>('GET', this.path(), {
        query: { labelSelector: `${LABELS.MANAGED_BY}=${MANAGED_BY_API}`, limit: 500, continue: next },
      });
      items.push(...page.items);
      next = page.metadata.continue || undefined;
    } while (next);
    return items;
  }

  /** The internal key from the Secret `wai` points at. */
  private async keyOf(wai: WhatsAppInstance): Promise<string> {
    const id = wai.metadata.name ?? '';
    const ref = wai.status?.internalSecretRef ?? { name: childNames(id).internalSecret, key: INTERNAL_KEY_SECRET_KEY };
    let secret: SecretObject;
    try {
      secret = await this.request<SecretObject>('GET', `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/secrets/${encodeURIComponent(ref.name)}`);
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 404) throw new ProviderError('not_ready', `instance ${id}: Secret ${ref.name} does not exist yet`);
      throw err;
    }
    const encoded = secret.data?.[ref.key];
    if (!encoded) throw new ProviderError('not_ready', `instance ${id}: Secret ${ref.name} has no key ${ref.key} yet`);
    return Buffer.from(encoded, 'base64').toString('utf8');
  }

  /**
   * One apiserver call with JSON in and out.
   * @throws ProviderError `unavailable` on network errors, timeouts ({@link KubernetesProviderOptions.requestTimeoutMs}),
   * 429 and 5xx, or after {@link close}; KubeApiError on other non-2xx answers.
   */
  private async request<T>(method: 'GET' | 'PATCH' | 'DELETE', path: string, o: RequestOptions = {}): Promise<T> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new ProviderError('unavailable', 'Kubernetes: the kubeconfig has no current cluster');
    if (this.closing.signal.aborted) throw new ProviderError('unavailable', 'Kubernetes provider is closed');
    const url = new URL(cluster.server.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const what = `${method} ${url.pathname}`;
    let res: Awaited<ReturnType<typeof fetch>>;
    let text: string;
    try {
      const ctx = new RequestContext(url.toString(), HttpMethod[method]);
      await this.kc.applySecurityAuthentication(ctx);
      const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
      if (o.body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
      res = await fetch(url, {
        method,
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        dispatcher: (this.dispatcher ??= ctx.getDispatcher()),
        signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.timeoutMs)]),
      });
      text = await res.text();
    } catch (err) {
      throw new ProviderError('unavailable', `Kubernetes API at ${cluster.server} unreachable (${what}): ${describeNetworkError(err, this.closing.signal)}`);
    }
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.ok) return parsed as T;
    const status = (parsed ?? {}) as { reason?: string; message?: string };
    const detail = `${what}: ${res.status} ${status.reason ?? res.statusText} ${status.message ?? text.slice(0, 200)}`.trim();
    if (res.status === 429 || res.status >= 500) throw new ProviderError('unavailable', `Kubernetes API at ${cluster.server} failed: ${detail}`);
    throw new KubeApiError(res.status, status.reason, `Kubernetes API refused ${detail}`);
  }
}

/** The api's view of a resource's status (see {@link KubernetesProvider.status}). */
export function statusOf(wai: WhatsAppInstance): ProviderStatus {
  const session = wai.status?.session?.state;
  const sessionState = session && session !== 'Unknown' ? session : undefined;
  if (wai.metadata.deletionTimestamp) return { phase: 'Terminating', sessionState, message: 'The instance is being deleted' };
  const phase = wai.status?.phase ?? 'Pending';
  if (phase === 'Running') return { phase, sessionState };
  if (!wai.status) return { phase, message: 'Waiting for the operator to reconcile the instance' };
  const conditions = wai.status.conditions ?? [];
  const messages = ['Reconciled', 'Ready']
    .map((type) => conditions.find((c: Condition) => c.type === type))
    .filter((c): c is Condition => c !== undefined && c.status !== 'True' && c.message !== '')
    .map((c) => c.message);
  return { phase, sessionState, message: messages.length > 0 ? [...new Set(messages)].join('; ') : undefined };
}

/** A short cause of a failed fetch: `ECONNREFUSED`, `timeout after …`, `provider closed`. */
function describeNetworkError(err: unknown, closing: AbortSignal): string {
  if (closing.aborted) return 'provider closed';
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'request timed out';
  return [e.message, e.cause?.code ?? e.cause?.message].filter(Boolean).join(': ') || String(err);
}

/** Runs `tasks` with at most `limit` in flight. */
async function runLimited(tasks: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}
