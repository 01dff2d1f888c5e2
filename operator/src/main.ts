#!/usr/bin/env node
/**
 * `wacloud-operator`: reconciles WhatsAppInstance resources. Kubernetes credentials from KUBECONFIG or, in a pod,
 * the mounted ServiceAccount. Stops on SIGTERM/SIGINT (releasing its Lease) and exits 1 when leadership is lost.
 */
import { createLogger } from '@wacloud/kit/logger';
import { loadKubeConfig } from '@wacloud/kube-runtime';
import { ConfigError, loadOperatorConfig, type OperatorConfig } from './config.js';
import { startOperator } from './operator.js';

let config: OperatorConfig;
try {
  config = loadOperatorConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
  throw err;
}
const logger = createLogger({ service: 'wacloud-operator', level: config.logLevel });
// Not client-node's KubeConfig: importing client-node costs ~90 MiB of resident memory (@wacloud/kube-runtime's README).
const kc = await loadKubeConfig();
const operator = await startOperator({ config, kubeConfig: kc, logger }).catch((err: Error) => {
  logger.fatal({ err }, 'operator failed to start');
  process.exit(1);
});
let signalled = false;
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    signalled = true;
    logger.info({ signal: sig }, 'stopping');
    void operator.stop();
  });
}
await operator.done;
process.exit(signalled ? 0 : 1);
