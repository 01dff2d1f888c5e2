/**
 * Benchmarks of the operator (`npm run bench -w operator [-- create|memory] [--json] [sizes…]`) against a real
 * control plane (etcd + kube-apiserver from @wacloud/testenv) with the operator as its own process. Prints figures —
 * never asserts timing. Progress goes to stderr, the report to stdout, and with `--json` one JSON line is printed last.
 *
 * Sizes (flag, else environment variable, else default):
 *   --instances / BENCH_INSTANCES                 create: instances (and direct StatefulSets) per side, N   default 500
 *   --concurrency / BENCH_CONCURRENCY             requests in flight from the load generator                 default 8
 *   --reconciles / BENCH_RECONCILES               create: MAX_CONCURRENT_RECONCILES per round, e.g. 4,16       default: the operator's default
 *   --create-runs / BENCH_CREATE_RUNS             create: rounds per MAX_CONCURRENT_RECONCILES value; its rows
 *                                                 give the median round (single rounds move by ±0.2 here)      default 5
 *   --client-requests / BENCH_CLIENT_REQUESTS     create: sequential GETs per client in the client comparison default 200 (0: skip)
 *   --memory-instances / BENCH_MEMORY_INSTANCES   memory: instances reconciled, M                            default 5000
 *   --memory-reconciles / BENCH_MEMORY_RECONCILES memory: MAX_CONCURRENT_RECONCILES                          default: the operator's default
 *   --quiet-seconds / BENCH_QUIET_SECONDS         memory: quiet period before the second reading, s          default 10
 *   --timeout-seconds / BENCH_TIMEOUT_SECONDS     longest wait for one side or the storm, s                  default 900
 *
 * BENCH_OPERATOR_NODE_OPTIONS is the operator process' NODE_OPTIONS (V8 heap flags); default: its image's (operator/Dockerfile).
 * BENCH_OPERATOR_MALLOC_ARENA_MAX likewise for its MALLOC_ARENA_MAX (glibc); default: its image's.
 * BENCH_OPERATOR_NODE_ARGS likewise for the node flags before the script (the image's CMD), space-separated.
 * BENCH_OPERATOR_MAIN runs another operator entry point instead of dist/main.js (A/B runs of a modified build).
 * BENCH_OPERATOR_DATABASE_USERS=auto: memory runs the operator with INSTANCE_DATABASE_USERS=auto (its default) against a
 * MongoDB-wire server started for it (default `off`: no database behind the benchmarks).
 * Every round starts its own control plane and stops it (and the operator) at the end; the process then exits by itself.
 */
import os from 'node:os';
import { benchLog as log, benchOut as out, benchRow, finishReport, parseBenchArgs, runBench, type BenchSize } from '@wacloud/testenv';
import { loadOperatorConfig } from '../src/config.js';
import { OPERATOR_MAIN, OPERATOR_MALLOC_ARENA_MAX, OPERATOR_NODE_ARGS, OPERATOR_NODE_OPTIONS } from './cluster.js';
import { runCreate, type CreateResult, type CreateRound, type SideResult } from './create.js';
import { runMemory, type MemoryResult, type MemorySnapshot } from './memory.js';
import { fmt, table } from './stats.js';

const BENCHES = ['create', 'memory'] as const;

/** The operator's own default of MAX_CONCURRENT_RECONCILES (its config schema, no environment). */
const DEFAULT_RECONCILES = loadOperatorConfig({}).maxConcurrentReconciles;

const SIZE_SOURCES = {
  instances: { flag: 'instances', env: 'BENCH_INSTANCES', def: 500, min: 1 },
  concurrency: { flag: 'concurrency', env: 'BENCH_CONCURRENCY', def: 8, min: 1 },
  clientRequests: { flag: 'client-requests', env: 'BENCH_CLIENT_REQUESTS', def: 200, min: 0 },
  createRuns: { flag: 'create-runs', env: 'BENCH_CREATE_RUNS', def: 5, min: 1, max: 9 },
  memoryInstances: { flag: 'memory-instances', env: 'BENCH_MEMORY_INSTANCES', def: 5000, min: 1 },
  memoryReconciles: { flag: 'memory-reconciles', env: 'BENCH_MEMORY_RECONCILES', def: DEFAULT_RECONCILES, min: 1, max: 64 },
  quietSeconds: { flag: 'quiet-seconds', env: 'BENCH_QUIET_SECONDS', def: 10, min: 0 },
  timeoutSeconds: { flag: 'timeout-seconds', env: 'BENCH_TIMEOUT_SECONDS', def: 900, min: 1 },
} satisfies Record<string, BenchSize>;

