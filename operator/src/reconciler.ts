/**
 * The WhatsAppInstance reconciler — level-based and idempotent, like a controller-runtime Reconciler:
 * read all state (the instance and its children from the informer caches), compute the desired children with the pure
 * builders, create the missing ones with a create-only POST and apply what differs with server-side apply (field
 * manager `wacloud-operator`, controller owner references), then write status separately and only when it changed
 * (conditions Ready, Suspended, Reconciled carry observedGeneration). Deletion: the instance is read live (the cache
 * may still hold it after its finalizer went), its database user is dropped and the finalizer removed after the
 * Terminating status is shown; the garbage collector removes the children through their owner references.
 *
 * Children: the internal Secret and the StatefulSet, owned by the instance; once per namespace (no owner), the
 * NetworkPolicy and the headless Service `wacloud-instances` (every StatefulSet's governing service: the pods' DNS
 * names) selecting every instance pod; an older instance's own `<name>-headless` (its StatefulSet's, immutable).
 *
 * An instance naming a database another instance holds, or one the platform uses, gets Reconciled and Ready False and
 * nothing else (database-claims.ts). Order: what the pod needs first — the namespace's NetworkPolicy (so the pod never runs unprotected) and Service, the
 * instance's database user and the internal Secret (its volume and MONGODB_URI), the StatefulSet — then the
 * finalizer, then the Created event and status. Children
 * are garbage-collected through their owner references whether or not the finalizer was added yet. In a burst of new
 * instances the second part waits at low priority until every waiting instance has its StatefulSet
 * ({@link ReconcilerDeps.othersWaiting}).
 *
 * Creating and applying (child-writes.ts): a child missing from the cache — the instance's Secret and StatefulSet,
 * once per new instance — is created with a create-only POST; an apply follows a full read of the child and first
 * moves the `Update` ownership a POST recorded to the `Apply` entry, so an apply removes what the builders no longer
 * produce.
 *
 * Writes are skipped when their result is already known:
 * - the StatefulSet cache keeps no spec (but `replicas`): after a write (or a read that matched) the reconciler
 *   remembers the StatefulSet's `metadata.generation` with a hash of what it wanted. The apiserver bumps the
 *   generation on every spec change, so while both are unchanged (and the cached labels and owner reference match)
 *   there is nothing to do; otherwise the StatefulSet is read and compared field by field, and applied only if it
 *   differs. A StatefulSet missing from the cache is created with a POST without a read. (Status updates — pods
 *   becoming ready — do not change the generation: no read.)
 * - Secrets, Services and NetworkPolicies are cached as metadata only. After a write (or a read that matched), the
 *   reconciler remembers the object's resourceVersion with a hash of what it wanted ({@link VerifiedChildren}); while
 *   both are unchanged there is nothing to do. Any change by someone else changes the resourceVersion: the object is
 *   then read and compared, and applied only if it differs. A Secret missing from the cache is created with a POST
 *   (create-only: if it exists after all, the apiserver refuses and the stored one is read), so a stale cache can
 *   never lead to a second key: the key is created once and never rotated. With per-instance database users the
 *   Secret is read before it is first created (a new password must never reach the server for a Secret that exists).
 * - the desired children are not even built while nothing they are built from changed: their hashes are remembered
 *   per instance with every input of the builders ({@link DesiredMemo}, desired-memo.ts), so a periodic resync of
 *   up-to-date instances builds and hashes nothing (the checks above still read the live objects' versions).
 * - every write's answer goes into the cache at once ({@link ClusterState.wrote}), so the next reconcile — triggered
 *   by that very write's watch event or otherwise — never acts on a stale copy.
 */
