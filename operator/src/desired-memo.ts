/**
 * What the reconciler remembers per instance about its desired children: the hashes of the desired StatefulSet,
 * internal Secret and (older instances only) own headless Service (`desiredHash` of what the builders return), with every input the builders
 * read. A periodic resync re-reconciles every instance; while none of the inputs changed, the hashes are reused and
 * the children are not built (building the StatefulSet and hashing its JSON was most of an up-to-date reconcile's CPU).
 *
 * The inputs (builders/*.ts, reconciler.ts):
 * - of the instance: `metadata.name` and `namespace` (the memo's key), `metadata.uid` (the owner reference),
 *   `metadata.generation`, the `wacloud.io/restarted-at` annotation (copied onto the pod template) and the whole
 *   `spec` — compared by its JSON text, not trusted to `generation` alone (a CRD's new default changes what is read
 *   without bumping it). The instance's labels and other annotations are read by no builder (the children's labels
 *   come from the name and `spec.owner`).
 * - the StatefulSet's governing Service (the namespace's shared one, or an older StatefulSet's own: reconciler.ts).
 * - of the operator: its configuration object (image, pull policy, default resources, /dev/shm size, simnet URL,
 *   seccomp profile, Chromium sandbox, extra variables, default MongoDB URI), compared by identity — the configuration is read once at
 *   start and never changed in place (a new one means a new process) — and whether instances get their own database
 *   user (fixed for a reconciler, which owns its memo).
 * There are no namespace-level settings: the namespace's NetworkPolicy is built once per namespace from the
 * configuration alone (reconciler.ts).
 *
 * What the memo saves is building and hashing only: whether a child is at its desired state is still decided from
 * the live object every time (its resourceVersion or generation, `VerifiedChildren`), so a child deleted or edited by
 * anyone is repaired as before.
 */
import type { V1Service, V1StatefulSet } from '@kubernetes/client-node';
import { RESTARTED_AT_ANNOTATION, type WhatsAppInstance } from '@wacloud/crds';
import { INSTANCES_SERVICE, buildInternalSecret, buildLegacyService, buildStatefulSet } from './builders/index.js';
import { databaseName } from './builders/secret.js';
import { statefulSetOptions } from './child-options.js';
import type { OperatorConfig } from './config.js';
import { desiredHash } from './verified.js';

/** The hashes of an instance's desired children. */
export interface DesiredHashes {
  statefulSet: string;
  /** Of the instance's own headless Service: only for a StatefulSet governed by it (created before the shared one). */
  service?: string;
  /** Of the Secret built with placeholders for the stored key and the user's URI (reconciler.ts, `ensureSecret`). */
  secret: string;
}

interface Entry {
  uid: string | undefined;
  generation: number | undefined;
  restartedAt: string | undefined;
  /** The spec object last seen (a cached instance is replaced, never changed in place: same object, same spec). */
  spec: unknown;
  specJson: string;
  options: object;
  serviceName: string;
  hashes: DesiredHashes;
}

/** `namespace/name` → the inputs and hashes of its desired children; ~300 bytes per instance. */
export class DesiredMemo {
  private readonly m = new Map<string, Entry>();
  /** Times the hashes were computed (`compute` called): a resync of up-to-date instances adds none. */
  computed = 0;

  /**
   * The hashes of `wai`'s desired children: the remembered ones when every input equals the remembered one, else
   * `compute()`'s (then remembered). `options` is the operator's configuration as the builders see it (by identity);
   * `serviceName` the StatefulSet's governing Service.
   */
  hashes(wai: WhatsAppInstance, options: object, serviceName: string, compute: () => DesiredHashes): DesiredHashes {
    const key = `${wai.metadata.namespace}/${wai.metadata.name}`;
    const e = this.m.get(key);
    const restartedAt = wai.metadata.annotations?.[RESTARTED_AT_ANNOTATION];
    if (
      e &&
      e.uid === wai.metadata.uid &&
      e.generation === wai.metadata.generation &&
      e.restartedAt === restartedAt &&
      e.options === options &&
      e.serviceName === serviceName
    ) {
      if (e.spec === wai.spec) return e.hashes;
      const specJson = JSON.stringify(wai.spec);
      if (specJson === e.specJson) {
        e.spec = wai.spec;
        return e.hashes;
      }
    }
    this.computed++;
    const hashes = compute();
    this.m.set(key, {
      uid: wai.metadata.uid,
      generation: wai.metadata.generation,
      restartedAt,
      spec: wai.spec,
      specJson: JSON.stringify(wai.spec),
      options,
      serviceName,
      hashes,
    });
    return hashes;
  }

  /** Forgets the instance `namespace/name` (deleted). */
  delete(ns: string, name: string): void {
    this.m.delete(`${ns}/${name}`);
  }

  get size(): number {
    return this.m.size;
  }
}

/**
 * The hashes of `wai`'s desired children, built now (what {@link DesiredMemo.hashes} computes when an input changed);
 * the children built are left in `built` for the reconcile that writes them. The Secret is built with placeholders for
 * its stored key and its database user's URI (those are read from the apiserver when it is written) — the placeholder
 * names the database, so a new `spec.mongodb.database` reaches the Secret.
 */
export function buildDesiredHashes(
  wai: WhatsAppInstance,
  config: OperatorConfig,
  serviceName: string,
  withDatabaseUsers: boolean,
  built: Partial<{ statefulSet: V1StatefulSet; service: V1Service }>,
): DesiredHashes {
  const secret = buildInternalSecret(wai, {
    existingKey: '(kept)',
    defaultMongoUri: config.defaultMongodbUri,
    instanceMongoUri: withDatabaseUsers ? `(user of ${databaseName(wai)})` : undefined,
  });
  return {
    statefulSet: desiredHash((built.statefulSet = buildStatefulSet(wai, statefulSetOptions(config), serviceName))),
    ...(serviceName === INSTANCES_SERVICE ? {} : { service: desiredHash((built.service = buildLegacyService(wai))) }),
    secret: desiredHash(secret),
  };
}
