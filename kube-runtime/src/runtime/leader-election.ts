/**
 * Leader election on a coordination.k8s.io/v1 Lease with client-go's semantics (tools/leaderelection):
 *
 * - A candidate tries to acquire every `retryPeriodMs` (with client-go's jitter: up to `jitterFactor` × more).
 *   It takes the lease if it is free (no holder, e.g. released), missing (then it creates it), or expired. Expiry is
 *   judged by the LOCAL clock: the lease counts as held until `leaseDurationSeconds` after the moment this process
 *   last saw the record change — never by comparing `renewTime` with our clock, so clock skew between replicas
 *   does not matter (client-go's `observedTime`).
 * - The leader renews every `retryPeriodMs` (fast path: an update from the last observed object; on failure the
 *   slow path reads the lease first). If no renewal has succeeded for `renewDeadlineMs`, leadership is lost.
 * - Writes are optimistic: every update carries the observed `resourceVersion`, so a concurrent writer gets a
 *   409 Conflict and simply retries on the next tick.
 * - `leaseTransitions` is incremented whenever the holder changes; `acquireTime` is kept across renewals.
 * - `releaseOnCancel`: when stopped while leading, the lease is updated to an empty holder (and a 1 s duration) so
 *   another replica takes over at once instead of waiting for expiry.
 *
 * Unlike client-go, `onStoppedLeading` is only called if this elector actually led. Like client-go, one `run()` is
 * one term: after leadership is lost, `run()` resolves; callers normally exit the process (controller-runtime does)
 * or call `run()` again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Lease, V1LeaseSpec } from '@kubernetes/client-node';
import { apiStatusOf } from '../client/errors.js';
import type { KubeConfigLike } from '../client/kubeconfig.js';
import { KubeTransport } from '../client/transport.js';
import { errFields, silentLogger, type RuntimeLogger } from './logger.js';

/** What the elector reports (implemented with prom-client by `metrics.ts`). */
export interface LeaderElectionMetrics {
  /** `leader_election_master_status`: 1 while leading, 0 otherwise. */
  leading(isLeader: boolean): void;
  /** `leader_election_slowpath_total`: the optimistic renewal failed and the lease had to be read first. */
  slowpath(): void;
}

export interface LeaderElectorOptions {
  kubeConfig: KubeConfigLike;
  /** Namespace of the Lease. */
  namespace: string;
  /** Name of the Lease. */
  name: string;
  /** This replica's identity (the pod name), unique among candidates. */
  identity: string;
  /** How long a lease is valid without renewal, ms (rounded to whole seconds, min 1 s). Default 15_000. */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before giving up, ms. Default 10_000. */
  renewDeadlineMs?: number;
  /** Interval between acquire/renew attempts, ms. Default 2_000. */
  retryPeriodMs?: number;
  /** Acquire attempts wait `retryPeriodMs · (1 + random · jitterFactor)` ms. Default 1.2 (client-go). */
  jitterFactor?: number;
  /** Clear the holder when stopped while leading, so another replica takes over at once. Default false. */
  releaseOnCancel?: boolean;
  /**
   * Called when this replica becomes leader. `signal` aborts when leadership ends (lost or stopped). If it returns
   * a promise, a stop with `releaseOnCancel` waits for it (at most `renewDeadlineMs`) before releasing the lease.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once when leadership ends (only if it was acquired). */
  onStoppedLeading?(): void;
  /** Called when the observed holder changes (including to this replica). */
  onNewLeader?(identity: string): void;
  metrics?: LeaderElectionMetrics;
  logger?: RuntimeLogger;
}

/** The part of a Lease spec leader election uses (client-go's LeaderElectionRecord). */
export interface LeaderElectionRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  /** ms since the epoch */
  acquireTime: number | undefined;
  /** ms since the epoch */
  renewTime: number | undefined;
  leaseTransitions: number;
}

