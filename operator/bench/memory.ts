/**
 * memory: the operator process' memory with M instances reconciled (each with its StatefulSet, headless Service and
 * Secret in the caches; one NetworkPolicy for the namespace): VmRSS and VmHWM from /proc/<pid>/status, Pss from
 * /proc/<pid>/smaps_rollup, and the V8 heap from its own /metrics (prom-client's nodejs_heap_size_*). Read when idle (no instances), right after
 * the reconcile storm, and after a quiet period. "Quiet" means no changes from outside; the operator itself keeps
 * re-reconciling (the instances informer resyncs every RESYNC_PERIOD_MS, default 30 s), so its reconciles and CPU
 * time during that period are reported too, and then the CPU time of the next resync alone (bench/resync.ts).
 *
 * The operator runs with INSTANCE_DATABASE_USERS=off (no MongoDB behind the benchmarks) unless `databaseUsers` is
 * `auto` (the operator's default): then a MongoDB-wire server is started (testenv's `startMongo`: mongod if installed,
 * else FerretDB) and the operator asks it what it is on its first reconcile, loading the MongoDB driver as it ships.
 */
import { API_VERSION, PLURAL } from '@wacloud/crds';
import { procCpuSeconds, startMongo, type MongoServer } from '@wacloud/testenv';
import { ArrivalWatch, runPool, type KubeObject } from './api.js';
import { CONTROL_PLANE_DESCRIPTION, startBenchCluster, startOperatorProcess, type OperatorProcess } from './cluster.js';
import { benchInstance, instanceNames, isReconciled } from './create.js';
import { PeakSampler, metricValue, procMemory } from './proc.js';
import { measureResync, type ResyncResult } from './resync.js';

export interface MemoryOptions {
  /** Instances to reconcile, M. */
  instances: number;
  /** Requests in flight from the load generator. */
  concurrency: number;
  /** MAX_CONCURRENT_RECONCILES of the operator. */
  maxConcurrentReconciles: number;
  /** Length of the quiet period, s. */
  quietSeconds: number;
  /** Give up waiting for the storm after this long, ms. */
  timeoutMs: number;
  /** The operator's INSTANCE_DATABASE_USERS: `off` (default) or `auto` against a MongoDB-wire server started here. */
  databaseUsers?: 'off' | 'auto';
  log: (line: string) => void;
}

export interface MemorySnapshot {
  /** VmRSS, bytes. */
  rssBytes: number;
  /** VmHWM (peak RSS since start), bytes. */
  hwmBytes: number;
  /** Pss, bytes. */
  pssBytes: number;
  /** V8 heap used / total, bytes (nodejs_heap_size_used_bytes, nodejs_heap_size_total_bytes). */
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Memory of C++ objects bound to JS objects (nodejs_external_memory_bytes), bytes. */
  externalBytes: number;
}

export interface MemoryResult {
  instances: number;
  concurrency: number;
  maxConcurrentReconciles: number;
  /** INSTANCE_DATABASE_USERS of the operator (`auto`: against the MongoDB-wire server named in `mongo`). */
  databaseUsers: 'off' | 'auto';
  mongo?: string;
  controlPlane: string;
  /** Operator started and ready, no instances. */
  idle: MemorySnapshot;
  /** Right after every instance showed Reconciled=True and every child existed. */
  afterStorm: MemorySnapshot;
  /** After {@link quietSeconds} without outside changes. */
  afterQuiet: MemorySnapshot;
  /** First create → all instances Reconciled=True, ms. */
  stormMs: number;
  /** Objects in the namespace at the end of the storm, by resource. */
  children: Record<string, number>;
  /** Highest RSS sampled (every 500 ms) during the storm, bytes. */
  stormPeakRssBytes: number;
  quietSeconds: number;
  /** Operator CPU time during the quiet period, s, and reconciles it ran. */
  quietCpuSeconds: number;
  quietReconciles: number;
  /** The next periodic resync after the quiet period (every instance up to date): its CPU time (bench/resync.ts). */
  resync: ResyncResult;
}

const NS = 'bench-memory';