/** The scalar sizes, and `reconciles`: the MAX_CONCURRENT_RECONCILES of each create round. */
type Sizes = Record<keyof typeof SIZE_SOURCES, number> & { reconciles: number[] };

const USAGE =
  'usage: npm run bench -w operator -- [create|memory] [--json] [--instances N] [--concurrency C] [--reconciles 4,16] [--create-runs K] [--client-requests R]\n' +
  '                              [--memory-instances M] [--memory-reconciles K] [--quiet-seconds S] [--timeout-seconds T]\n';

function parse(argv: string[]): { benches: Array<(typeof BENCHES)[number]>; json: boolean; sizes: Sizes } {
  const { benches, json, sizes, raw } = parseBenchArgs(argv, {
    benches: BENCHES,
    sizes: SIZE_SOURCES,
    usage: USAGE,
    extraFlags: ['reconciles'],
  });
  const list = raw('reconciles', 'BENCH_RECONCILES');
  const reconciles = list === undefined ? [DEFAULT_RECONCILES] : list.split(',').map((x) => Number(x.trim()));
  if (reconciles.some((n) => !Number.isInteger(n) || n < 1 || n > 64))
    throw new Error(`--reconciles / BENCH_RECONCILES must be integers in [1, 64], comma-separated (got ${list})`);
  return { benches, json, sizes: { ...sizes, reconciles } };
}

const mib = (bytes: number) => bytes / 2 ** 20;
const sec = (ms: number) => ms / 1000;
const cpu = (s: SideResult, ...names: string[]) => names.map((n) => `${n} ${fmt(s.cpuSeconds[n] ?? Number.NaN)}`).join(', ');

