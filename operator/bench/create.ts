/**
 * create: how long the operator takes to turn N new WhatsAppInstances into their StatefulSets, against the same
 * apiserver creating the same N StatefulSets directly.
 *
 * Per round (one fresh control plane each, one round per MAX_CONCURRENT_RECONCILES setting), in this order:
 *   1. direct POST — the N StatefulSets `buildStatefulSet` produces for the instances (the operator's own builder and
 *      configuration, an owner reference to a made-up uid; without a controller-manager nothing collects them) are
 *      POSTed to namespace `bench-direct` by `concurrency` clients;
 *   2. direct SSA — the same manifests server-side applied (field manager and force as the operator) to `bench-apply`;
 *      both namespaces are then emptied so the operator's caches start clean;
 *   3. floor — with no operator running, the N WhatsAppInstances alone are POSTed to `bench-floor` (timed until a
 *      watch has seen them all), then, in `bench-floor-sts`, each client POSTs an instance and at once applies its
 *      StatefulSet (timed until all N StatefulSets are seen): what an ideal operator — one write per instance, no
 *      watch lag — would take (the goal's yardstick, issue 18: its StatefulSet by server-side apply, as the operator
 *      wrote them when the goal was set); in `bench-floor-sts-post` the same with the StatefulSet created by a POST
 *      (an ideal operator with the operator's create method today; printed, not a goal); then, in `bench-floor-all`,
 *      each client POSTs an instance and at once writes every child the operator must write for it, with the
 *      operator's methods (the Secret and the StatefulSet by POST; the namespace's one NetworkPolicy and one headless
 *      Service once by server-side apply, before the first StatefulSet): the floor of any operator that creates these
 *      objects. The namespaces are then emptied (no finalizers yet, so the instances go at once);
 *   4. operator — the operator process is started (ready = leader with synced caches) and the N WhatsAppInstances
 *      are POSTed to `bench-operator` by `concurrency` clients;
 *   5. the operator is stopped and the ideal floor (instance + StatefulSet by SSA, `bench-floor-sts`) is measured again
 *      on the same control plane. The goal's yardstick is the mean of both (run.ts `idealFloorMs`): the two bracket the
 *      operator in time, so a drift of the machine's speed within the round weighs on both sides of the ratio.
 * Each side is timed from the first request sent until a watch on the namespace has seen all N StatefulSets.
 * Only the POST baseline is the ratio's denominator; the SSA one shows what the operator's write method costs.
 * The bench itself creates N custom resources — writes comparable to a StatefulSet's — on the same apiserver and
 * CPUs, so the ratio cannot fall below floor / direct POST; both floors are printed next to it.
 */
import { randomUUID } from 'node:crypto';
import type { V1StatefulSet } from '@kubernetes/client-node';
import { API_VERSION, FIELD_MANAGER, KIND, PLURAL, type WhatsAppInstance } from '@wacloud/crds';
import { KubeClient } from '@wacloud/kube-runtime';
import { buildInstancesService, buildInternalSecret, buildNetworkPolicy, buildStatefulSet } from '../src/builders/index.js';
import { networkPolicyOptions, statefulSetOptions } from '../src/child-options.js';
import { loadOperatorConfig, type OperatorConfig } from '../src/config.js';
import { ArrivalWatch, runPool, type KubeObject } from './api.js';
import { CONTROL_PLANE_DESCRIPTION, startBenchCluster, startOperatorProcess, type BenchCluster } from './cluster.js';
import { cpuDelta, cpuSnapshot, type CpuSnapshot } from '@wacloud/testenv';
import { PeakSampler, countDelta, metricValue, procFds } from './proc.js';
import { percentile } from './stats.js';

