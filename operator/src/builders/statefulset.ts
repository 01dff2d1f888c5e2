/**
 * The instance's StatefulSet: one pod (zero while suspended) running the instance image with a persistent session
 * volume (whatsapp-web.js LocalAuth profile). The claim is kept when scaled to zero (whenScaled: Retain), so a resumed
 * instance needs no new QR, and deleted with the StatefulSet (whenDeleted: Delete).
 */
import type { V1EnvVar, V1ResourceRequirements, V1StatefulSet } from '@kubernetes/client-node';
import {
  INSTANCES_SERVICE,
  INTERNAL_KEY_SECRET_KEY,
  PORTS,
  RESTARTED_AT_ANNOTATION,
  childNames,
  type WhatsAppInstance,
} from '@wacloud/crds';
import { childMeta, childLabels, selectorLabels } from './meta.js';
import { MONGODB_URI_SECRET_KEY } from './secret.js';
import { METRICS_PORT } from './service.js';

export interface StatefulSetOptions {
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  defaultResources: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  /** Size of the memory-backed /dev/shm (Chromium's shared memory), e.g. 512Mi. */
  shmSize: string;
  /** Simulated network URL for `engine: simulated`. */
  simnetUrl: string | undefined;
  /**
   * The pod's seccomp profile: the runtime's default, or a profile file on every node (relative to the kubelet's
   * seccomp directory) that allows what Chromium's sandbox needs (user namespaces), e.g. profiles/wacloud-chromium.json.
   */
  seccompProfile: SeccompProfile;
  /** WACLOUD_CHROMIUM_SANDBOX of the instance: on, off (--no-sandbox) or auto (try the sandbox, else warn and run without). */
  chromiumSandbox: ChromiumSandbox;
  /**
   * Variables added to every instance container after the operator's own (INSTANCE_EXTRA_ENV, the chart's
   * `instances.extraEnv`), e.g. `WEBHOOK_LOG_RETENTION_MS` or `SEND_RATE_PER_S` (instance/README.md); never a name of
   * {@link RESERVED_INSTANCE_ENV} (the configuration refuses those). Copied, in their order.
   */
  extraEnv?: readonly V1EnvVar[];
}

export type SeccompProfile = { type: 'RuntimeDefault' } | { type: 'Localhost'; localhostProfile: string };
export type ChromiumSandbox = 'auto' | 'on' | 'off';
/** The instance's variable that says whether Chromium runs with its sandbox. */
export const CHROMIUM_SANDBOX_ENV = 'WACLOUD_CHROMIUM_SANDBOX';

/**
 * The variables the operator sets on the instance container itself, from the resource and its own configuration: an
 * extra variable of the same name is refused (a container's `env` is a list keyed by name under server-side apply).
 */
export const RESERVED_INSTANCE_ENV: readonly string[] = [
  'INSTANCE_ID',
  'HOST',
  'PORT',
  'INTERNAL_PORT',
  'METRICS_PORT',
  'ENGINE',
  'DATA_DIR',
  'CHROMIUM_PATH',
  CHROMIUM_SANDBOX_ENV,
  'INTERNAL_API_KEY_FILE',
  'MONGODB_URI',
  'SIMNET_URL',
  'WEBHOOK_URL',
  'WEBHOOK_EVENTS',
  'WEBHOOK_SECRET',
];

/** Where the session volume is mounted (DATA_DIR). */
export const DATA_DIR = '/data';
/** Where the internal Secret is mounted (INTERNAL_API_KEY_FILE reads from it). */
export const INTERNAL_SECRET_DIR = '/etc/wacloud/internal';
/** UID/GID of the instance image's non-root user. */
export const RUN_AS = 10001;