function printCreate(r: CreateResult): void {
  out(
    `create — ${fmt(r.instances)} WhatsAppInstances → StatefulSets by the operator vs the same ${fmt(r.instances)} StatefulSets created directly`,
  );
  out(`  control plane: ${r.controlPlane}; ${r.concurrency} requests in flight from the load generator`);
  out(`  order: ${r.order}`);
  out(
    `  time: first request sent → a watch on the namespace has seen all ${fmt(r.instances)} StatefulSets; lag: one object's create answered → its StatefulSet seen`,
  );
  out();
  const rows: Array<Array<string | number>> = [];
  for (const rd of r.rounds) {
    const side = (name: string, s: SideResult) => [name, sec(s.createsMs), sec(s.allMs), s.perSec, s.lagP50Ms, s.lagP95Ms, s.lagMaxMs];
    rows.push(
      side(`direct POST`, rd.direct),
      side(`direct SSA`, rd.directApply),
      side(`floor: instances only`, rd.floorInstances),
      side(`floor: instance + its STS (SSA)`, rd.floorInstanceAndSts),
      side(`floor: instance + its STS (POST)`, rd.floorInstanceAndStsPost),
      side(`floor: instance + all children`, rd.floorInstanceAndChildren),
      side(`operator, ${rd.maxConcurrentReconciles} reconciles`, rd.operator),
      side(`floor again after the operator`, rd.floorInstanceAndStsAfter),
    );
  }
  out(table(['side', 'creates s', 'all StatefulSets s', 'per s', 'lag p50 ms', 'lag p95 ms', 'lag max ms'], rows));
  out();
  for (const rd of r.rounds) {
    const op = rd.operator;
    out(
      `  MAX_CONCURRENT_RECONCILES=${rd.maxConcurrentReconciles}: ratio operator / direct POST = ${rd.ratio.toFixed(2)} (target ≤ 1.5); operator / direct SSA = ${rd.ratioVsApply.toFixed(2)}`,
    );
    out(
      `    floor of that ratio on this machine: instances only / direct POST = ${(rd.floorInstances.allMs / rd.direct.allMs).toFixed(2)}; ` +
        `instance + its StatefulSet by one client (an ideal operator) / direct POST = ${(rd.floorInstanceAndSts.allMs / rd.direct.allMs).toFixed(2)}; ` +
        `operator / that ideal = ${(op.allMs / idealFloorMs(rd)).toFixed(2)} (the row's ratio: the mean of the ideal before and ` +
        `after the operator; after / before ${(rd.floorInstanceAndStsAfter.allMs / rd.floorInstanceAndSts.allMs).toFixed(2)}, ` +
        `operator / the ideal before alone ${(op.allMs / rd.floorInstanceAndSts.allMs).toFixed(2)}); ` +
        `operator / the ideal POSTing its StatefulSet = ${(op.allMs / rd.floorInstanceAndStsPost.allMs).toFixed(2)}; ` +
        `operator / instance + every child it writes by one client = ${(op.allMs / rd.floorInstanceAndChildren.allMs).toFixed(2)}`,
    );
    out(
      `    all instances Reconciled=True after ${fmt(sec(op.allReconciledMs))} s; ${fmt(op.reconciles)} reconciles (${fmt(op.reconcileErrors)} errors), mean ${fmt(op.meanReconcileMs)} ms each`,
    );
    out(
      `    CPU s during the timed window — direct POST: ${cpu(rd.direct, 'apiserver', 'etcd', 'bench')}; direct SSA: ${cpu(rd.directApply, 'apiserver', 'etcd', 'bench')}`,
    );
    out(
      `                                     operator side: ${cpu(op, 'operator', 'apiserver', 'etcd', 'bench')}  (${os.availableParallelism()} CPUs, wall ${fmt(sec(op.allMs))} s)`,
    );
    out(`    most sockets open in the operator at once: ${fmt(op.maxOperatorSockets)}`);
    out(
      `    apiserver requests from the first create until all reconciled (all clients; includes the ${fmt(r.instances)} bench POSTs of whatsappinstances):`,
    );
    out(
      table(
        ['      verb resource', 'requests', 'per instance', 'in the timed window'],
        op.apiRequests
          .filter(([, n]) => n >= r.instances / 10)
          .map(([k, n]) => [`      ${k}`, n, n / r.instances, op.apiRequestsInWindow.find(([w]) => w === k)?.[1] ?? 0]),
      ),
    );
    out();
  }
  createRows(r);
  if (r.client) {
    const c = r.client;
    out(`  API client, ${c.requests} sequential GETs of one Namespace as the admin (p50 / mean ms, sockets left open after the loop):`);
    out(
      `    operator's KubeClient (kube-runtime: one keep-alive undici Pool):       ${fmt(c.kubeClient.p50Ms)} / ${fmt(c.kubeClient.meanMs)} ms, ${c.kubeClient.socketsLeftOpen} sockets`,
    );
    out(
      `    the bench's keep-alive undici Agent:                                     ${fmt(c.keepAlive.p50Ms)} / ${fmt(c.keepAlive.meanMs)} ms, ${c.keepAlive.socketsLeftOpen} sockets`,
    );
    out();
  }
}

/**
 * The ideal floor of a round, ms: the mean of its two measurements, before and after the operator's (create.ts, steps
 * 3 and 5). They bracket the operator's side in time, so a drift of the machine's speed over the round (the floor's
 * own time moved by −30 % to +35 % a minute apart here, every process alike) weighs on both sides of the ratio.
 */
const idealFloorMs = (rd: CreateRound): number => (rd.floorInstanceAndSts.allMs + rd.floorInstanceAndStsAfter.allMs) / 2;

/**
 * The create rows: per MAX_CONCURRENT_RECONCILES value, the round with the median ratio operator / ideal floor
 * ({@link idealFloorMs}; its figures in the notes, every round's ratio listed): one round's ratio moves by ±0.2–0.3 on
 * this machine, with the speed of the machine (the floor's own time and the operator's alike).
 */
