/**
 * `InstanceProvider`: where instances run. The api decides (who owns what, what is paid, suspended or deleted) and
 * records it in its database; a provider makes the runtime match:
 * - `process` — the embedded default: instance processes on this machine (`providers/process/`);
 * - `kubernetes` — WhatsAppInstance resources that the operator reconciles (`providers/kubernetes/`);
 * - `docker` — one container per instance on a Docker engine, through dockerode (`providers/docker/`).
 * What they share (instance id, labels, instance database, /health probe, reconcile set) is in `providers/shared/`;
 * no provider imports another. Every method is idempotent: a retried call after a crash or timeout converges to the
 * same state. Every failure is a {@link ProviderError}; the contract suite (`api/test/providers/contract.test.ts`)
 * runs the same behaviours against all three and lists where they differ.
 */

export type Engine = 'webjs' | 'simulated';

/** What the api asks a provider to run. */
export interface ProvisionRequest {
  /** wacloud instance id: DNS-label safe (`[a-z0-9-]`, ≤ 40 chars), unique, stable. */
  id: string;
  /** Tenant (user) id that owns the instance. */
  owner: string;
  /** Display name chosen by the tenant. */
  name: string;
  engine: Engine;
  /**
   * Whether it should be scaled to zero / stopped: billing suspended it (unpaid) or its tenant stopped it. The
   * provider does not tell the two apart (the api's record does); the session is kept either way.
   */
  suspended: boolean;
}

/** Phase as the api shows it (the provider's view of the runtime). */
export type ProviderPhase = 'Pending' | 'Provisioning' | 'Running' | 'Suspended' | 'Failed' | 'Terminating' | 'NotFound';

export interface ProviderStatus {
  phase: ProviderPhase;
  /** The instance's own session state (STOPPED, STARTING, SCAN_QR_CODE, AUTHENTICATING, WORKING, DISCONNECTED, FAILED) when known. */
  sessionState?: string | undefined;
  /** Human detail, e.g. why it failed. */
  message?: string | undefined;
}

/** How the api reaches an instance. */
export interface InstanceEndpoints {
  /** Base URL of the instance's public API, e.g. `http://127.0.0.1:40123`. */
  publicUrl: string;
  /** Base URL of its internal API. */
  internalUrl: string;
  /** Bearer key of the internal API (never logged, never sent to tenants). */
  internalKey: string;
}

/**
 * Codes of {@link ProviderError}:
 * - `invalid_id` — the id is not an instance id (checked before the backend is asked; never retried);
 * - `not_found` — no such instance;
 * - `not_ready` — it exists but cannot be reached yet (starting, suspended, being deleted);
 * - `unavailable` — the backend (engine, apiserver, file system) is unreachable or failing: transient, retry later;
 * - `rejected` — the backend refused the request for good (e.g. an apiserver 403 or 422): retrying will not help.
 */
export type ProviderErrorCode = 'invalid_id' | 'not_found' | 'not_ready' | 'unavailable' | 'rejected';

/**
 * A provider failure with a stable code. The message is for operators and logs (it may name hosts, containers,
 * apiserver URLs); tenants see the api's catalogue text instead.
 */
export class ProviderError extends Error {
  constructor(
    readonly code: ProviderErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProviderError';
  }
}

export interface InstanceProvider {
  readonly kind: 'process' | 'kubernetes' | 'docker';
  /**
   * Creates the instance (idempotent: an existing one with this id is kept and brought to `req`).
   * Every method throws ProviderError `invalid_id` for an id that is not an instance id, `unavailable` when the backend
   * cannot be reached or after close(), `rejected` when the backend refuses for good.
   */
  create(req: ProvisionRequest): Promise<void>;
  /** Scales to zero / stops it, keeping the stored WhatsApp session. Idempotent. @throws ProviderError `not_found`. */
  suspend(id: string): Promise<void>;
  /** Runs it again (the stored session resumes without a QR). Idempotent. @throws ProviderError `not_found`. */
  resume(id: string): Promise<void>;
  /**
   * Restarts the runtime of a running instance (process, container or pod), keeping its stored session (it logs in
   * again without a QR); a suspended one is left as it is (nothing runs to restart). Where the restart completes
   * before this resolves and where the backend finishes it later is declared in the contract suite's table.
   * @throws ProviderError `not_found`.
   */
  restart(id: string): Promise<void>;
  /** Removes the instance and its data. Idempotent: a missing instance is fine. */
  delete(id: string): Promise<void>;
  /** Current status (`NotFound` when the provider has no such instance). */
  status(id: string): Promise<ProviderStatus>;
  /**
   * Where to reach it. `o.fresh`: ask the backend even when a cache in front of the provider
   * (`gateway/endpoint-cache.ts`) remembers a recent refusal (a caller polling a starting instance); providers
   * themselves always ask.
   * @throws ProviderError `not_found` for an unknown id, `not_ready` while it cannot be reached yet.
   */
  endpoints(id: string, o?: { fresh?: boolean }): Promise<InstanceEndpoints>;
  /**
   * Brings the runtime in line with the database after an api start: runs what should run (adopting instances that
   * survived the api's restart instead of starting duplicates), stops what should be suspended, removes unknown ones
   * the provider manages.
   */
  reconcile(desired: ProvisionRequest[]): Promise<void>;
  /** Releases the provider's resources (watchers, timers). Does not stop the instances. */
  close(): Promise<void>;
  /**
   * Memory each running instance uses now, bytes, by id (the api's `wacloud_instance_memory_bytes`,
   * `providers/metrics.ts`). Only where nothing else reports it: the process provider; containers and pods have their
   * runtime's metrics (Docker's stats, the kubelet's cAdvisor).
   */
  memoryUsage?(): ReadonlyMap<string, number>;
}