async function snapshot(op: OperatorProcess): Promise<MemorySnapshot> {
  const m = await op.metrics();
  return {
    ...procMemory(op.pid),
    heapUsedBytes: metricValue(m, 'nodejs_heap_size_used_bytes'),
    heapTotalBytes: metricValue(m, 'nodejs_heap_size_total_bytes'),
    externalBytes: metricValue(m, 'nodejs_external_memory_bytes'),
  };
}

/** See the module comment. */
export async function runMemory(o: MemoryOptions): Promise<MemoryResult> {
  o.log('memory: starting a control plane');
  const c = await startBenchCluster();
  const databaseUsers = o.databaseUsers ?? 'off';
  let op: OperatorProcess | undefined;
  let mongo: MongoServer | undefined;
  try {
    await c.api.createNamespace(NS);
    if (databaseUsers === 'auto') mongo = await startMongo();
    op = await startOperatorProcess(c.operatorKubeconfig, {
      MAX_CONCURRENT_RECONCILES: String(o.maxConcurrentReconciles),
      ...(mongo ? { INSTANCE_DATABASE_USERS: 'auto', DEFAULT_MONGODB_URI: mongo.uri } : {}),
    });
    await new Promise((r) => setTimeout(r, 2000));
    const idle = await snapshot(op);

    const path = `/apis/${API_VERSION}/namespaces/${NS}/${PLURAL}`;
    const reconciled = await ArrivalWatch.start(c.api, path, isReconciled);
    const sampler = new PeakSampler(op.pid, 500);
    const names = instanceNames(o.instances);
    o.log(`  creating ${o.instances} WhatsAppInstances (${o.concurrency} in flight)`);
    const t0 = performance.now();
    await runPool(names, o.concurrency, (name) =>
      c.api.create(path, benchInstance(name, NS) as unknown as KubeObject).then(() => undefined),
    );
    const tDone = await reconciled.waitFor(names.length, o.timeoutMs, (n) =>
      o.log(`    ${n}/${names.length} reconciled after ${((performance.now() - t0) / 1000).toFixed(1)} s`),
    );
    await reconciled.stop();
    sampler.stop();
    const children: Record<string, number> = {};
    for (const [name, p] of Object.entries({
      statefulsets: `/apis/apps/v1/namespaces/${NS}/statefulsets`,
      services: `/api/v1/namespaces/${NS}/services`,
      secrets: `/api/v1/namespaces/${NS}/secrets`,
      networkpolicies: `/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies`,
    })) {
      children[name] = await c.api.count(p);
    }
    const afterStorm = await snapshot(op);

    o.log(`  quiet period of ${o.quietSeconds} s`);
    const reconcilesBefore = metricValue(await op.metrics(), 'controller_runtime_reconcile_total');
    const cpuBefore = procCpuSeconds(op.pid);
    await new Promise((r) => setTimeout(r, o.quietSeconds * 1000));
    const quietCpuSeconds = procCpuSeconds(op.pid) - cpuBefore;
    const afterQuiet = await snapshot(op);
    const quietReconciles = metricValue(await op.metrics(), 'controller_runtime_reconcile_total') - reconcilesBefore;
    o.log('  waiting for the next resync of every instance (RESYNC_PERIOD_MS, default 30 s)');
    const resync = await measureResync(op.pid, () => op!.metrics(), o.instances, o.timeoutMs);
    return {
      instances: o.instances,
      concurrency: o.concurrency,
      maxConcurrentReconciles: o.maxConcurrentReconciles,
      databaseUsers,
      ...(mongo ? { mongo: `${mongo.kind}${mongo.backend ? ` (${mongo.backend})` : ''}` } : {}),
      controlPlane: CONTROL_PLANE_DESCRIPTION,
      idle,
      afterStorm,
      afterQuiet,
      stormMs: tDone - t0,
      children,
      stormPeakRssBytes: sampler.maxRssBytes,
      quietSeconds: o.quietSeconds,
      quietCpuSeconds,
      quietReconciles,
      resync,
    };
  } finally {
    const code = await op?.stop();
    if (op && code !== 0) o.log(`  operator exited with ${code}:\n${op.proc.output().slice(-2000)}`);
    await c.stop();
    await mongo?.stop();
  }
}