function createRows(r: CreateResult): void {
  for (const k of [...new Set(r.rounds.map((rd) => rd.maxConcurrentReconciles))]) {
    const rounds = r.rounds.filter((rd) => rd.maxConcurrentReconciles === k);
    const ratioOf = (rd: CreateRound) => rd.operator.allMs / idealFloorMs(rd);
    const rd = [...rounds].sort((a, b) => ratioOf(a) - ratioOf(b))[(rounds.length - 1) >> 1]!;
    const op = rd.operator;
    const runs =
      rounds.length > 1 ? `median of ${rounds.length} rounds (${rounds.map((x) => ratioOf(x).toFixed(2)).join(', ')}); that round: ` : '';
    benchRow({
      component: 'operator',
      figure: `create ${r.instances} instances: operator / ideal-operator floor (${k} reconciles)`,
      value: ratioOf(rd),
      unit: '×',
      goal: '≤ 1.3',
      reproduce: `npm run bench -w operator -- create --instances ${r.instances}`,
      note: `${runs}operator ${fmt(sec(op.allMs))} s, floor ${fmt(sec(idealFloorMs(rd)))} s (instance POST + StatefulSet by server-side apply; the mean of ${fmt(sec(rd.floorInstanceAndSts.allMs))} s before the operator and ${fmt(sec(rd.floorInstanceAndStsAfter.allMs))} s after it, operator / the first alone ${(op.allMs / rd.floorInstanceAndSts.allMs).toFixed(2)}×); against the ideal POSTing its StatefulSet (${fmt(sec(rd.floorInstanceAndStsPost.allMs))} s, before the operator), as the operator creates one: ${(op.allMs / rd.floorInstanceAndStsPost.allMs).toFixed(2)}×`,
    });
    benchRow({
      component: 'operator',
      figure: `create ${r.instances} instances: floor of its children (instance + Secret, StatefulSet by one client; one NetworkPolicy and one headless Service per namespace) / ideal-operator floor`,
      value: rd.floorInstanceAndChildren.allMs / idealFloorMs(rd),
      unit: '×',
      goal: '',
      reproduce: `npm run bench -w operator -- create --instances ${r.instances}`,
      note: `${runs ? 'in the median round; ' : ''}what writing the objects this operator must create costs before any watch or status; operator / that floor ${(op.allMs / rd.floorInstanceAndChildren.allMs).toFixed(2)}×`,
    });
  }
}

