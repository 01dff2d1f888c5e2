/**
 * The instances' NetworkPolicy: one per namespace (named {@link INSTANCES_NETWORK_POLICY}), selecting every instance
 * pod by its `app.kubernetes.io/name=wacloud-instance` label — the rules are the same for every instance, so one
 * policy guards them all (a policy per instance cost one more write per instance and one more cached object). Ingress: the internal API port admits only the api pods; the public port only the api
 * (its gateway) and the operator (its session probe); the metrics port only the metrics scraper (Prometheus). Egress
 * (when enabled): DNS, the instance's MongoDB, the internet on the given ports (443) minus the private, link-local
 * and cluster ranges — never the cluster's pods, the apiserver's private address or the cloud metadata address
 * 169.254.169.254. The kubelet's probes come from the node and are not subject to NetworkPolicy.
 *
 * A rule without peers would admit everything, so a rule is left out when it has none (the port stays closed).
 */
import type { V1LabelSelector, V1ObjectMeta } from '@kubernetes/client-node';
import { PORTS } from '@wacloud/crds';
import { cidrContains, parseCidr, type Cidr } from './cidr.js';
import { instancePodLabels, namespaceObjectMeta } from './meta.js';
import { METRICS_PORT } from './service.js';

/** Pods by labels. `namespaceSelector` empty: the instance's own namespace; `podSelector` empty: every pod there. */
export interface PeerSelector {
  podSelector: Record<string, string>;
  namespaceSelector: Record<string, string>;
}

export interface EgressOptions {
  /** The cluster DNS (kube-dns / CoreDNS pods), UDP and TCP 53; `cidrs`: e.g. a node-local DNS cache address. */
  dns: PeerSelector & { cidrs: string[] };
  /** The MongoDB server the operator hands the instance: its pods (bundled) and/or address blocks (external). */
  mongodb: { peer: PeerSelector | undefined; cidrs: string[]; port: number };
  /** The internet: `cidrs` (0.0.0.0/0, ::/0) minus `except` (each kept only under a block that contains it), TCP `ports`. */
  internet: { cidrs: string[]; except: string[]; ports: number[] };
  /** Further egress rules, as given (networking.k8s.io/v1 NetworkPolicyEgressRule). */
  extraRules: EgressRule[];
}

export interface NetworkPolicyOptions {
  /** Labels of the api pods. */
  apiPodSelector: Record<string, string>;
  /** Labels of the namespace of the api and the operator; empty = the instance's own namespace. */
  apiNamespaceSelector: Record<string, string>;
  /** Labels of the operator pods (their session probe reads the public port's /health); empty: not admitted. */
  operatorPodSelector: Record<string, string>;
  /** The metrics scraper; undefined: the metrics port admits nobody. */
  metricsScraper: PeerSelector | undefined;
  /** Egress rules; undefined: egress is not restricted (policyTypes Ingress only). */
  egress: EgressOptions | undefined;
}

