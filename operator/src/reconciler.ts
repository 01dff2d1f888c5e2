/**
 * The WhatsAppInstance reconciler — level-based and idempotent, like a controller-runtime Reconciler:
 * read all state (the instance and its children from the informer caches), compute the desired children with the pure
 * builders, apply what differs with server-side apply (field manager `wacloud-operator`, controller owner references),
 * then write status separately and only when it changed (conditions Ready, Suspended, Reconciled carry
 * observedGeneration). Deletion: the finalizer is removed after the Terminating status is shown; the garbage collector
 * removes the children through their owner references.
 */
import type { V1Secret, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  API_VERSION,
  FIELD_MANAGER,
  FINALIZER,
  INTERNAL_KEY_SECRET_KEY,
  KIND,
  PORTS,
  childNames,
  type Condition,
  type Phase,
  type SessionState,
  type WhatsAppInstance,
  type WhatsAppInstanceStatus,
} from '@wacloud/crds';
import {
  buildHeadlessService,
  buildInternalSecret,
  buildNetworkPolicy,
  buildService,
  buildStatefulSet,
  type NetworkPolicyManifest,
} from './builders/index.js';
import { isSubset, setCondition } from './conditions.js';
import { parseSelector, type OperatorConfig } from './config.js';
import type { EventRecorder } from './events.js';
import { objectPath, type KubeClient } from './kube-client.js';

/** What the reconciler reads: the informer caches (namespace, name) → object. */
export interface ClusterState {
  instance(ns: string, name: string): WhatsAppInstance | undefined;
  statefulSet(ns: string, name: string): V1StatefulSet | undefined;
  service(ns: string, name: string): V1Service | undefined;
  secret(ns: string, name: string): V1Secret | undefined;
  networkPolicy(ns: string, name: string): NetworkPolicyManifest | undefined;
}

export interface ReconcileResult {
  requeue?: boolean;
  requeueAfterMs?: number;
}

/** Reads the session state from the instance's /health (undefined when unreachable). */
export type SessionProbe = (wai: WhatsAppInstance) => Promise<{ state: SessionState; reason?: string } | undefined>;

export interface ReconcilerDeps {
  client: KubeClient;
  state: ClusterState;
  config: OperatorConfig;
  events: EventRecorder;
  logger: Logger;
  probe: SessionProbe;
  now?: () => Date;
}

/** Default probe: GET http://<service>.<namespace>.svc:8080/health with a timeout. */
export function httpSessionProbe(timeoutMs: number): SessionProbe {
  return async (wai) => {
    const url = `http://${childNames(wai.metadata.name!).service}.${wai.metadata.namespace}.svc:${PORTS.public.port}/health`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) return undefined;
      const body = (await res.json()) as { session?: { state?: SessionState; reason?: string } };
      return body.session?.state ? { state: body.session.state, ...(body.session.reason ? { reason: body.session.reason } : {}) } : undefined;
    } catch {
      return undefined;
    }
  };
}

export class InstanceReconciler {
  constructor(private readonly d: ReconcilerDeps) {}

  /** Reconciles the instance `namespace/name`. Throws on API errors (the controller requeues with backoff). */
  async reconcile(key: string): Promise<ReconcileResult> {
    const [ns, name] = key.split('/') as [string, string];
    const wai = this.d.state.instance(ns, name);
    if (!wai) return {}; // gone: children follow through garbage collection
    const log = this.d.logger.child({ instance: key, generation: wai.metadata.generation });
    if (wai.metadata.deletionTimestamp) return this.finalize(wai, log);
    try {
      return await this.reconcileLive(wai, log);
    } catch (err) {
      const message = (err as Error).message;
      await this.writeStatus(wai, (s) => ({ ...s, phase: 'Failed' }), [{ type: 'Reconciled', status: 'False', reason: 'ReconcileError', message }]).catch(() => {});
      await this.d.events.record(wai, 'Warning', 'ReconcileFailed', message);
      throw err;
    }
  }

