/**
 * @wacloud/testenv — real servers on loopback for every workspace's tests: a MongoDB-wire server, Chromium,
 * child processes with captured output. (The Kubernetes control plane joins with the operator issue.)
 */
export { chromiumPath, findBinary, repoRoot, toolsBin } from './paths.js';
export { eventually, freePort, waitForPort } from './ports.js';
export { startProcess, type ManagedProcess, type StartProcessOptions } from './process.js';
export { startMongo, uniqueDbName, withDatabase, type MongoKind, type MongoServer, type StartMongoOptions } from './mongo.js';
export { countProcesses } from './processes.js';