export interface Peer {
  podSelector?: V1LabelSelector;
  namespaceSelector?: V1LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface PolicyPort {
  protocol: 'TCP' | 'UDP' | 'SCTP';
  port?: number | string;
  endPort?: number;
}

export interface IngressRule {
  from?: Peer[];
  ports?: PolicyPort[];
}

export interface EgressRule {
  to?: Peer[];
  ports?: PolicyPort[];
}

/** networking.k8s.io/v1 NetworkPolicy as JSON (client-node's model names `from` as `_from`). */
export interface NetworkPolicyManifest {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: V1ObjectMeta;
  spec: {
    podSelector: V1LabelSelector;
    policyTypes: Array<'Ingress' | 'Egress'>;
    ingress: IngressRule[];
    egress?: EgressRule[];
  };
}

const isEmpty = (labels: Record<string, string>): boolean => Object.keys(labels).length === 0;

/** A peer of pods: both selectors, or one; undefined when both are empty (that would mean "anything"). */
export function peerOf(s: PeerSelector): Peer | undefined {
  if (isEmpty(s.podSelector) && isEmpty(s.namespaceSelector)) return undefined;
  return {
    ...(isEmpty(s.podSelector) ? {} : { podSelector: { matchLabels: s.podSelector } }),
    ...(isEmpty(s.namespaceSelector) ? {} : { namespaceSelector: { matchLabels: s.namespaceSelector } }),
  };
}

/**
 * ipBlocks of `cidrs` minus `except`: each block gets the excepted blocks strictly inside it; a block that lies
 * wholly inside an excepted one is left out.
 * @throws Error when an entry is not a CIDR block.
 */
export function ipBlocks(cidrs: string[], except: string[]): Peer[] {
  const ex = except.map(parseCidr);
  return cidrs.map(parseCidr).flatMap((block: Cidr) => {
    if (ex.some((e) => cidrContains(e, block))) return [];
    const inside = ex.filter((e) => cidrContains(block, e)).map((e) => e.text);
    return [{ ipBlock: { cidr: block.text, ...(inside.length ? { except: inside } : {}) } }];
  });
}

const present = (peers: Array<Peer | undefined>): Peer[] => peers.filter((x): x is Peer => x !== undefined);
/** An egress rule, or none when it has no peer to go to. */
const egressRule = (peers: Array<Peer | undefined>, ports: PolicyPort[]): EgressRule[] =>
  present(peers).length ? [{ to: present(peers), ports }] : [];
/** An ingress rule, or none when it has no peer to come from. */
const ingressRule = (peers: Array<Peer | undefined>, ports: PolicyPort[]): IngressRule[] =>
  present(peers).length ? [{ from: present(peers), ports }] : [];

function egressRules(e: EgressOptions): EgressRule[] {
  return [
    ...egressRule(
      [peerOf(e.dns), ...ipBlocks(e.dns.cidrs, [])],
      [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    ),
    ...egressRule(
      [e.mongodb.peer && peerOf(e.mongodb.peer), ...ipBlocks(e.mongodb.cidrs, [])],
      [{ protocol: 'TCP', port: e.mongodb.port }],
    ),
    ...egressRule(
      ipBlocks(e.internet.cidrs, e.internet.except),
      e.internet.ports.map((port) => ({ protocol: 'TCP' as const, port })),
    ),
    ...e.extraRules,
  ];
}

/** Name of the instances' NetworkPolicy in each namespace that holds instances. */
export const INSTANCES_NETWORK_POLICY = 'wacloud-instances';

/**
 * Desired NetworkPolicy of the instances of `namespace`: named {@link INSTANCES_NETWORK_POLICY}, selecting every
 * instance pod there. It has no owner (it outlives any one instance; a policy selecting no pod admits and blocks
 * nothing) and carries the `managed-by` label the operator's cache watches.
 * @throws Error when a CIDR in `o.egress` is not a CIDR block (the operator's configuration validates them first).
 */
export function buildNetworkPolicy(namespace: string, o: NetworkPolicyOptions): NetworkPolicyManifest {
  const api = peerOf({ podSelector: o.apiPodSelector, namespaceSelector: o.apiNamespaceSelector });
  const operator = isEmpty(o.operatorPodSelector)
    ? undefined
    : peerOf({ podSelector: o.operatorPodSelector, namespaceSelector: o.apiNamespaceSelector });
  const tcp = (port: number): PolicyPort => ({ protocol: 'TCP', port });
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: namespaceObjectMeta(INSTANCES_NETWORK_POLICY, namespace),
    spec: {
      podSelector: { matchLabels: instancePodLabels() },
      policyTypes: o.egress ? ['Ingress', 'Egress'] : ['Ingress'],
      ingress: [
        ...ingressRule([api], [tcp(PORTS.internal.port)]),
        ...ingressRule([api, operator], [tcp(PORTS.public.port)]),
        ...ingressRule([o.metricsScraper && peerOf(o.metricsScraper)], [tcp(METRICS_PORT.port)]),
      ],
      ...(o.egress ? { egress: egressRules(o.egress) } : {}),
    },
  };
}
