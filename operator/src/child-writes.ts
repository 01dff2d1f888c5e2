/**
 * How the reconciler writes a child (field manager `wacloud-operator`), every answer put into the cache at once
 * ({@link ClusterState.wrote}) so the next reconcile never acts on a stale copy:
 * - a child missing from the cache — the instance's Secret and StatefulSet, once per new instance — is created with a
 *   create-only POST: cheaper for the apiserver than an apply that creates (no read of the missing object, no merge),
 *   and the Secret's key can never be created twice. A POST refused because the child exists after all (a stale
 *   cache) tells the caller to read it.
 * - a child that differs is server-side applied after a full read of it. A POST records its fields under an `Update`
 *   entry of the field manager, which would go on owning them after an apply: that ownership is first moved to the
 *   `Apply` entry (kube-runtime `upgradeManagedFields`, as kubectl's csaupgrade), so the apply removes whatever the
 *   builders no longer produce (e.g. the webhook's variables once `spec.webhook` is removed, the internal Secret's
 *   MongoDB URI once `spec.mongodb.secretRef` names another Secret).
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { FIELD_MANAGER } from '@wacloud/crds';
import { isAlreadyExists, isConflict, type KubeClient } from '@wacloud/kube-runtime';
import type { ReconcileLog } from './lazy-logger.js';
import type { ClusterState } from './reconciler.js';

export class ChildWrites {
  constructor(
    private readonly client: KubeClient,
    private readonly state: Pick<ClusterState, 'wrote'>,
  ) {}

  /**
   * Creates a child with a create-only POST, puts the answer into the cache, logs; returns it — or undefined when the
   * apiserver refuses because it exists (a stale cache): the caller then reads it.
   * @throws ApiServerError other than AlreadyExists.
   */
  async createOnly<T extends KubernetesObject>(desired: T, log: ReconcileLog): Promise<T | undefined> {
    try {
      return this.written(await this.client.create<T>(desired, FIELD_MANAGER), false, log);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      log.debug({ kind: desired.kind, name: desired.metadata?.name }, 'exists although not cached; reading it');
      return undefined;
    }
  }

  /**
   * Server-side applies `desired`, puts the answer into the cache, logs; returns the answer. `current`: the live object
   * as just read, with its managedFields (undefined: missing, or known to exist but not read — say so with `existed`).
   * The field manager's `Update` ownership in `current` is first moved to its `Apply` entry (see the module comment);
   * when `current` was stale by then, the child is read again once.
   * @throws ApiServerError (e.g. 422 Invalid; 409 Conflict when the child changed again between the two reads).
   */
  async apply<T extends KubernetesObject>(
    desired: T,
    current: KubernetesObject | undefined,
    log: ReconcileLog,
    existed = current !== undefined,
  ): Promise<T> {
    if (current) {
      try {
        await this.client.upgradeManagedFields(current, FIELD_MANAGER);
      } catch (err) {
        if (!isConflict(err)) throw err;
        const again = await this.client.get(this.client.objectPath(desired));
        if (again) await this.client.upgradeManagedFields(again, FIELD_MANAGER);
      }
    }
    return this.written(await this.client.apply<T>(desired, FIELD_MANAGER), existed, log);
  }

  /** Puts a write's answer into the cache and logs it; returns the answer. */
  written<T extends KubernetesObject>(answer: T, existed: boolean, log: ReconcileLog): T {
    log.info({ kind: answer.kind, name: answer.metadata?.name, created: !existed }, existed ? 'child updated' : 'child created');
    // The cache drops `metadata.managedFields` in place, then its transforms build new objects from what is left:
    // a copy of the top level and the metadata keeps the answer intact for the caller (a deep copy cost ~15% of the
    // operator's CPU in a burst of new instances).
    this.state.wrote?.({ ...answer, metadata: { ...answer.metadata } });
    return answer;
  }
}