  private async reconcileLive(wai: WhatsAppInstance, log: Logger): Promise<ReconcileResult> {
    const { client, state, config } = this.d;
    const ns = wai.metadata.namespace!;
    const names = childNames(wai.metadata.name!);

    if (!wai.metadata.finalizers?.includes(FINALIZER)) {
      await client.apply({ apiVersion: API_VERSION, kind: KIND, metadata: { name: wai.metadata.name, namespace: ns, finalizers: [FINALIZER] } }, FIELD_MANAGER);
      log.debug('finalizer added');
    }

    // Internal Secret: the key is created once and carried over forever.
    const liveSecret = state.secret(ns, names.internalSecret);
    const existingKey = liveSecret?.data?.[INTERNAL_KEY_SECRET_KEY] ? Buffer.from(liveSecret.data[INTERNAL_KEY_SECRET_KEY], 'base64').toString() : undefined;
    await this.ensure(buildInternalSecret(wai, { existingKey, defaultMongoUri: config.DEFAULT_MONGODB_URI }), liveSecret, log);
    await this.ensure(buildHeadlessService(wai), state.service(ns, names.headlessService), log);
    await this.ensure(buildService(wai), state.service(ns, names.service), log);
    await this.ensure(
      buildNetworkPolicy(wai, { apiPodSelector: parseSelector(config.API_POD_SELECTOR), apiNamespaceSelector: parseSelector(config.API_NAMESPACE_SELECTOR) }),
      state.networkPolicy(ns, names.networkPolicy),
      log,
    );
    const liveSts = state.statefulSet(ns, names.statefulSet);
    const desiredSts = buildStatefulSet(wai, {
      image: config.INSTANCE_IMAGE,
      imagePullPolicy: config.INSTANCE_IMAGE_PULL_POLICY,
      defaultResources: config.DEFAULT_RESOURCES,
      shmSize: config.SHM_SIZE,
      simnetUrl: config.SIMNET_URL,
    });
    const sts = (await this.ensure(desiredSts, liveSts, log)) ?? liveSts;
    if (!liveSts) await this.d.events.record(wai, 'Normal', 'Created', `Created StatefulSet ${names.statefulSet} with its Services, Secret and NetworkPolicy`);
    else if (wai.spec.suspended && (liveSts.spec?.replicas ?? 1) > 0) await this.d.events.record(wai, 'Normal', 'Suspended', 'Scaled to zero; the session volume is kept');
    else if (!wai.spec.suspended && liveSts.spec?.replicas === 0) await this.d.events.record(wai, 'Normal', 'Resumed', 'Scaled to one replica; the stored session resumes');

    // Status from what is observed.
    const suspended = Boolean(wai.spec.suspended);
    const readyReplicas = sts?.status?.readyReplicas ?? 0;
    const session: NonNullable<WhatsAppInstanceStatus['session']> = suspended
      ? { state: 'STOPPED', reason: 'suspended' }
      : readyReplicas > 0 && config.PROBE_SESSIONS
        ? ((await this.d.probe(wai)) ?? { state: 'Unknown', reason: 'instance /health unreachable' })
        : { state: 'Unknown', reason: readyReplicas > 0 ? 'session probes disabled' : 'instance not ready' };
    const phase: Phase = suspended ? 'Suspended' : readyReplicas > 0 ? 'Running' : sts ? 'Provisioning' : 'Pending';
    const ready = !suspended && readyReplicas > 0;
    await this.writeStatus(
      wai,
      (s) => ({
        ...s,
        phase,
        readyReplicas,
        serviceName: names.service,
        internalSecretRef: { name: names.internalSecret, key: INTERNAL_KEY_SECRET_KEY },
        session: { ...session, ...(s.session?.state === session.state && s.session.reason === session.reason && s.session.lastProbeTime ? { lastProbeTime: s.session.lastProbeTime } : { lastProbeTime: this.nowIso() }) },
      }),
      [
        { type: 'Reconciled', status: 'True', reason: 'ReconcileSucceeded', message: 'Children are at their desired state' },
        suspended
          ? { type: 'Suspended', status: 'True', reason: 'Suspended', message: 'spec.suspended is true: scaled to zero, session volume kept' }
          : { type: 'Suspended', status: 'False', reason: 'Active', message: 'The instance runs' },
        ready
          ? { type: 'Ready', status: 'True', reason: 'InstanceReady', message: `Pod ready; session ${session.state}` }
          : { type: 'Ready', status: 'False', reason: suspended ? 'Suspended' : 'PodNotReady', message: suspended ? 'Suspended' : 'Waiting for the instance pod to become ready' },
      ],
    );
    // Until the pod is ready, look again soon; afterwards the periodic resync refreshes the session state.
    return !suspended && !ready ? { requeueAfterMs: 10_000 } : {};
  }