import type { KubernetesObject, V1Secret, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  API_VERSION,
  FIELD_MANAGER,
  FINALIZER,
  INTERNAL_KEY_SECRET_KEY,
  KIND,
  childNames,
  type Phase,
  type WhatsAppInstance,
  type WhatsAppInstanceStatus,
} from '@wacloud/crds';
import {
  INSTANCES_NETWORK_POLICY,
  INSTANCES_SERVICE,
  buildInstancesService,
  buildInternalSecret,
  buildLegacyService,
  buildNetworkPolicy,
  buildStatefulSet,
  childMeta,
} from './builders/index.js';
import { MONGODB_URI_SECRET_KEY } from './builders/secret.js';
import { isNotFound, type EventRecorder, type KubeClient, type MetadataOnly } from '@wacloud/kube-runtime';
import { SingleFlight } from '@wacloud/kit/concurrency';
import { ChildWrites } from './child-writes.js';
import { isSubset } from './conditions.js';
import { networkPolicyOptions, statefulSetOptions } from './child-options.js';
import type { OperatorConfig } from './config.js';
import type { InstanceDatabaseUsers } from './database-user.js';
import { databaseRefusal, reservedDatabases, type DatabaseRefusal } from './database-claims.js';
import { DesiredMemo, buildDesiredHashes } from './desired-memo.js';
import { VerifiedChildren, childKey, desiredHash, generationVersion } from './verified.js';
import type { SessionProbe } from './session-probe.js';
import { lazyChild, type ReconcileLog } from './lazy-logger.js';
import { writeInstanceStatus, type ConditionsToSet } from './status-writer.js';

export { httpSessionProbe, type SessionProbe } from './session-probe.js';

/** What the reconciler reads: the informer caches (namespace, name) → object. */
export interface ClusterState {
  instance(ns: string, name: string): WhatsAppInstance | undefined;
  statefulSet(ns: string, name: string): V1StatefulSet | undefined;
  service(ns: string, name: string): MetadataOnly | undefined;
  secret(ns: string, name: string): MetadataOnly | undefined;
  networkPolicy(ns: string, name: string): MetadataOnly | undefined;
  /** Write-through: the apiserver's answer to one of the reconciler's writes (any of the kinds above). */
  wrote?(obj: KubernetesObject): void;
  /** The key of another instance holding the database `wai` names (database-claims.ts), if any. */
  databaseHolder?(wai: WhatsAppInstance): string | undefined;
}

export interface ReconcileResult {
  requeue?: boolean;
  requeueAfterMs?: number;
  requeueLowPriority?: boolean;
}

export interface ReconcilerDeps {
  client: KubeClient;
  state: ClusterState;
  config: OperatorConfig;
  events: EventRecorder;
  logger: Logger;
  probe: SessionProbe;
  now?: () => Date;
  /**
   * Whether other instances wait to be reconciled or are being reconciled (a burst of new instances). When so and this reconcile has just created a StatefulSet,
   * the rest of this instance's work (finalizer, Services, event, status) is requeued at low priority: in a burst of
   * new instances every pod gets its StatefulSet — what it needs to start — before the bookkeeping of any.
   */
  othersWaiting?: () => boolean;
  /** Instances' own database users: ensured before the Secret is written, dropped by the finalizer. */
  databaseUsers?: InstanceDatabaseUsers;
}

export class InstanceReconciler {
  /** Metadata-only children verified at their desired state (see the module comment). */
  readonly verified = new VerifiedChildren();
  /** The hashes of each instance's desired children with the inputs they were built from (see desired-memo.ts). */
  readonly desired = new DesiredMemo();
  /** The namespace objects being ensured, by key: concurrent reconciles in one namespace share one write. */
  private readonly namespacedInFlight = new SingleFlight<string, void>();
  /** The desired namespace objects (NetworkPolicy, Service) and their hashes, by key (the configuration does not change). */
  private readonly namespacedDesired = new Map<string, { desired: KubernetesObject; hash: string }>();

  /** Creates and applies children, each answer into the cache (child-writes.ts). */
  private readonly writes: ChildWrites;
  /** Databases no instance may be given (database-claims.ts). */
  private readonly reservedDatabases: ReadonlySet<string>;

  constructor(private readonly d: ReconcilerDeps) {
    this.writes = new ChildWrites(d.client, d.state);
    this.reservedDatabases = reservedDatabases(d.config);
  }

  /** Reconciles the instance `namespace/name`. Throws on API errors (the controller requeues with backoff). */
  async reconcile(key: string): Promise<ReconcileResult> {
    const [ns, name] = key.split('/') as [string, string];
    const wai = this.d.state.instance(ns, name);
    if (!wai) {
      this.forget(ns, name);
      return {}; // gone: children follow through garbage collection
    }
    const log = lazyChild(this.d.logger, { instance: key, generation: wai.metadata.generation });
    if (wai.metadata.deletionTimestamp) return this.finalize(wai, log);
    try {
      return await this.reconcileLive(wai, log);
    } catch (err) {
      const message = (err as Error).message;
      await this.writeStatus(wai, (s) => ({ ...s, phase: 'Failed' }), [
        { type: 'Reconciled', status: 'False', reason: 'ReconcileError', message },
      ]).catch(() => {});
      await this.d.events.record(wai, 'Warning', 'ReconcileFailed', message);
      throw err;
    }
  }