export interface CreateOptions {
  /** Instances (and StatefulSets) per side, N. */
  instances: number;
  /** Requests in flight from the load generator. */
  concurrency: number;
  /** MAX_CONCURRENT_RECONCILES of each round (one fresh cluster per value). */
  reconciles: readonly number[];
  /** Sequential GETs per client in the API-client comparison (0 skips it). */
  clientRequests: number;
  /** Give up waiting for one side after this long, ms. */
  timeoutMs: number;
  log: (line: string) => void;
}

export interface SideResult {
  /** First request sent → last create answered, ms. */
  createsMs: number;
  /** First request sent → all N StatefulSets seen by the watch, ms. */
  allMs: number;
  /** StatefulSets per second over {@link allMs}. */
  perSec: number;
  /** Per object, its create answered → its StatefulSet seen: p50, p95, max, ms. */
  lagP50Ms: number;
  lagP95Ms: number;
  lagMaxMs: number;
  /** CPU time over {@link allMs} per process (bench = this load generator), s. */
  cpuSeconds: CpuSnapshot;
}

export interface OperatorSideResult extends SideResult {
  /** First create → every instance shows Reconciled=True in its status, ms. */
  allReconciledMs: number;
  /** Reconciles (controller_runtime_reconcile_total) until then, and errors among them. */
  reconciles: number;
  reconcileErrors: number;
  /** Mean reconcile duration (controller_runtime_reconcile_time_seconds sum / count), ms. */
  meanReconcileMs: number;
  /** apiserver_request_total growth from the first create until all reconciled, by `VERB resource`, largest first. */
  apiRequests: Array<[string, number]>;
  /** The same growth from the first create until all StatefulSets were seen (the timed window). */
  apiRequestsInWindow: Array<[string, number]>;
  /** Most sockets the operator process had open at once (sampled every 250 ms). */
  maxOperatorSockets: number;
}

export interface CreateRound {
  maxConcurrentReconciles: number;
  direct: SideResult;
  directApply: SideResult;
  /** No operator: the N instances POSTed (timed until all seen). */
  floorInstances: SideResult;
  /** No operator: each instance POSTed and its StatefulSet applied by the same client (timed until all StatefulSets seen). */
  floorInstanceAndSts: SideResult;
  /** The same with each StatefulSet created by a POST (the operator's method for a new one). */
  floorInstanceAndStsPost: SideResult;
  /** Each client POSTs an instance and at once applies every child the operator writes, in its order (see floorSide). */
  floorInstanceAndChildren: SideResult;
  operator: OperatorSideResult;
  /**
   * The ideal floor (instance + StatefulSet by SSA) measured again after the operator stopped, on the same control
   * plane; the row's yardstick is the mean of this and `floorInstanceAndSts` (run.ts `idealFloorMs`).
   */
  floorInstanceAndStsAfter: SideResult;
  /** operator.allMs / direct.allMs (target ≤ 1.5). */
  ratio: number;
  /** operator.allMs / directApply.allMs. */
  ratioVsApply: number;
}

export interface ClientTiming {
  /** Latency of one GET: median and mean, ms. */
  p50Ms: number;
  meanMs: number;
  /** Sockets of this process right after the loop minus before it (connections left open). */
  socketsLeftOpen: number;
}

export interface ClientOverhead {
  requests: number;
  /** The operator's KubeClient (@wacloud/kube-runtime: one keep-alive undici Pool, its `dispatch`). */
  kubeClient: ClientTiming;
  /** One keep-alive Agent (the bench's client). */
  keepAlive: ClientTiming;
}

export interface CreateResult {
  instances: number;
  concurrency: number;
  controlPlane: string;
  order: string;
  rounds: CreateRound[];
  client?: ClientOverhead;
}

const NS = {
  direct: 'bench-direct',
  apply: 'bench-apply',
  floor: 'bench-floor',
  floorSts: 'bench-floor-sts',
  floorStsPost: 'bench-floor-sts-post',
  floorAll: 'bench-floor-all',
  operator: 'bench-operator',
} as const;
const stsPath = (ns: string) => `/apis/apps/v1/namespaces/${ns}/statefulsets`;
const waiPath = (ns: string) => `/apis/${API_VERSION}/namespaces/${ns}/${PLURAL}`;