  /** Applies `desired` when it is missing or differs from `live`; returns the applied object (undefined if skipped). */
  private async ensure<T extends { kind?: string; metadata?: { name?: string } }>(desired: T, live: unknown, log: Logger): Promise<T | undefined> {
    if (live && isSubset(desired, live)) return undefined;
    const applied = await this.d.client.apply<T & { apiVersion: string; kind: string }>(desired as T & { apiVersion: string; kind: string }, FIELD_MANAGER);
    log.info({ kind: desired.kind, name: desired.metadata?.name, created: !live }, live ? 'child updated' : 'child created');
    return applied;
  }

  private async finalize(wai: WhatsAppInstance, log: Logger): Promise<ReconcileResult> {
    const i = wai.metadata.finalizers?.indexOf(FINALIZER) ?? -1;
    if (i < 0) return {};
    await this.writeStatus(wai, (s) => ({ ...s, phase: 'Terminating' }), [
      { type: 'Ready', status: 'False', reason: 'Terminating', message: 'The instance is being deleted' },
    ]).catch(() => {});
    await this.d.events.record(wai, 'Normal', 'Deleting', 'Removing the finalizer; the garbage collector deletes the StatefulSet, Services, Secret, NetworkPolicy and session volume');
    try {
      await this.d.client.jsonPatch(objectPath(wai), [
        { op: 'test', path: `/metadata/finalizers/${i}`, value: FINALIZER },
        { op: 'remove', path: `/metadata/finalizers/${i}` },
      ]);
    } catch (err) {
      const code = (err as { statusCode?: number }).statusCode;
      if (code === 404) return {};
      throw err;
    }
    log.info('finalizer removed');
    return {};
  }

  /**
   * Writes status through the status subresource (server-side apply) when it differs from the current one.
   * Every condition gets observedGeneration = metadata.generation.
   */
  private async writeStatus(
    wai: WhatsAppInstance,
    mutate: (s: WhatsAppInstanceStatus) => WhatsAppInstanceStatus,
    conditions: Array<Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>>,
  ): Promise<void> {
    const current = wai.status ?? {};
    const now = this.d.now?.() ?? new Date();
    let conds = current.conditions ?? [];
    for (const c of conditions) conds = setCondition(conds, { ...c, observedGeneration: wai.metadata.generation }, now);
    const next: WhatsAppInstanceStatus = { ...mutate(current), observedGeneration: wai.metadata.generation, conditions: conds };
    if (sameStatus(current, next)) return;
    await this.d.client.apply({ apiVersion: API_VERSION, kind: KIND, metadata: { name: wai.metadata.name, namespace: wai.metadata.namespace }, status: next } as never, FIELD_MANAGER, { subresource: 'status' });
  }

  private nowIso(): string {
    return (this.d.now?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
}

/** Status equality ignoring the session probe time (refreshing only that is not worth a write). */
function sameStatus(a: WhatsAppInstanceStatus, b: WhatsAppInstanceStatus): boolean {
  const strip = (s: WhatsAppInstanceStatus) => ({ ...s, session: s.session ? { state: s.session.state, reason: s.session.reason } : undefined });
  return JSON.stringify(sortKeys(strip(a))) === JSON.stringify(sortKeys(strip(b)));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).sort(([x], [y]) => x.localeCompare(y)).map(([k, x]) => [k, sortKeys(x)]));
  return v;
}