  private async reconcileLive(wai: WhatsAppInstance, log: ReconcileLog): Promise<ReconcileResult> {
    const { state, config } = this.d;
    // 0. A database another instance holds or the platform uses: nothing is written (database-claims.ts).
    const refusal = this.databaseRefusal(wai);
    if (refusal) return this.refuse(wai, refusal);
    const ns = wai.metadata.namespace!;
    const names = childNames(wai.metadata.name!);
    const liveSts = state.statefulSet(ns, names.statefulSet);
    // The governing Service: the namespace's shared one, or the one an existing StatefulSet has (immutable).
    const serviceName = liveSts?.spec?.serviceName ?? INSTANCES_SERVICE;
    // Children built for their hashes (the memo did not know them) are used again below when they must be written.
    const built: Partial<{ statefulSet: V1StatefulSet; service: V1Service }> = {};
    const hashes = this.desired.hashes(wai, config, serviceName, () =>
      buildDesiredHashes(wai, config, serviceName, Boolean(this.d.databaseUsers), built),
    );

    // 1. What the pod needs: the namespace's NetworkPolicy and Service (written once), its Secret, then the StatefulSet.
    await Promise.all([
      this.ensureNamespaced(ns, 'policy', () => buildNetworkPolicy(ns, networkPolicyOptions(config)), log),
      this.ensureNamespaced(ns, 'service', () => buildInstancesService(ns), log),
      this.ensureSecret(wai, hashes.secret, log),
    ]);
    const liveReplicas = liveSts?.spec?.replicas;
    const buildSts = () => built.statefulSet ?? buildStatefulSet(wai, statefulSetOptions(config), serviceName);
    const sts = (await this.ensureStatefulSet(wai, hashes.statefulSet, liveSts, buildSts, log)) ?? liveSts;
    if (!liveSts && this.d.othersWaiting?.()) {
      log.debug('StatefulSet created; the rest after the instances waiting');
      return { requeueLowPriority: true };
    }

    // 2. The rest: finalizer (and an older instance's own Service, in parallel), event, status.
    [wai] = await Promise.all([
      this.ensureFinalizer(wai, log),
      serviceName !== INSTANCES_SERVICE
        ? this.ensureByMetadata(
            `Service/${ns}/${names.legacyHeadlessService}`,
            hashes.service ?? '',
            state.service(ns, names.legacyHeadlessService),
            () => built.service ?? buildLegacyService(wai),
            log,
          )
        : undefined,
    ]);
    // Created: this reconcile made the StatefulSet, or an earlier one did and deferred the rest (no status written yet).
    if (!liveSts || wai.status?.observedGeneration === undefined)
      await this.d.events.record(wai, 'Normal', 'Created', `Created StatefulSet ${names.statefulSet} with its Secret`);
    else if (wai.spec.suspended && (liveReplicas ?? 1) > 0)
      await this.d.events.record(wai, 'Normal', 'Suspended', 'Scaled to zero; the session volume is kept');
    else if (!wai.spec.suspended && liveReplicas === 0)
      await this.d.events.record(wai, 'Normal', 'Resumed', 'Scaled to one replica; the stored session resumes');

    // Status from what is observed.
    const suspended = Boolean(wai.spec.suspended);
    const readyReplicas = sts?.status?.readyReplicas ?? 0;
    // Probed only while the pod is ready; StatefulSet readiness changes trigger a reconcile, the resync refreshes the session.
    const session: NonNullable<WhatsAppInstanceStatus['session']> = suspended
      ? { state: 'STOPPED', reason: 'suspended' }
      : readyReplicas > 0 && config.probeSessions
        ? ((await this.d.probe(wai, serviceName)) ?? { state: 'Unknown', reason: 'instance /health unreachable' })
        : { state: 'Unknown', reason: readyReplicas > 0 ? 'session probes disabled' : 'instance not ready' };
    const phase: Phase = suspended ? 'Suspended' : readyReplicas > 0 ? 'Running' : sts ? 'Provisioning' : 'Pending';
    const ready = !suspended && readyReplicas > 0;
    await this.writeStatus(
      wai,
      (s) => ({
        ...s,
        phase,
        readyReplicas,
        serviceName,
        internalSecretRef: { name: names.internalSecret, key: INTERNAL_KEY_SECRET_KEY },
        session: {
          ...session,
          ...(s.session?.state === session.state && s.session.reason === session.reason && s.session.lastProbeTime
            ? { lastProbeTime: s.session.lastProbeTime }
            : { lastProbeTime: this.nowIso() }),
        },
      }),
      [
        { type: 'Reconciled', status: 'True', reason: 'ReconcileSucceeded', message: 'Children are at their desired state' },
        suspended
          ? {
              type: 'Suspended',
              status: 'True',
              reason: 'Suspended',
              message: 'spec.suspended is true: scaled to zero, session volume kept',
            }
          : { type: 'Suspended', status: 'False', reason: 'Active', message: 'The instance runs' },
        ready
          ? { type: 'Ready', status: 'True', reason: 'InstanceReady', message: `Pod ready; session ${session.state}` }
          : {
              type: 'Ready',
              status: 'False',
              reason: suspended ? 'Suspended' : 'PodNotReady',
              message: suspended ? 'Suspended' : 'Waiting for the instance pod to become ready',
            },
      ],
    );
    // No timed requeue: StatefulSet changes (readiness included) trigger a reconcile, and the periodic resync covers the rest.
    return {};
  }

