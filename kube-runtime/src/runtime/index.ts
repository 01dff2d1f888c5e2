/** The controller runtime: work queue, informer (and its cache transforms), leader election, metrics, controller, health server. */
export * from './cache-transforms.js';
export * from './controller.js';
export * from './health-server.js';
export * from './informer.js';
export * from './leader-election.js';
export * from './logger.js';
export * from './metrics.js';
export * from './workqueue.js';
