/**
 * Composition of the operator (controller-runtime's Manager): informers on WhatsAppInstances and the owned
 * StatefulSets, Services, Secrets and NetworkPolicies; one work queue and controller with the InstanceReconciler;
 * Lease leader election (only the leader runs the controller); /metrics, /healthz, /readyz.
 */
import type { KubernetesObject, V1StatefulSet } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Counter, Gauge } from 'prom-client';
import { API_VERSION, GROUP, KIND, PHASES, PLURAL, type WhatsAppInstance } from '@wacloud/crds';
import {
  Controller,
  EventRecorder,
  Informer,
  KubeClient,
  LeaderElector,
  WorkQueue,
  controllerOwnerKey,
  createOperatorMetrics,
  objectKey,
  startHealthServer,
  type HealthServer,
  type InformerOptions,
  type KubeConfigLike,
  type MetadataOnly,
  type OwnerKind,
} from '@wacloud/kube-runtime';
import { INSTANCES_NETWORK_POLICY, INSTANCES_SERVICE } from './builders/index.js';
import { slimChild, slimInstance, slimStatefulSet } from './cache-transforms.js';
import type { OperatorConfig } from './config.js';
import { InstanceDatabaseUsers } from './database-user.js';
import { DatabaseClaims } from './database-claims.js';
import { InstanceReconciler, httpSessionProbe, type SessionProbe } from './reconciler.js';

export const CONTROLLER_NAME = 'whatsappinstance';
/** The owner kind of every child the operator creates (their controller ownerReference). */
export const WHATSAPP_INSTANCE_OWNER: OwnerKind = { kind: KIND, group: GROUP };
/** Low-priority reconciles run at once while normal-priority ones are in hand (see the work queue below). */
export const LOW_PRIORITY_RECONCILES = 2;
/** Children are watched through this label only (never every Secret of the cluster). */
export const MANAGED_SELECTOR = 'app.kubernetes.io/managed-by=wacloud-operator';

export interface Operator {
  health: HealthServer;
  /** Resolves when the operator stopped (after stop(), or when leadership was lost). */
  done: Promise<void>;
  stop(): Promise<void>;
}

export interface OperatorOptions {
  config: OperatorConfig;
  kubeConfig: KubeConfigLike;
  logger: Logger;
  probe?: SessionProbe;
}