function printMemory(r: MemoryResult): void {
  out(
    `memory — the operator process with ${fmt(r.instances)} WhatsAppInstances reconciled (MAX_CONCURRENT_RECONCILES=${r.maxConcurrentReconciles}, ${r.concurrency} creates in flight)`,
  );
  out(`  control plane: ${r.controlPlane}`);
  out(`  INSTANCE_DATABASE_USERS=${r.databaseUsers}${r.mongo ? ` against ${r.mongo}` : ''}`);
  out(
    `  storm: first create → all Reconciled=True in ${fmt(sec(r.stormMs))} s (${fmt(r.instances / sec(r.stormMs))} instances/s); objects in the namespace then: ${Object.entries(
      r.children,
    )
      .map(([k, n]) => `${k} ${fmt(n)}`)
      .join(', ')}`,
  );
  out();
  const row = (name: string, s: MemorySnapshot) => [
    name,
    mib(s.rssBytes),
    mib(s.pssBytes),
    mib(s.hwmBytes),
    mib(s.heapUsedBytes),
    mib(s.heapTotalBytes),
    mib(s.externalBytes),
  ];
  out(
    table(
      ['reading (MiB)', 'VmRSS', 'Pss', 'VmHWM', 'heap used', 'heap total', 'external'],
      [row('idle, no instances', r.idle), row('after the storm', r.afterStorm), row(`after ${r.quietSeconds} s quiet`, r.afterQuiet)],
    ),
  );
  out();
  out(`  peak RSS sampled during the storm: ${fmt(mib(r.stormPeakRssBytes))} MiB; target ≤ 150 MB (= 143 MiB) RSS after the storm`);
  benchRow({
    component: 'operator',
    figure: `RSS with ${r.instances} instances reconciled (after the storm)`,
    value: r.afterStorm.rssBytes / 1e6,
    unit: 'MB',
    goal: '≤ 150',
    reproduce: `npm run bench -w operator -- memory --memory-instances ${r.instances}`,
    note: `peak during the storm ${fmt(r.stormPeakRssBytes / 1e6)} MB; after ${r.quietSeconds} s quiet ${fmt(r.afterQuiet.rssBytes / 1e6)} MB${r.databaseUsers === 'auto' ? '; INSTANCE_DATABASE_USERS=auto' : ''}`,
  });
  out(
    `  during the ${r.quietSeconds} s "quiet" period the operator still ran ${fmt(r.quietReconciles)} reconciles using ${fmt(r.quietCpuSeconds)} CPU s (the instances resync every RESYNC_PERIOD_MS, default 30 s)`,
  );
  const rs = r.resync;
  out(
    `  the next resync: ${fmt(rs.reconciles)} reconciles in ${fmt(sec(rs.windowMs))} s using ${fmt(rs.cpuSeconds)} CPU s (idle operator: ${fmt(rs.idleCpuSecondsPerPoll)} CPU s per 1 s poll)`,
  );
  benchRow({
    component: 'operator',
    figure: `CPU of one resync of ${r.instances} up-to-date instances`,
    value: rs.cpuSeconds,
    unit: 'CPU s',
    goal: '',
    reproduce: `npm run bench -w operator -- memory --memory-instances ${r.instances}`,
    note: `${fmt(rs.reconciles)} reconciles in ${fmt(sec(rs.windowMs))} s; includes ~2 s of the idle operator (${fmt(rs.idleCpuSecondsPerPoll)} CPU s per s)`,
  });
  out();
}

async function main(): Promise<void> {
  const { benches, json, sizes } = parse(process.argv.slice(2));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    // testenv kills the processes it started on 'exit'; a signal's default action would skip that.
    process.once(sig, () => {
      log(`${sig}: stopping`);
      process.exit(130);
    });
  }
  const started = Date.now();
  const report: {
    node: string;
    cpus: number;
    cpuModel: string;
    operatorMain: string;
    sizes: Sizes;
    create?: CreateResult;
    memory?: MemoryResult;
    totalMs?: number;
  } = {
    node: process.version,
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    operatorMain: OPERATOR_MAIN,
    sizes,
  };
  out(
    `wacloud operator benchmarks — Node ${process.version}, ${report.cpus} CPUs (${report.cpuModel}), load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  out(
    `operator: node ${[...OPERATOR_NODE_ARGS, OPERATOR_MAIN].join(' ')}; NODE_OPTIONS=${OPERATOR_NODE_OPTIONS} MALLOC_ARENA_MAX=${OPERATOR_MALLOC_ARENA_MAX ?? '(unset)'} (BENCH_OPERATOR_*, else operator/Dockerfile's)`,
  );
  out();
  const timeoutMs = sizes.timeoutSeconds * 1000;
  if (benches.includes('create')) {
    report.create = await runCreate({
      instances: sizes.instances,
      concurrency: sizes.concurrency,
      // Each value's rounds one after the other (a fresh control plane each).
      reconciles: sizes.reconciles.flatMap((n) => Array<number>(sizes.createRuns).fill(n)),
      clientRequests: sizes.clientRequests,
      timeoutMs,
      log,
    });
    printCreate(report.create);
  }
  if (benches.includes('memory')) {
    report.memory = await runMemory({
      instances: sizes.memoryInstances,
      concurrency: sizes.concurrency,
      maxConcurrentReconciles: sizes.memoryReconciles,
      quietSeconds: sizes.quietSeconds,
      timeoutMs,
      databaseUsers: process.env.BENCH_OPERATOR_DATABASE_USERS === 'auto' ? 'auto' : 'off',
      log,
    });
    printMemory(report.memory);
  }
  finishReport(report, started, json);
}

runBench(main);