function env(wai: WhatsAppInstance, o: StatefulSetOptions): V1EnvVar[] {
  const names = childNames(wai.metadata.name!);
  const engine = wai.spec.engine ?? 'webjs';
  const mongo = wai.spec.mongodb?.secretRef;
  const vars: V1EnvVar[] = [
    { name: 'INSTANCE_ID', value: wai.metadata.name! },
    { name: 'HOST', value: '0.0.0.0' },
    { name: 'PORT', value: String(PORTS.public.port) },
    { name: 'INTERNAL_PORT', value: String(PORTS.internal.port) },
    { name: 'METRICS_PORT', value: String(METRICS_PORT.port) },
    { name: 'ENGINE', value: engine },
    { name: 'DATA_DIR', value: DATA_DIR },
    // The real binary: Debian's /usr/bin/chromium wrapper adds --disable-dev-shm-usage when /dev/shm looks small.
    { name: 'CHROMIUM_PATH', value: '/usr/lib/chromium/chromium' },
    { name: CHROMIUM_SANDBOX_ENV, value: o.chromiumSandbox },
    { name: 'INTERNAL_API_KEY_FILE', value: `${INTERNAL_SECRET_DIR}/${INTERNAL_KEY_SECRET_KEY}` },
    {
      name: 'MONGODB_URI',
      valueFrom: {
        secretKeyRef: mongo ? { name: mongo.name, key: mongo.key ?? 'uri' } : { name: names.internalSecret, key: MONGODB_URI_SECRET_KEY },
      },
    },
  ];
  if (engine === 'simulated' && o.simnetUrl) vars.push({ name: 'SIMNET_URL', value: o.simnetUrl });
  const hook = wai.spec.webhook;
  if (hook) {
    vars.push({ name: 'WEBHOOK_URL', value: hook.url });
    if (hook.events?.length) vars.push({ name: 'WEBHOOK_EVENTS', value: hook.events.join(',') });
    if (hook.secretRef)
      vars.push({
        name: 'WEBHOOK_SECRET',
        valueFrom: { secretKeyRef: { name: hook.secretRef.name, key: hook.secretRef.key ?? 'secret' } },
      });
  }
  for (const e of o.extraEnv ?? []) vars.push(structuredClone(e));
  return vars;
}

/**
 * Desired StatefulSet of the instance (named like it); one replica, none while `spec.suspended`. The resource's
 * `wacloud.io/restarted-at` annotation is carried onto the pod template: a new value rolls the pod (a restart).
 * `serviceName`: its governing Service — the namespace's shared one, or (immutable) the one an existing StatefulSet has.
 */
export function buildStatefulSet(wai: WhatsAppInstance, o: StatefulSetOptions, serviceName: string = INSTANCES_SERVICE): V1StatefulSet {
  const names = childNames(wai.metadata.name!);
  const restartedAt = wai.metadata.annotations?.[RESTARTED_AT_ANNOTATION];
  // /health answers while the process serves (the gateway must reach a pod waiting for a QR); /health/live fails once
  // the session's reconnect budget is spent, so the kubelet restarts the container.
  const probe = (failureThreshold: number, periodSeconds: number, path = '/health') => ({
    httpGet: { path, port: PORTS.public.name },
    periodSeconds,
    timeoutSeconds: 3,
    failureThreshold,
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: childMeta(wai, names.statefulSet),
    spec: {
      replicas: wai.spec.suspended ? 0 : 1,
      serviceName,
      selector: { matchLabels: selectorLabels(wai) },
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate' },
      persistentVolumeClaimRetentionPolicy: { whenScaled: 'Retain', whenDeleted: 'Delete' },
      volumeClaimTemplates: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: names.sessionVolume, labels: selectorLabels(wai) },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: wai.spec.storage?.size ?? '1Gi' } },
            ...(wai.spec.storage?.storageClassName ? { storageClassName: wai.spec.storage.storageClassName } : {}),
          },
        },
      ],
      template: {
        metadata: { labels: childLabels(wai), ...(restartedAt ? { annotations: { [RESTARTED_AT_ANNOTATION]: restartedAt } } : {}) },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: RUN_AS,
            runAsGroup: RUN_AS,
            fsGroup: RUN_AS,
            seccompProfile: { ...o.seccompProfile },
          },
          containers: [
            {
              name: 'instance',
              image: wai.spec.image ?? o.image,
              imagePullPolicy: o.imagePullPolicy,
              ports: [PORTS.public, PORTS.internal, METRICS_PORT].map((p) => ({ name: p.name, containerPort: p.port, protocol: 'TCP' })),
              env: env(wai, o),
              resources: (wai.spec.resources ?? o.defaultResources) as V1ResourceRequirements,
              startupProbe: probe(60, 2),
              readinessProbe: probe(3, 10),
              livenessProbe: probe(6, 10, '/health/live'),
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: names.sessionVolume, mountPath: DATA_DIR },
                { name: 'dshm', mountPath: '/dev/shm' },
                { name: 'tmp', mountPath: '/tmp' },
                { name: 'internal', mountPath: INTERNAL_SECRET_DIR, readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: o.shmSize } },
            { name: 'tmp', emptyDir: {} },
            {
              name: 'internal',
              secret: {
                secretName: names.internalSecret,
                defaultMode: 0o440,
                items: [{ key: INTERNAL_KEY_SECRET_KEY, path: INTERNAL_KEY_SECRET_KEY }],
              },
            },
          ],
        },
      },
    },
  };
}
