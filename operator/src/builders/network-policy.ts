/**
 * The instance's NetworkPolicy: the internal API port admits only the api pods; the public and metrics ports stay
 * reachable (the api's gateway, Prometheus).
 */
import type { V1LabelSelector, V1ObjectMeta } from '@kubernetes/client-node';
import { PORTS, childNames, type WhatsAppInstance } from '@wacloud/crds';
import { childMeta, selectorLabels } from './meta.js';
import { METRICS_PORT } from './service.js';

export interface NetworkPolicyOptions {
  /** Labels of the api pods. */
  apiPodSelector: Record<string, string>;
  /** Labels of the api's namespace; empty = the instance's own namespace. */
  apiNamespaceSelector: Record<string, string>;
}

interface Peer {
  podSelector?: V1LabelSelector;
  namespaceSelector?: V1LabelSelector;
}

/** networking.k8s.io/v1 NetworkPolicy as JSON (client-node's model names `from` as `_from`). */
export interface NetworkPolicyManifest {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: V1ObjectMeta;
  spec: {
    podSelector: V1LabelSelector;
    policyTypes: Array<'Ingress' | 'Egress'>;
    ingress: Array<{ from?: Peer[]; ports?: Array<{ protocol: 'TCP'; port: number | string }> }>;
  };
}

export function buildNetworkPolicy(wai: WhatsAppInstance, o: NetworkPolicyOptions): NetworkPolicyManifest {
  const apiPeer: Peer = {
    podSelector: { matchLabels: o.apiPodSelector },
    ...(Object.keys(o.apiNamespaceSelector).length ? { namespaceSelector: { matchLabels: o.apiNamespaceSelector } } : {}),
  };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: childMeta(wai, childNames(wai.metadata.name!).networkPolicy),
    spec: {
      podSelector: { matchLabels: selectorLabels(wai) },
      policyTypes: ['Ingress'],
      ingress: [
        { from: [apiPeer], ports: [{ protocol: 'TCP', port: PORTS.internal.port }] },
        {
          ports: [
            { protocol: 'TCP', port: PORTS.public.port },
            { protocol: 'TCP', port: METRICS_PORT.port },
          ],
        },
      ],
    },
  };
}
