/** Waiting for CustomResourceDefinitions to be served, on any control plane of testenv (or an external cluster). */
import type { ControlPlane } from './kube.js';

/**
 * Resolves once every CustomResourceDefinition of `names` (e.g. `whatsappinstances.wacloud.io`) has condition
 * `Established=True`, read every 100 ms through `cp.kubectl`. (`kubectl wait --for=condition=Established` right after
 * the apply fails while the CRD has no `.status.conditions` yet — "accessor error" — which once stopped a bench run.)
 * @throws Error naming the CRDs not established after `timeoutMs` (default 60,000 ms).
 */
export async function waitForCrds(cp: Pick<ControlPlane, 'kubectl'>, names: string[], timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let pending = names;
  for (;;) {
    const established = await Promise.all(
      pending.map(async (n) => {
        const r = await cp.kubectl(['get', `crd/${n}`, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']);
        return r.code === 0 && r.stdout.trim() === 'True';
      }),
    );
    pending = pending.filter((_, i) => !established[i]);
    if (!pending.length) return;
    if (Date.now() > until) throw new Error(`CRDs not established after ${timeoutMs} ms: ${pending.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
