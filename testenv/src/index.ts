/**
 * @wacloud/testenv — real servers on loopback for every workspace's tests: a MongoDB-wire server, Chromium,
 * child processes with captured output, a Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager)
 * and a single-node cluster on it (kubelet, kube-proxy, kube-scheduler, containerd, CoreDNS).
 */
export { chromiumPath, findBinary, repoRoot, toolsBin } from './paths.js';
export { clearOfWindowEnd, eventually, freePort, waitForPort } from './ports.js';
export { startProcess, type ManagedProcess, type StartProcessOptions } from './process.js';
export {
  startAuthorisingMongo,
  startMongo,
  uniqueDbName,
  withDatabase,
  type AuthorisingMongoServer,
  type MongoKind,
  type MongoServer,
  type StartMongoOptions,
} from './mongo.js';
export { hasPostgres, startPostgres, type PostgresServer } from './postgres.js';
export { countProcesses } from './processes.js';
export { CLK_TCK, cpuDelta, cpuSnapshot, machineCpuTicks, procCpuSeconds, type CpuSnapshot } from './cpu.js';
export {
  startControlPlane,
  type ControlPlane,
  type ControlPlaneProcesses,
  type KubectlOptions,
  type KubectlResult,
  type ServiceAccountKubeconfigOptions,
  type StartControlPlaneOptions,
} from './kube.js';
export { waitForCrds } from './crd-wait.js';
export { startCluster, CLUSTER_DOMAIN, SERVICE_CIDR, type Cluster, type StartClusterOptions } from './cluster.js';
export {
  benchLog,
  benchOut,
  finishReport,
  fmt,
  median,
  parseBenchArgs,
  percentile,
  round,
  runBench,
  table,
  type BenchArgs,
  type BenchArgsOptions,
  type BenchSize,
} from './bench-stats.js';
export {
  BASE_IMAGES,
  WACLOUD_IMAGES,
  buildWacloudImage,
  dockerTestName,
  ensureBaseImages,
  startDockerd,
  testImageTag,
  type Dockerd,
  type DockerdResult,
  type WacloudImage,
} from './docker.js';
export {
  composeBinary,
  composeProject,
  dindPrivilegeOverride,
  ensureComposeStandIns,
  type ComposeProject,
  type ComposeStandIns,
} from './compose.js';
export { benchRow, goalMet, type BenchRow } from './bench-rows.js';
