/**
 * The instance's Services: a headless one (the StatefulSet's governing service, stable pod DNS) and a ClusterIP one
 * that the api (gateway, internal API) and Prometheus use.
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

export function buildHeadlessService(wai: WhatsAppInstance): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(wai, childNames(wai.metadata.name!).headlessService),
    spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: selectorLabels(wai), ports: ports() },
  };
}

export function buildService(wai: WhatsAppInstance): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(wai, childNames(wai.metadata.name!).service),
    spec: { type: 'ClusterIP', selector: selectorLabels(wai), ports: ports() },
  };
}