export async function startOperator(o: OperatorOptions): Promise<Operator> {
  const { config, kubeConfig, logger } = o;
  const metrics = createOperatorMetrics();
  const ns = config.watchNamespace || undefined;
  // Only the primary resource resyncs: every child maps to its owner's key, so child resyncs would only repeat it.
  const informer = <T extends KubernetesObject>(apiVersion: string, plural: string, kind: string, o: Partial<InformerOptions<T>> = {}) =>
    new Informer<T>({ kubeConfig, apiVersion, plural, kind, namespace: ns, logger: logger.child({ informer: plural }), ...o });
  // Caches hold only what the reconciler reads (cache transforms): StatefulSets without their spec (drift shows as a new
  // generation), Secrets, Services and NetworkPolicies as metadata.
  const instances = informer<WhatsAppInstance & KubernetesObject>(API_VERSION, PLURAL, KIND, {
    resyncMs: config.resyncPeriodMs,
    transform: slimInstance,
  });
  const statefulSets = informer<V1StatefulSet>('apps/v1', 'statefulsets', 'StatefulSet', {
    labelSelector: MANAGED_SELECTOR,
    transform: slimStatefulSet,
  });
  const metadataOnly = { labelSelector: MANAGED_SELECTOR, metadataOnly: true, transform: slimChild };
  const services = informer<MetadataOnly>('v1', 'services', 'Service', metadataOnly);
  const secrets = informer<MetadataOnly>('v1', 'secrets', 'Secret', metadataOnly);
  const networkPolicies = informer<MetadataOnly>('networking.k8s.io/v1', 'networkpolicies', 'NetworkPolicy', metadataOnly);
  const byKind: Record<string, { upsert(obj: never): boolean }> = {
    WhatsAppInstance: instances,
    StatefulSet: statefulSets,
    Service: services,
    Secret: secrets,
    NetworkPolicy: networkPolicies,
  };
  const all = [instances, statefulSets, services, secrets, networkPolicies];

  new Gauge({
    name: 'wacloud_instances',
    help: 'WhatsAppInstances in the cache by status.phase',
    labelNames: ['phase'],
    registers: [metrics.registry],
    collect() {
      const counts = new Map<string, number>(PHASES.map((p) => [p, 0]));
      for (const w of instances.list()) {
        const p = w.status?.phase ?? 'Pending';
        counts.set(p, (counts.get(p) ?? 0) + 1);
      }
      for (const [phase, n] of counts) this.set({ phase }, n);
    },
  });

  const client = new KubeClient(kubeConfig, { kinds: { [KIND]: PLURAL } });
  // In a burst of new instances each reconcile writes what the pod needs (Secret, StatefulSet) and leaves the rest
  // (finalizer, event, status) at low priority: LOW_PRIORITY_RECONCILES of those at a time while new instances
  // are in hand, so the bookkeeping of the first does not slow down the StatefulSets of the next.
  const queue = new WorkQueue<string>({
    name: CONTROLLER_NAME,
    metrics: metrics.workqueue(CONTROLLER_NAME),
    lowPriorityConcurrency: LOW_PRIORITY_RECONCILES,
  });
  const databaseUsers = new InstanceDatabaseUsers(config, logger.child({ component: 'database-users' }));
  // Which instances name each database (database-claims.ts): when a database's claimants change, the others are
  // reconciled again (a refused instance gets its database once the holder is gone or renamed its own).
  const claims = new DatabaseClaims();
  const reconcileAll = (keys: string[]) => keys.forEach((k) => queue.add(k));
  instances.addHandlers({
    onAdd: (o) => reconcileAll(claims.set(o)),
    onUpdate: (_old, o) => reconcileAll(claims.set(o)),
    onDelete: (o) => reconcileAll(claims.remove(o)),
  });
  const reconciler = new InstanceReconciler({
    client,
    databaseUsers,
    config,
    logger: logger.child({ controller: CONTROLLER_NAME }),
    events: new EventRecorder(client, logger, {
      component: 'wacloud-operator',
      instance: config.podName,
      involvedKind: { apiVersion: API_VERSION, kind: KIND },
    }),
    probe: o.probe ?? httpSessionProbe(config.probeTimeoutMs),
    othersWaiting: () => queue.hasWaiting() || queue.normalProcessingLen() > 1,
    state: {
      instance: (n, name) => instances.get(name, n),
      statefulSet: (n, name) => statefulSets.get(name, n),
      service: (n, name) => services.get(name, n),
      secret: (n, name) => secrets.get(name, n),
      networkPolicy: (n, name) => networkPolicies.get(name, n),
      wrote: (obj) => void byKind[obj.kind ?? '']?.upsert(obj as never),
      databaseHolder: (wai) => claims.holderOtherThan(wai),
    },
  });
  new Counter({
    name: 'wacloud_desired_children_built_total',
    help: "Times an instance's desired children were built and hashed (an input changed, or first seen); a resync of up-to-date instances adds none",
    registers: [metrics.registry],
    collect() {
      this.reset();
      this.inc(reconciler.desired.computed);
    },
  });
  const controller = new Controller<string>({
    name: CONTROLLER_NAME,
    queue,
    reconcile: (key) => reconciler.reconcile(key),
    maxConcurrentReconciles: config.maxConcurrentReconciles,
    metrics: metrics.controller(CONTROLLER_NAME),
    logger: logger.child({ controller: CONTROLLER_NAME }),
  });
  controller.enqueueFor(instances, objectKey);
  const ownerKey = controllerOwnerKey(WHATSAPP_INSTANCE_OWNER);
  // Children's adds and updates are queued at low priority: most are the echoes of the reconciler's own writes, and
  // in a burst of new instances they would otherwise pull each instance's deferred bookkeeping ahead of the next
  // instances' StatefulSets. Deletions are queued at normal priority (a deleted child is put back at once).
  const childEvents = (inf: Informer<KubernetesObject>, map: (o: KubernetesObject) => string | undefined) =>
    inf.addHandlers({
      onAdd: (o) => lowPriority(map(o)),
      onUpdate: (old, o) => {
        lowPriority(map(o));
        if (old !== o) lowPriority(map(old));
      },
      onDelete: (o) => {
        const k = map(o);
        if (k) queue.add(k);
      },
    });
  const lowPriority = (k: string | undefined) => k && queue.addLowPriority(k);
  for (const inf of [statefulSets, secrets]) childEvents(inf as Informer<KubernetesObject>, ownerKey);
  // The namespace's NetworkPolicy and Service have no owner: a change to one (a deletion, an edit) is put right by
  // reconciling any one instance of that namespace.
  const byNamespace = (shared: string) => (o: KubernetesObject) => {
    if (o.metadata?.name !== shared) return ownerKey(o);
    const w = instances.list(o.metadata?.namespace).find((i) => !i.metadata.deletionTimestamp);
    return w && objectKey(w);
  };
  childEvents(services as Informer<KubernetesObject>, byNamespace(INSTANCES_SERVICE));
  childEvents(networkPolicies as Informer<KubernetesObject>, byNamespace(INSTANCES_NETWORK_POLICY));

  /** Whether this replica runs the controller (always without leader election; once it holds the lease with it). */
  let leading = !config.leaderElect;
  const health = await startHealthServer({
    port: config.metricsPort,
    registry: metrics.registry,
    // A standby replica (waiting for the lease, informers not started) is ready: like controller-runtime, readiness
    // does not wait for leadership, so a rolling update of a single replica can replace the leader (which releases
    // the lease on stop) instead of waiting forever for the new pod to lead.
    readiness: Object.fromEntries(all.map((i, n) => [`informer-${n}`, () => !leading || i.hasSynced()])),
    logger,
  });

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const runController = async (signal: AbortSignal) => {
    leading = true;
    for (const i of all) i.start();
    await Promise.all(all.map((i) => i.waitForSync()));
    logger.info({ instances: instances.size() }, 'caches synced; reconciling');
    await controller.start(signal);
  };

  let elector: LeaderElector | undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return done;
    stopping = true;
    await elector?.stop();
    await controller.stop();
    await Promise.all(all.map((i) => i.stop()));
    await databaseUsers.close();
    await health.close();
    resolveDone();
  };

  if (config.leaderElect) {
    elector = new LeaderElector({
      kubeConfig,
      namespace: config.podNamespace,
      name: config.leaseName,
      identity: config.podName,
      leaseDurationMs: config.leaseDurationMs,
      renewDeadlineMs: config.renewDeadlineMs,
      retryPeriodMs: config.retryPeriodMs,
      releaseOnCancel: true,
      metrics: metrics.leaderElection(config.leaseName),
      logger: logger.child({ component: 'leader-election' }),
      onStartedLeading: (signal) => {
        logger.info({ identity: config.podName }, 'became leader');
        return runController(signal);
      },
      onStoppedLeading: () => {
        // Like controller-runtime: a replica that lost its lease stops (and its pod restarts) rather than risk two leaders.
        if (!stopping) {
          logger.error('leader election lost; stopping');
          void stop();
        }
      },
      onNewLeader: (id) => logger.info({ leader: id }, 'leader observed'),
    });
    void elector.run();
  } else {
    void runController(new AbortController().signal);
  }
  return { health, done, stop };
}