  /** Adds the finalizer when missing (server-side apply); returns the instance as it is now (newer resourceVersion). */
  private async ensureFinalizer(wai: WhatsAppInstance, log: ReconcileLog): Promise<WhatsAppInstance> {
    if (wai.metadata.finalizers?.includes(FINALIZER)) return wai;
    const updated = await this.d.client.apply<WhatsAppInstance & KubernetesObject>(
      {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: wai.metadata.name, namespace: wai.metadata.namespace, finalizers: [FINALIZER] },
      },
      FIELD_MANAGER,
    );
    this.d.state.wrote?.(updated);
    log.debug('finalizer added');
    // Status is written from this newer object (its resourceVersion), with the status as it was.
    return {
      ...wai,
      metadata: { ...wai.metadata, finalizers: updated.metadata?.finalizers, resourceVersion: updated.metadata?.resourceVersion },
    };
  }

  /**
   * The StatefulSet (cached without its spec): nothing to do while its generation is the one verified for the desired
   * object of this `hash` and the cached metadata matches (the StatefulSet is then not built); otherwise `build` it:
   * missing from the cache, create it with a POST; else (or when the POST finds it exists) read the live one and apply
   * only if it differs. Returns the answer of a write, else undefined.
   */
  private async ensureStatefulSet(
    wai: WhatsAppInstance,
    hash: string,
    live: V1StatefulSet | undefined,
    build: () => V1StatefulSet,
    log: ReconcileLog,
  ): Promise<V1StatefulSet | undefined> {
    const name = childNames(wai.metadata.name!).statefulSet;
    const key = `StatefulSet/${wai.metadata.namespace}/${name}`;
    const metadataMatches = live !== undefined && isSubset(childMeta(wai, name), live.metadata);
    if (metadataMatches && this.verified.hasVersion(key, generationVersion(live), hash)) return undefined;
    const desired = build();
    const created = live ? undefined : await this.writes.createOnly(desired, log);
    if (created) {
      this.verified.set(key, generationVersion(created), hash);
      return created;
    }
    const current = await this.d.client.get<V1StatefulSet>(this.d.client.objectPath(desired));
    if (current && isSubset(desired, current)) {
      this.verified.set(key, generationVersion(current), hash);
      return undefined;
    }
    const applied = await this.writes.apply(desired, current, log);
    this.verified.set(key, generationVersion(applied), hash);
    return applied;
  }

  /**
   * One of the namespace's objects for every instance pod there — its NetworkPolicy or its Service (built by `build`,
   * once per namespace): nothing to do while the cached one is the version verified for the desired object;
   * concurrent reconciles in one namespace share one ensure.
   */
  private ensureNamespaced(ns: string, what: 'policy' | 'service', build: () => KubernetesObject, log: ReconcileLog): Promise<void> {
    const k = `${what}/${ns}`;
    let d = this.namespacedDesired.get(k);
    if (!d) {
      const desired = build();
      this.namespacedDesired.set(k, (d = { desired, hash: desiredHash(desired) }));
    }
    const live = what === 'policy' ? this.d.state.networkPolicy(ns, INSTANCES_NETWORK_POLICY) : this.d.state.service(ns, INSTANCES_SERVICE);
    const key = childKey(d.desired);
    if (live && this.verified.has(key, live, d.hash)) return Promise.resolve();
    const desired = d.desired;
    return this.namespacedInFlight.run(k, () => this.ensureByMetadata(key, d.hash, live, () => desired, log));
  }

  /**
   * A child (`Kind/namespace/name`) cached as metadata only: nothing to do while it is the version verified for the
   * desired object of this `hash` (which is then not built); otherwise (changed by someone, desired changed, never
   * verified) `build` it, read the live one, and apply only if it differs.
   */
  private async ensureByMetadata<T extends KubernetesObject>(
    key: string,
    hash: string,
    live: MetadataOnly | undefined,
    build: () => T,
    log: ReconcileLog,
  ): Promise<void> {
    if (live && this.verified.has(key, live, hash)) return;
    const desired = build();
    let current: KubernetesObject | undefined;
    if (live && isSubset(desired.metadata, live.metadata)) current = await this.d.client.get(this.d.client.objectPath(desired));
    if (current && isSubset(desired, current)) {
      this.verified.set(key, current.metadata?.resourceVersion, hash);
      return;
    }
    const applied = await this.writes.apply(desired, current, log, Boolean(live ?? current));
    this.verified.set(key, applied.metadata?.resourceVersion, hash);
  }

  /**
   * The internal Secret: its key is created once and carried over forever. Missing from the cache, it is created with
   * a POST, which the apiserver refuses when it exists after all (then, and whenever the Secret is not verified, the
   * stored key is read from the apiserver: the cache holds no Secret data) — so a stale cache cannot make a second key.
   * With per-instance database users it is read first (module comment), and a user it named and no longer does is
   * dropped once it is applied (else a `DatabaseUserNotDropped` event). Applied when it differs, or holds a MongoDB URI
   * the instance no longer needs (`spec.mongodb.secretRef` set: a key the builder drops, unseen by a subset check).
   */
  private async ensureSecret(wai: WhatsAppInstance, hash: string, log: ReconcileLog): Promise<void> {
    const { config, state } = this.d;
    const ns = wai.metadata.namespace!;
    const name = childNames(wai.metadata.name!).internalSecret;
    const build = (existingKey: string | undefined, instanceMongoUri?: string) =>
      buildInternalSecret(wai, { existingKey, defaultMongoUri: config.defaultMongodbUri, instanceMongoUri });
    const key = `Secret/${ns}/${name}`;
    const live = state.secret(ns, name);
    if (live && this.verified.has(key, live, hash)) return;
    if (!live && (await this.createsSecretWithoutRead(wai))) {
      const created = await this.writes.createOnly(build(undefined, await this.d.databaseUsers?.ensure(wai, undefined)), log);
      if (created) {
        this.verified.set(key, created.metadata?.resourceVersion, hash);
        return;
      }
    }
    const { current, decoded } = await this.readSecret(wai);
    // The instance's own database user first: the Secret never names a user that does not exist yet.
    const mongoUri = await this.d.databaseUsers?.ensure(wai, decoded(MONGODB_URI_SECRET_KEY));
    const desired = build(decoded(INTERNAL_KEY_SECRET_KEY), mongoUri);
    const uriDropped = current?.data?.[MONGODB_URI_SECRET_KEY] !== undefined && desired.data?.[MONGODB_URI_SECRET_KEY] === undefined;
    if (current && !uriDropped && isSubset(desired, current)) {
      this.verified.set(key, current.metadata?.resourceVersion, hash);
      return;
    }
    const applied = await this.writes.apply(desired, current, log);
    this.verified.set(key, applied.metadata?.resourceVersion, hash);
    const dropped = this.d.databaseUsers?.dropFormer(wai, decoded(MONGODB_URI_SECRET_KEY));
    await dropped?.catch((err: Error) => this.d.events.record(wai, 'Warning', 'DatabaseUserNotDropped', err.message));
  }

  /** The internal Secret as stored (the cache holds no data; undefined when missing) and its keys decoded. */
  private async readSecret(wai: WhatsAppInstance): Promise<{ current?: V1Secret; decoded: (k: string) => string | undefined }> {
    const name = childNames(wai.metadata.name!).internalSecret;
    const current = await this.d.client.get<V1Secret>(`/api/v1/namespaces/${wai.metadata.namespace!}/secrets/${encodeURIComponent(name)}`);
    return { current, decoded: (k) => (current?.data?.[k] ? Buffer.from(current.data[k], 'base64').toString() : undefined) };
  }

  /**
   * Whether a missing Secret may be created without reading first: yes unless the instance gets its own database user
   * (ensuring that user sets its password, which must be the stored one if the Secret exists after all).
   */
  private async createsSecretWithoutRead(wai: WhatsAppInstance): Promise<boolean> {
    const users = this.d.databaseUsers;
    return !users || Boolean(wai.spec.mongodb?.secretRef) || (await users.kind()) === 'shared';
  }

  /** Drops what is remembered about a deleted instance's children (the namespace's NetworkPolicy and Service stay). */
  private forget(ns: string, name: string): void {
    const n = childNames(name);
    for (const k of [`Secret/${ns}/${n.internalSecret}`, `Service/${ns}/${n.legacyHeadlessService}`, `StatefulSet/${ns}/${n.statefulSet}`])
      this.verified.delete(k);
    this.desired.delete(ns, name);
  }

  private async finalize(cached: WhatsAppInstance, log: ReconcileLog): Promise<ReconcileResult> {
    if (!cached.metadata.finalizers?.includes(FINALIZER)) return {};
    // Read live: the cache can still hold an instance whose finalizer a pass before removed (the deletion not seen
    // yet), and dropping its database user again could drop the one the database's next claimant was just given.
    const wai = await this.d.client.get<WhatsAppInstance>(this.d.client.objectPath(cached));
    if (!wai || wai.metadata.uid !== cached.metadata.uid) return {};
    const i = wai.metadata.finalizers?.indexOf(FINALIZER) ?? -1;
    if (i < 0) return {};
    await this.writeStatus(wai, (s) => ({ ...s, phase: 'Terminating' }), [
      { type: 'Ready', status: 'False', reason: 'Terminating', message: 'The instance is being deleted' },
    ]).catch(() => {});
    try {
      // Its database's user, unless that is another's or the platform's: then only the former user its Secret names.
      if (!this.databaseRefusal(wai)) await this.d.databaseUsers?.drop(wai);
      else if (this.d.databaseUsers)
        await this.d.databaseUsers.dropFormer(wai, (await this.readSecret(wai)).decoded(MONGODB_URI_SECRET_KEY));
    } catch (err) {
      await this.d.events.record(wai, 'Warning', 'DatabaseUserNotDropped', (err as Error).message);
      throw err;
    }
    await this.d.events.record(
      wai,
      'Normal',
      'Deleting',
      'Removing the finalizer; the garbage collector deletes the StatefulSet, Secret and session volume (and an older instance’s own Service)',
    );
    try {
      await this.d.client.jsonPatch(this.d.client.objectPath(wai), [
        { op: 'test', path: `/metadata/finalizers/${i}`, value: FINALIZER },
        { op: 'remove', path: `/metadata/finalizers/${i}` },
      ]);
    } catch (err) {
      if (isNotFound(err)) return {};
      throw err;
    }
    log.info('finalizer removed');
    return {};
  }

  private databaseRefusal(wai: WhatsAppInstance): DatabaseRefusal | undefined {
    return databaseRefusal(wai, this.reservedDatabases, this.d.state.databaseHolder?.(wai));
  }

  /**
   * A database refused (database-claims.ts): Reconciled and Ready False with its reason, a Warning event when the
   * reason is new; no child written. Reconciled again when the claims change (operator.ts) and on every resync.
   */
  private async refuse(wai: WhatsAppInstance, r: DatabaseRefusal): Promise<ReconcileResult> {
    const known = wai.status?.conditions?.some((c) => c.type === 'Reconciled' && c.reason === r.reason && c.message === r.message);
    const condition = { status: 'False' as const, reason: r.reason, message: r.message };
    await this.writeStatus(wai, (s) => ({ ...s, phase: 'Failed' }), [
      { type: 'Reconciled', ...condition },
      { type: 'Ready', ...condition },
    ]);
    if (!known) await this.d.events.record(wai, 'Warning', r.reason, r.message);
    return {};
  }

  /** Writes status when it changed (status-writer.ts). */
  private writeStatus(
    wai: WhatsAppInstance,
    mutate: (s: WhatsAppInstanceStatus) => WhatsAppInstanceStatus,
    conditions: ConditionsToSet,
  ): Promise<void> {
    return writeInstanceStatus({ client: this.d.client, wrote: this.d.state.wrote, now: this.d.now }, wai, mutate, conditions);
  }

  private nowIso(): string {
    return (this.d.now?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
}