/** The apiserver's JSON carries MicroTime fields as strings (client-node's types say Date): accept both. */
function toMs(v: unknown): number | undefined {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string' && v) {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

/** Reads the election record out of a Lease. */
export function leaseRecord(lease: V1Lease | undefined): LeaderElectionRecord {
  const s: V1LeaseSpec = lease?.spec ?? {};
  return {
    holderIdentity: s.holderIdentity ?? '',
    leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
    acquireTime: toMs(s.acquireTime),
    renewTime: toMs(s.renewTime),
    leaseTransitions: s.leaseTransitions ?? 0,
  };
}

function microTime(ms: number | undefined): Date | undefined {
  // MicroTime fields need 6 fractional digits (typed as Date in client-node's types; sent as the string).
  return ms === undefined ? undefined : (new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date);
}

/** The three Lease calls of leader election (GET, POST, PUT), over the shared connection pool. */
class LeaseApi {
  constructor(private readonly t: KubeTransport) {}
  private path(namespace: string, name?: string): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases${name ? `/${encodeURIComponent(name)}` : ''}`;
  }
  readNamespacedLease(a: { name: string; namespace: string }): Promise<V1Lease> {
    return this.t.request<V1Lease>({ method: 'GET', path: this.path(a.namespace, a.name) });
  }
  createNamespacedLease(a: { namespace: string; body: V1Lease }): Promise<V1Lease> {
    return this.t.request<V1Lease>({ method: 'POST', path: this.path(a.namespace), body: a.body });
  }
  replaceNamespacedLease(a: { name: string; namespace: string; body: V1Lease }): Promise<V1Lease> {
    return this.t.request<V1Lease>({ method: 'PUT', path: this.path(a.namespace, a.name), body: a.body });
  }
}

/** See the module comment. */
export class LeaderElector {
  readonly identity: string;
  private readonly api: LeaseApi;
  private readonly o: Required<
    Pick<LeaderElectorOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs' | 'jitterFactor' | 'releaseOnCancel'>
  > &
    LeaderElectorOptions;
  private readonly log: RuntimeLogger;

  /** The lease object last read or written (for its resourceVersion). */
  private observedLease: V1Lease | undefined;
  private observedRecord: LeaderElectionRecord | undefined;
  private observedRaw = '';
  /** performance.now() when the observed record last changed, ms. */
  private observedTime = 0;
  private reportedLeader = '';

  private stopCtl = new AbortController();
  private running: Promise<void> | undefined;
  private leading = false;

  /** @throws RangeError when durations are not positive or not ordered lease > renewDeadline > jitter · retry. */
  constructor(opts: LeaderElectorOptions) {
    this.o = {
      ...opts,
      leaseDurationMs: opts.leaseDurationMs ?? 15_000,
      renewDeadlineMs: opts.renewDeadlineMs ?? 10_000,
      retryPeriodMs: opts.retryPeriodMs ?? 2_000,
      jitterFactor: opts.jitterFactor ?? 1.2,
      releaseOnCancel: opts.releaseOnCancel ?? false,
    };
    const { leaseDurationMs: ld, renewDeadlineMs: rd, retryPeriodMs: rp, jitterFactor: jf } = this.o;
    if (!(ld > 0 && rd > 0 && rp > 0)) throw new RangeError('leader election: durations must be positive');
    if (!(ld > rd)) throw new RangeError('leader election: leaseDurationMs must be greater than renewDeadlineMs');
    if (!(rd > jf * rp)) throw new RangeError('leader election: renewDeadlineMs must be greater than jitterFactor × retryPeriodMs');
    if (!opts.identity) throw new RangeError('leader election: identity must not be empty');
    this.identity = opts.identity;
    this.api = new LeaseApi(KubeTransport.for(opts.kubeConfig));
    this.log = opts.logger ?? silentLogger;
  }

  /** True while this replica holds the lease (as last observed). */
  isLeader(): boolean {
    return this.observedRecord?.holderIdentity === this.identity;
  }

  /** The holder as last observed ('' if none / unknown). */
  getLeader(): string {
    return this.observedRecord?.holderIdentity ?? '';
  }

  /**
   * Campaigns, leads, and resolves when this term is over: leadership lost, or {@link stop} called (or `signal`
   * aborted). Never rejects: API errors are logged and retried.
   */
  run(signal?: AbortSignal): Promise<void> {
    if (this.running) return this.running;
    this.stopCtl = new AbortController();
    const onAbort = () => this.stopCtl.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) this.stopCtl.abort();
    this.running = this.term()
      .catch((err: unknown) => this.log.error({ lease: this.o.name, ...errFields(err) }, 'leader election crashed'))
      .finally(() => {
        signal?.removeEventListener('abort', onAbort);
        this.running = undefined;
      });
    return this.running;
  }

  /** Ends the campaign or term (releasing the lease if `releaseOnCancel`); resolves when `run()` has returned. */
  async stop(): Promise<void> {
    this.stopCtl.abort();
    await this.running;
  }

  private get stopped(): boolean {
    return this.stopCtl.signal.aborted;
  }

  private async term(): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs, jitterFactor } = this.o;
    // Acquire.
    for (;;) {
      if (this.stopped) return;
      if (await this.tryAcquireOrRenew(renewDeadlineMs)) break;
      await this.pause(retryPeriodMs * (1 + Math.random() * jitterFactor));
    }
    this.leading = true;
    this.o.metrics?.leading(true);
    this.log.info({ lease: this.o.name, identity: this.identity }, 'became leader');
    const leaderCtl = new AbortController();
    let work: Promise<void> = Promise.resolve();
    try {
      const r = this.o.onStartedLeading(leaderCtl.signal);
      if (r instanceof Promise)
        work = r.catch((err: unknown) => this.log.error({ lease: this.o.name, ...errFields(err) }, 'onStartedLeading failed'));
    } catch (err) {
      this.log.error({ lease: this.o.name, ...errFields(err) }, 'onStartedLeading threw');
    }

    // Renew.
    let lastRenew = performance.now();
    while (!this.stopped) {
      await this.pause(retryPeriodMs);
      if (this.stopped) break;
      const left = renewDeadlineMs - (performance.now() - lastRenew);
      if (left > 0 && (await this.tryAcquireOrRenew(left))) {
        lastRenew = performance.now();
        continue;
      }
      if (performance.now() - lastRenew >= renewDeadlineMs || !this.isLeaderAfterRead()) {
        this.log.warn(
          { lease: this.o.name, identity: this.identity, holder: this.getLeader() },
          'leadership lost: lease not renewed within the renew deadline',
        );
        break;
      }
    }

    // Step down.
    leaderCtl.abort();
    if (this.stopped && this.o.releaseOnCancel) {
      await Promise.race([work, sleep(renewDeadlineMs, undefined, { ref: false })]);
      await this.release();
    }
    this.leading = false;
    this.o.metrics?.leading(false);
    try {
      this.o.onStoppedLeading?.();
    } catch (err) {
      this.log.error({ lease: this.o.name, ...errFields(err) }, 'onStoppedLeading threw');
    }
  }

  /** False when a read showed another holder with a valid lease (we cannot win it back by retrying). */
  private isLeaderAfterRead(): boolean {
    return this.isLeader() || !this.observedRecord?.holderIdentity;
  }

  private async pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.stopCtl.signal });
    } catch {
      /* stopped */
    }
  }

  private isLeaseValid(now: number): boolean {
    return !!this.observedRecord && this.observedTime + this.observedRecord.leaseDurationSeconds * 1000 > now;
  }

  private setObserved(lease: V1Lease): void {
    const raw = JSON.stringify(lease.spec ?? {});
    this.observedLease = lease;
    if (raw !== this.observedRaw || !this.observedRecord) {
      this.observedRaw = raw;
      this.observedRecord = leaseRecord(lease);
      this.observedTime = performance.now();
    }
    const holder = this.observedRecord.holderIdentity;
    if (holder && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      try {
        this.o.onNewLeader?.(holder);
      } catch (err) {
        this.log.error({ lease: this.o.name, ...errFields(err) }, 'onNewLeader threw');
      }
    } else if (!holder) {
      this.reportedLeader = '';
    }
  }

  private leaseBody(base: V1Lease | undefined, spec: V1LeaseSpec): V1Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...(base?.metadata ?? {}), name: this.o.name, namespace: this.o.namespace },
      spec,
    };
  }

  /** Rejects after `ms` ms, so one hung request cannot outlive the renew deadline. */
  private async withTimeout<R>(p: Promise<R>, ms: number): Promise<R> {
    let t: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        p,
        new Promise<never>((_, reject) => {
          t = setTimeout(() => reject(new Error(`lease request timed out after ${Math.round(ms)} ms`)), ms);
        }),
      ]);
    } finally {
      if (t) clearTimeout(t);
    }
  }

  /** One acquire/renew attempt (client-go's tryAcquireOrRenew); true when we hold the lease afterwards. */
  private async tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const { name, namespace } = this.o;
    const now = Date.now();
    const durationS = Math.max(1, Math.round(this.o.leaseDurationMs / 1000));
    const spec: V1LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: durationS,
      acquireTime: microTime(now),
      renewTime: microTime(now),
    };

    // 1. Fast path: the leader updates optimistically from the object it observed last.
    if (this.isLeader() && this.isLeaseValid(performance.now()) && this.observedLease && this.observedRecord) {
      spec.acquireTime = microTime(this.observedRecord.acquireTime);
      spec.leaseTransitions = this.observedRecord.leaseTransitions;
      try {
        const updated = await this.withTimeout(
          this.api.replaceNamespacedLease({ name, namespace, body: this.leaseBody(this.observedLease, spec) }),
          timeoutMs,
        );
        this.setObserved(updated);
        return true;
      } catch (err) {
        this.o.metrics?.slowpath();
        this.log.debug({ lease: name, ...errFields(err) }, 'optimistic lease renewal failed; reading the lease');
      }
    }

    // 2. Read (or create) the lease.
    let current: V1Lease;
    try {
      current = await this.withTimeout(this.api.readNamespacedLease({ name, namespace }), timeoutMs);
    } catch (err) {
      if (apiStatusOf(err) !== 404) {
        this.log.warn({ lease: name, ...errFields(err) }, 'reading the lease failed');
        return false;
      }
      try {
        spec.leaseTransitions = 0;
        const created = await this.withTimeout(
          this.api.createNamespacedLease({ namespace, body: this.leaseBody(undefined, spec) }),
          timeoutMs,
        );
        this.setObserved(created);
        return true;
      } catch (err2) {
        this.log.debug({ lease: name, ...errFields(err2) }, 'creating the lease failed');
        return false;
      }
    }

    // 3. Check holder and expiry (by the local time we saw the record change).
    this.setObserved(current);
    const rec = this.observedRecord!;
    if (rec.holderIdentity && rec.holderIdentity !== this.identity && this.isLeaseValid(performance.now())) return false;

    // 4. Take or renew it.
    if (rec.holderIdentity === this.identity) {
      spec.acquireTime = microTime(rec.acquireTime);
      spec.leaseTransitions = rec.leaseTransitions;
    } else {
      spec.leaseTransitions = rec.leaseTransitions + 1;
    }
    try {
      const updated = await this.withTimeout(
        this.api.replaceNamespacedLease({ name, namespace, body: this.leaseBody(current, spec) }),
        timeoutMs,
      );
      this.setObserved(updated);
      return true;
    } catch (err) {
      const code = apiStatusOf(err);
      if (code === 409) this.log.debug({ lease: name }, 'lease update conflict (409); retrying');
      else this.log.warn({ lease: name, ...errFields(err) }, 'updating the lease failed');
      return false;
    }
  }

  /** Clears the holder (client-go's release): others may acquire at once. Best effort. */
  private async release(): Promise<void> {
    if (!this.isLeader() || !this.observedLease || !this.observedRecord) return;
    const now = Date.now();
    const spec: V1LeaseSpec = {
      leaseDurationSeconds: 1,
      leaseTransitions: this.observedRecord.leaseTransitions,
      acquireTime: microTime(now),
      renewTime: microTime(now),
    };
    try {
      const updated = await this.withTimeout(
        this.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body: this.leaseBody(this.observedLease, spec) }),
        this.o.renewDeadlineMs,
      );
      this.setObserved(updated);
      this.log.info({ lease: this.o.name, identity: this.identity }, 'released the lease');
    } catch (err) {
      this.log.warn({ lease: this.o.name, ...errFields(err) }, 'releasing the lease failed');
    }
  }

  /** True while inside a term as leader (between onStartedLeading and onStoppedLeading). */
  isLeading(): boolean {
    return this.leading;
  }
}
