/**
 * The builders' options from the operator's configuration (computed once per configuration object).
 */
import type { EgressRule, NetworkPolicyOptions, StatefulSetOptions } from './builders/index.js';
import { parseSelector, type OperatorConfig } from './config.js';

/** The port of a mongodb:// URI's first host, else 27017 (mongodb+srv and URIs without a port). */
export function mongoUriPort(uri: string): number {
  const m = /^mongodb:\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/,?]*):(\d+)/.exec(uri);
  return m ? Number(m[1]) : 27017;
}

const netpolCache = new WeakMap<OperatorConfig, NetworkPolicyOptions>();

/** Options of every instance's NetworkPolicy (see builders/network-policy.ts). */
export function networkPolicyOptions(c: OperatorConfig): NetworkPolicyOptions {
  let o = netpolCache.get(c);
  if (!o) {
    const scraper = { podSelector: c.metricsScraperPodSelector, namespaceSelector: c.metricsScraperNamespaceSelector };
    const mongoPeer = { podSelector: c.egressMongodbPodSelector, namespaceSelector: c.egressMongodbNamespaceSelector };
    o = {
      apiPodSelector: parseSelector(c.apiPodSelector),
      apiNamespaceSelector: parseSelector(c.apiNamespaceSelector),
      operatorPodSelector: c.operatorPodSelector,
      metricsScraper: scraper,
      egress: c.instanceEgressPolicy
        ? {
            dns: { podSelector: c.egressDnsPodSelector, namespaceSelector: c.egressDnsNamespaceSelector, cidrs: [...c.egressDnsCidrs] },
            mongodb: {
              peer: mongoPeer,
              cidrs: [...c.egressMongodbCidrs],
              port: c.egressMongodbPort ?? mongoUriPort(c.defaultMongodbUri),
            },
            internet: { cidrs: [...c.egressInternetCidrs], except: [...c.egressInternetExcept], ports: [...c.egressInternetPorts] },
            extraRules: structuredClone(c.egressExtraRules) as EgressRule[],
          }
        : undefined,
    };
    netpolCache.set(c, o);
  }
  return o;
}

/** Options of every instance's StatefulSet (see builders/statefulset.ts). */
export function statefulSetOptions(c: OperatorConfig): StatefulSetOptions {
  return {
    image: c.instanceImage,
    imagePullPolicy: c.instanceImagePullPolicy,
    defaultResources: c.defaultResources,
    shmSize: c.shmSize,
    simnetUrl: c.simnetUrl,
    seccompProfile: c.instanceSeccompProfile,
    chromiumSandbox: c.instanceChromiumSandbox,
    extraEnv: c.instanceExtraEnv,
  };
}
