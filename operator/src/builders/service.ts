/**
 * The instance's Service: one headless Service (`<name>-headless`, no ClusterIP) that is both the StatefulSet's
 * governing service (stable pod DNS) and the address the api uses (gateway, internal API: `status.serviceName`) —
 * with a single pod, its DNS name resolves straight to that pod. `publishNotReadyAddresses`: the gateway must reach a
 * pod that waits for its QR scan. Prometheus scrapes the pods through a PodMonitor, not a Service.
 * (Before, a second, ClusterIP Service named like the instance served the api: one more write and a ClusterIP
 * allocation per instance, and kube-proxy rules on every node, for a single backend.)
 */
import type { V1Service, V1ServicePort } from '@kubernetes/client-node';
import { PORTS, childNames, type WhatsAppInstance } from '@wacloud/crds';
import { childMeta, selectorLabels } from './meta.js';

export const METRICS_PORT = { name: 'metrics', port: 9090 } as const;

const ports = (): V1ServicePort[] =>
  [PORTS.public, PORTS.internal, METRICS_PORT].map((p) => ({
    name: p.name,
    port: p.port,
    targetPort: p.name,
    protocol: 'TCP',
    appProtocol: 'http',
  }));

/** Desired Service of the instance: headless, selecting its pod, public, internal and metrics ports. */
export function buildService(wai: WhatsAppInstance): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(wai, childNames(wai.metadata.name!).headlessService),
    spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: selectorLabels(wai), ports: ports() },
  };
}
