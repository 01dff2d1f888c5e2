/**
 * @wacloud/crds — the contract between `api` (which writes WhatsAppInstance resources) and `operator` (which
 * reconciles them): TypeScript types and constants mirroring `whatsappinstances.wacloud.io.yaml`, the one source of
 * the CRD. `test/crd.test.ts` checks that the two agree.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const GROUP = 'wacloud.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'WhatsAppInstance';
export const PLURAL = 'whatsappinstances';
export const SINGULAR = 'whatsappinstance';
export const SHORT_NAMES = ['wai'] as const;
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** Absolute path of the CRD manifest. */
export const CRD_YAML_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'whatsappinstances.wacloud.io.yaml');
/** Absolute path of the sample resources. */
export const EXAMPLES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'examples');

/** Field manager of every server-side apply the operator makes. */
export const FIELD_MANAGER = 'wacloud-operator';
/** Finalizer the operator puts on every instance. */
export const FINALIZER = 'wacloud.io/finalizer';

/** Labels wacloud sets. `OWNER` is on the resource itself (the api sets it; tenants' instances are listed by it). */
export const LABELS = {
  OWNER: 'wacloud.io/owner',
  INSTANCE: 'wacloud.io/instance',
  NAME: 'app.kubernetes.io/name',
  INSTANCE_K8S: 'app.kubernetes.io/instance',
  COMPONENT: 'app.kubernetes.io/component',
  PART_OF: 'app.kubernetes.io/part-of',
  MANAGED_BY: 'app.kubernetes.io/managed-by',
} as const;

/**
 * Annotation of a WhatsAppInstance asking for a restart of its pod (the api sets it to the time of the request, ISO
 * 8601); the operator copies it onto the StatefulSet's pod template, so a new value rolls the pod — the session volume
 * is kept. Like `kubectl rollout restart`, but on the resource the api owns.
 */
export const RESTARTED_AT_ANNOTATION = 'wacloud.io/restarted-at';

/** Ports of an instance pod (names are used by Services and NetworkPolicies). */
export const PORTS = {
  public: { name: 'public', port: 8080 },
  internal: { name: 'internal', port: 8081 },
} as const;

export const ENGINES = ['webjs', 'simulated'] as const;
export type Engine = (typeof ENGINES)[number];

export const PHASES = ['Pending', 'Provisioning', 'Running', 'Suspended', 'Failed', 'Terminating'] as const;
export type Phase = (typeof PHASES)[number];

export const CONDITION_TYPES = ['Ready', 'Suspended', 'Reconciled'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

export const SESSION_STATES = [
  'STOPPED',
  'STARTING',
  'SCAN_QR_CODE',
  'AUTHENTICATING',
  'WORKING',
  'DISCONNECTED',
  'FAILED',
  'Unknown',
] as const;
export type SessionState = (typeof SESSION_STATES)[number];

export const WEBHOOK_EVENTS = ['message', 'message.any', 'message.ack', 'session.status', '*'] as const;

/** A quantity as Kubernetes accepts it: `500m`, `1Gi`, `2`. */
export type Quantity = string | number;

export interface SecretKeyRef {
  name: string;
  key?: string;
}

export interface WhatsAppInstanceSpec {
  /** Tenant id. Immutable (CEL). */
  owner: string;
  /** Scale to zero, keeping the session volume. Default false. */
  suspended?: boolean;
  /** Default webjs. */
  engine?: Engine;
  image?: string;
  resources?: { requests?: Record<string, Quantity>; limits?: Record<string, Quantity> };
  /** Immutable (CEL). */
  storage?: { size?: string; storageClassName?: string };
  webhook?: { url: string; secretRef?: SecretKeyRef; events?: Array<(typeof WEBHOOK_EVENTS)[number]> };
  mongodb?: { secretRef?: SecretKeyRef; database?: string };
}

/** metav1.Condition */
export interface Condition {
  type: ConditionType | string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  /** RFC 3339 */
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface WhatsAppInstanceStatus {
  phase?: Phase;
  observedGeneration?: number;
  conditions?: Condition[];
  /** Governing Service of the instance's StatefulSet: the pod is {@link instancePodHost}`(name, serviceName)`. */
  serviceName?: string;
  internalSecretRef?: { name: string; key: string };
  readyReplicas?: number;
  session?: { state: SessionState; reason?: string; lastProbeTime?: string };
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: Array<{
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
    blockOwnerDeletion?: boolean;
  }>;
}

export interface WhatsAppInstance {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: WhatsAppInstanceSpec;
  status?: WhatsAppInstanceStatus;
}

export interface WhatsAppInstanceList {
  apiVersion: typeof API_VERSION;
  kind: 'WhatsAppInstanceList';
  metadata: { resourceVersion?: string; continue?: string };
  items: WhatsAppInstance[];
}

/**
 * The headless Service shared by every instance of a namespace (written once per namespace by the operator, like the
 * namespace's NetworkPolicy; no owner): the governing service of the instances' StatefulSets, so an instance's pod is
 * `<name>-0.wacloud-instances.<namespace>.svc` ({@link instancePodHost}). Its own name resolves to every instance
 * pod of the namespace: never an instance's address.
 */
export const INSTANCES_SERVICE = 'wacloud-instances';

/**
 * The DNS name of instance `instanceName`'s pod relative to its namespace (append `.<namespace>.svc[.<zone>]`): the
 * StatefulSet's one pod under its governing Service `serviceName` (`status.serviceName`: {@link INSTANCES_SERVICE},
 * or `<name>-headless` for instances whose StatefulSet was created before the shared Service; both resolve).
 */
export function instancePodHost(instanceName: string, serviceName: string): string {
  return `${childNames(instanceName).pod}.${serviceName}`;
}

/** Names of an instance's children, derived from the instance name (one place, used by operator and api). */
export function childNames(instanceName: string): {
  statefulSet: string;
  /** The StatefulSet's one pod (ordinal 0). */
  pod: string;
  /**
   * The per-instance headless Service of instances created before the shared {@link INSTANCES_SERVICE}: their
   * StatefulSet's governing service (`spec.serviceName` cannot change), so the operator keeps it for them.
   */
  legacyHeadlessService: string;
  service: string;
  internalSecret: string;
  networkPolicy: string;
  sessionVolume: string;
} {
  return {
    statefulSet: instanceName,
    pod: `${instanceName}-0`,
    legacyHeadlessService: `${instanceName}-headless`,
    service: instanceName,
    internalSecret: `${instanceName}-internal`,
    networkPolicy: instanceName,
    sessionVolume: 'session',
  };
}

/** Key of the internal API key in the internal Secret. */
export const INTERNAL_KEY_SECRET_KEY = 'internal-api-key';