/** The instance `name` as the benchmark creates it (also the input of the direct sides' builder). */
export function benchInstance(name: string, namespace: string): WhatsAppInstance {
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec: { owner: 'bench-tenant' } };
}

/** `wai-00001`, … */
export const instanceNames = (n: number): string[] => Array.from({ length: n }, (_, i) => `wai-${String(i + 1).padStart(5, '0')}`);

/** Reconciled=True in the instance's status. */
export function isReconciled(obj: KubeObject): boolean {
  const conds = (obj.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions;
  return conds?.some((c) => c.type === 'Reconciled' && c.status === 'True') ?? false;
}

function lagStats(answered: Map<string, number>, arrived: Map<string, number>): Pick<SideResult, 'lagP50Ms' | 'lagP95Ms' | 'lagMaxMs'> {
  const lags = [...answered].map(([name, t]) => (arrived.get(name) ?? Number.NaN) - t);
  return { lagP50Ms: percentile(lags, 50), lagP95Ms: percentile(lags, 95), lagMaxMs: Math.max(...lags) };
}

interface SideTiming {
  t0: number;
  answered: Map<string, number>;
  createsDone: number;
}

/** Sends one request per name through `send` with `concurrency` clients, recording when each was answered. */
async function sendAll(names: readonly string[], concurrency: number, send: (name: string) => Promise<unknown>): Promise<SideTiming> {
  const answered = new Map<string, number>();
  const t0 = performance.now();
  await runPool(names, concurrency, async (name) => {
    await send(name);
    answered.set(name, performance.now());
  });
  return { t0, answered, createsDone: performance.now() };
}

/**
 * One side without the operator: sends one request per name through `send` (see sendAll) while `watch` counts what
 * arrives, and stops the watch. Figures: time to all `names` arrived, rate, lag, CPU seconds of `pids` meanwhile.
 */
async function watchedSide(
  watch: ArrivalWatch,
  o: CreateOptions,
  names: readonly string[],
  pids: Record<string, number | undefined>,
  send: (name: string) => Promise<unknown>,
): Promise<SideResult> {
  try {
    const cpu0 = cpuSnapshot(pids);
    const timing = await sendAll(names, o.concurrency, send);
    const tAll = await watch.waitFor(names.length, o.timeoutMs);
    const cpu = cpuDelta(cpu0, cpuSnapshot(pids));
    const allMs = tAll - timing.t0;
    return {
      createsMs: timing.createsDone - timing.t0,
      allMs,
      perSec: names.length / (allMs / 1000),
      ...lagStats(timing.answered, watch.arrivals),
      cpuSeconds: cpu,
    };
  } finally {
    await watch.stop();
  }
}

async function directSide(
  c: BenchCluster,
  o: CreateOptions,
  mode: 'post' | 'apply',
  manifests: Map<string, V1StatefulSet>,
  pids: Record<string, number | undefined>,
): Promise<SideResult> {
  const ns = mode === 'post' ? NS.direct : NS.apply;
  return watchedSide(await ArrivalWatch.start(c.api, stsPath(ns)), o, [...manifests.keys()], pids, (name) => {
    const m = manifests.get(name)! as KubeObject;
    return mode === 'post' ? c.api.create(stsPath(ns), m) : c.api.apply(`${stsPath(ns)}/${name}`, m, FIELD_MANAGER);
  });
}

/**
 * The floors (see the module comment): `instances` = instances only; `sts` = instance + its StatefulSet (server-side
 * apply) per client; `stsPost` = the same with the StatefulSet POSTed; `children` = instance + every child the operator
 * must write for it, in the operator's order and with its methods (the namespace's NetworkPolicy and headless Service
 * once, by server-side apply, awaited before any StatefulSet; the internal Secret and the StatefulSet by POST) — the
 * same objects with no watch, no cache, no status, no event: the floor of any operator that creates what this one
 * creates.
 */
async function floorSide(
  c: BenchCluster,
  o: CreateOptions,
  names: readonly string[],
  mode: 'instances' | 'sts' | 'stsPost' | 'children',
  config: OperatorConfig,
  pids: Record<string, number | undefined>,
): Promise<SideResult> {
  const ns = { instances: NS.floor, sts: NS.floorSts, stsPost: NS.floorStsPost, children: NS.floorAll }[mode];
  const apply = async (obj: KubeObject & { kind?: string; metadata?: { name?: string } }) => {
    const plural = obj.kind === 'Secret' ? 'secrets' : obj.kind === 'Service' ? 'services' : 'networkpolicies';
    const base = obj.kind === 'NetworkPolicy' ? `/apis/networking.k8s.io/v1/namespaces/${ns}` : `/api/v1/namespaces/${ns}`;
    // A ClusterIP allocation can collide under load ("provided IP is already allocated", 500): retried at once, as
    // the operator's requeue does.
    for (let attempt = 1; ; attempt++) {
      try {
        return await c.api.apply(`${base}/${plural}/${obj.metadata!.name!}`, obj, FIELD_MANAGER);
      } catch (err) {
        if (attempt >= 5 || !/already allocated/.test((err as Error).message)) throw err;
      }
    }
  };
  let namespaced: Promise<unknown> | undefined;
  return watchedSide(await ArrivalWatch.start(c.api, mode === 'instances' ? waiPath(ns) : stsPath(ns)), o, names, pids, async (name) => {
    const created = (await c.api.create(waiPath(ns), benchInstance(name, ns) as unknown as KubeObject)) as unknown as WhatsAppInstance;
    if (mode === 'instances') return;
    if (mode === 'children') {
      namespaced ??= Promise.all([
        apply(buildNetworkPolicy(ns, networkPolicyOptions(config)) as unknown as KubeObject),
        apply(buildInstancesService(ns) as KubeObject),
      ]);
      const secret = buildInternalSecret(created, { existingKey: undefined, defaultMongoUri: config.defaultMongodbUri });
      await Promise.all([namespaced, c.api.create(`/api/v1/namespaces/${ns}/secrets`, secret as KubeObject)]);
    }
    const sts = buildStatefulSet(created, statefulSetOptions(config)) as KubeObject;
    if (mode === 'sts') await c.api.apply(`${stsPath(ns)}/${name}`, sts, FIELD_MANAGER);
    else await c.api.create(stsPath(ns), sts);
  });
}

async function operatorSide(
  c: BenchCluster,
  o: CreateOptions,
  names: readonly string[],
  reconciles: number,
  pids: Record<string, number | undefined>,
): Promise<OperatorSideResult> {
  o.log(`  starting the operator (MAX_CONCURRENT_RECONCILES=${reconciles})`);
  const op = await startOperatorProcess(c.operatorKubeconfig, { MAX_CONCURRENT_RECONCILES: String(reconciles) });
  const allPids = { ...pids, operator: op.pid };
  const stsWatch = await ArrivalWatch.start(c.api, stsPath(NS.operator));
  const waiWatch = await ArrivalWatch.start(c.api, waiPath(NS.operator), isReconciled);
  try {
    const m0 = await op.metrics();
    const req0 = await c.api.requestCounts();
    const sampler = new PeakSampler(op.pid, 250);
    const cpu0 = cpuSnapshot(allPids);
    o.log(`  creating ${names.length} WhatsAppInstances (${o.concurrency} in flight)`);
    const timing = await sendAll(names, o.concurrency, (name) =>
      c.api.create(waiPath(NS.operator), benchInstance(name, NS.operator) as unknown as KubeObject),
    );
    const progress = (what: string) => (n: number) =>
      o.log(`    ${n}/${names.length} ${what} after ${((performance.now() - timing.t0) / 1000).toFixed(1)} s`);
    const tAll = await stsWatch.waitFor(names.length, o.timeoutMs, progress('StatefulSets'));
    const cpu = cpuDelta(cpu0, cpuSnapshot(allPids));
    const reqAll = await c.api.requestCounts();
    const tReconciled = await waiWatch.waitFor(names.length, o.timeoutMs, progress('instances reconciled'));
    sampler.stop();
    const m1 = await op.metrics();
    const req1 = await c.api.requestCounts();
    const diff = (name: string, labels: Record<string, string> = {}) =>
      (metricValue(m1, name, labels) || 0) - (metricValue(m0, name, labels) || 0);
    const count = diff('controller_runtime_reconcile_time_seconds_count');
    const allMs = tAll - timing.t0;
    const errors = op.proc.output().match(/reconcile failed/g)?.length ?? 0;
    if (errors) o.log(`  operator logged ${errors} failed reconciles; last output:\n${op.proc.output().slice(-1500)}`);
    return {
      createsMs: timing.createsDone - timing.t0,
      allMs,
      perSec: names.length / (allMs / 1000),
      ...lagStats(timing.answered, stsWatch.arrivals),
      cpuSeconds: cpu,
      allReconciledMs: tReconciled - timing.t0,
      reconciles: diff('controller_runtime_reconcile_total'),
      reconcileErrors: diff('controller_runtime_reconcile_errors_total'),
      meanReconcileMs: count > 0 ? (diff('controller_runtime_reconcile_time_seconds_sum') / count) * 1000 : Number.NaN,
      apiRequests: countDelta(req0, req1),
      apiRequestsInWindow: countDelta(req0, reqAll),
      maxOperatorSockets: sampler.maxSockets,
    };
  } catch (err) {
    o.log(`  operator side failed; operator output tail:\n${op.proc.output().slice(-3000)}`);
    throw err;
  } finally {
    await stsWatch.stop();
    await waiWatch.stop();
    const code = await op.stop();
    if (code !== 0) o.log(`  operator exited with ${code}:\n${op.proc.output().slice(-2000)}`);
  }
}

async function round(
  o: CreateOptions,
  reconciles: number,
  measureClient: boolean,
): Promise<{ round: CreateRound; client?: ClientOverhead }> {
  o.log(`create round, MAX_CONCURRENT_RECONCILES=${reconciles}: starting a control plane`);
  const c = await startBenchCluster();
  try {
    for (const ns of Object.values(NS)) await c.api.createNamespace(ns);
    const pids = { apiserver: c.cp.processes.apiserver?.pid, etcd: c.cp.processes.etcd?.pid };
    // The same builder input the operator will have: its configuration from the same environment.
    const config = loadOperatorConfig({ ...process.env, MAX_CONCURRENT_RECONCILES: String(reconciles) });
    const names = instanceNames(o.instances);
    const manifests = (ns: string) =>
      new Map(
        names.map((name) => [
          name,
          buildStatefulSet(
            { ...benchInstance(name, ns), metadata: { name, namespace: ns, uid: randomUUID() } },
            statefulSetOptions(config),
          ),
        ]),
      );

    o.log(`  direct: POST ${o.instances} StatefulSets (${o.concurrency} in flight)`);
    const direct = await directSide(c, o, 'post', manifests(NS.direct), pids);
    o.log(`  direct: server-side apply ${o.instances} StatefulSets (${o.concurrency} in flight)`);
    const directApply = await directSide(c, o, 'apply', manifests(NS.apply), pids);
    o.log(`  floor: POST ${o.instances} WhatsAppInstances, no operator`);
    const floorInstances = await floorSide(c, o, names, 'instances', config, pids);
    o.log(`  floor: POST ${o.instances} WhatsAppInstances, each followed by its StatefulSet, no operator`);
    const floorInstanceAndSts = await floorSide(c, o, names, 'sts', config, pids);
    o.log(`  floor: POST ${o.instances} WhatsAppInstances, each followed by a POST of its StatefulSet, no operator`);
    const floorInstanceAndStsPost = await floorSide(c, o, names, 'stsPost', config, pids);
    o.log(`  floor: POST ${o.instances} WhatsAppInstances, each followed by every child the operator writes, no operator`);
    const floorInstanceAndChildren = await floorSide(c, o, names, 'children', config, pids);
    for (const ns of [NS.direct, NS.apply, NS.floorSts, NS.floorStsPost, NS.floorAll]) await c.api.request('DELETE', stsPath(ns));
    for (const ns of [NS.floor, NS.floorSts, NS.floorStsPost, NS.floorAll]) await c.api.request('DELETE', waiPath(ns));

    const operator = await operatorSide(c, o, names, reconciles, pids);
    // The operator is stopped: the floor's namespace (emptied above) is not watched by anybody but the bench.
    o.log(`  floor again, after the operator: POST ${o.instances} WhatsAppInstances, each followed by its StatefulSet`);
    const floorInstanceAndStsAfter = await floorSide(c, o, names, 'sts', config, pids);
    const client = measureClient && o.clientRequests > 0 ? await clientOverhead(c, o.clientRequests) : undefined;
    return {
      round: {
        maxConcurrentReconciles: reconciles,
        direct,
        directApply,
        floorInstances,
        floorInstanceAndSts,
        floorInstanceAndStsPost,
        floorInstanceAndChildren,
        operator,
        floorInstanceAndStsAfter,
        ratio: operator.allMs / direct.allMs,
        ratioVsApply: operator.allMs / directApply.allMs,
      },
      client,
    };
  } finally {
    await c.stop();
  }
}

/**
 * Sequential GETs of one small object through the operator's KubeClient and through one keep-alive Agent, both as
 * the admin: what a request costs the operator's client beyond the apiserver's work.
 */
async function clientOverhead(c: BenchCluster, requests: number): Promise<ClientOverhead> {
  const path = '/api/v1/namespaces/default';
  const time = async (get: () => Promise<unknown>) => {
    const ms: number[] = [];
    const before = procFds(process.pid).sockets;
    for (let i = 0; i < requests + 10; i++) {
      const t = performance.now();
      await get();
      if (i >= 10) ms.push(performance.now() - t); // the first 10 warm up
    }
    return {
      p50Ms: percentile(ms, 50),
      meanMs: ms.reduce((a, b) => a + b, 0) / ms.length,
      socketsLeftOpen: procFds(process.pid).sockets - before,
    };
  };
  const kubeClient = new KubeClient(c.cp.kubeConfig());
  const viaKubeClient = await time(() => kubeClient.request('GET', path));
  const keepAlive = await time(() => c.api.request('GET', path));
  return { requests, kubeClient: viaKubeClient, keepAlive };
}

/** Runs one round per MAX_CONCURRENT_RECONCILES value (baseline first in each). */
export async function runCreate(o: CreateOptions): Promise<CreateResult> {
  const rounds: CreateRound[] = [];
  let client: ClientOverhead | undefined;
  for (const [i, r] of o.reconciles.entries()) {
    const res = await round(o, r, i === 0);
    rounds.push(res.round);
    client ??= res.client;
  }
  return {
    instances: o.instances,
    concurrency: o.concurrency,
    controlPlane: CONTROL_PLANE_DESCRIPTION,
    order:
      'per round, on one fresh control plane: direct POST → direct SSA → floor (instances) → floor (instance + StatefulSet by SSA) → floor (instance + StatefulSet by POST) → floor (instance + all children) → (all emptied) → operator started → operator → operator stopped → floor (instance + StatefulSet by SSA) again',
    rounds,
    client,
  };
}
