/**
 * Configuration files of the test cluster's node (testenv/src/cluster.ts): containerd with its CRI plugin, the CNI
 * bridge network, the kubelet, CoreDNS, and the manifests the harness applies (cluster DNS Service, storage).
 */

/** The kube-apiserver's Service range (testenv/src/kube.ts) and the cluster DNS address inside it. */
export const SERVICE_CIDR = '10.0.0.0/24';
export const CLUSTER_DNS_IP = '10.0.0.10';
export const CLUSTER_DOMAIN = 'cluster.local';
/** StorageClass of the harness' hostPath PersistentVolumes (the cluster's default class). */
export const STORAGE_CLASS = 'standard';

/** containerd 1.6 config (version 2): own root/state/socket under `dir`, CRI with runc and the CNI bridge. */
export function containerdToml(o: { dir: string; socket: string; pauseImage: string; cniConfDir: string; cniBinDir: string }): string {
  return `version = 2
root = "${o.dir}/root"
state = "${o.dir}/state"
[grpc]
  address = "${o.socket}"
[ttrpc]
  address = "${o.socket}.ttrpc"
[debug]
  level = "warn"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${o.pauseImage}"
  stream_server_address = "127.0.0.1"
  enable_selinux = false
  disable_apparmor = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${o.cniBinDir}"
    conf_dir = "${o.cniConfDir}"
[plugins."io.containerd.internal.v1.opt"]
  path = "${o.dir}/opt"
`;
}

/** CNI network of the pods: a bridge with host-local addresses from `podCidr`, masquerade out, portmap for hostPort. */
export function cniConflist(podCidr: string): string {
  return JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'wacloud-test',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: podCidr }]], routes: [{ dst: '0.0.0.0/0' }] },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

/** KubeletConfiguration (YAML) of the node. The kubelet's API admits anyone: it listens only inside the node's veth /30. */
export function kubeletConfig(o: { nodeIp: string; cgroupRoot: string; runtimeSocket: string; resolvConf: string; dir: string }): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${o.nodeIp}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
cgroupRoot: ${o.cgroupRoot}
containerRuntimeEndpoint: unix://${o.runtimeSocket}
clusterDNS: [${CLUSTER_DNS_IP}]
clusterDomain: ${CLUSTER_DOMAIN}
resolvConf: ${o.resolvConf}
failSwapOn: false
failCgroupV1: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 50Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
volumePluginDir: ${o.dir}/volume-plugins
podLogsDir: ${o.dir}/pod-logs
nodeStatusUpdateFrequency: 4s
syncFrequency: 10s
serializeImagePulls: false
maxPods: 60
`;
}

/** CoreDNS Corefile: the cluster zone from the apiserver, bound to the node's address; nothing forwarded upstream. */
export function corefile(o: { bind: string; kubeconfig: string }): string {
  return `${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
    bind ${o.bind}
    errors
    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
        kubeconfig ${o.kubeconfig} test
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
. {
    bind ${o.bind}
    errors
}
`;
}

/**
 * Manifests the harness applies once the apiserver runs: the `kube-dns` Service at {@link CLUSTER_DNS_IP} whose
 * EndpointSlice is CoreDNS on the node, the default StorageClass (WaitForFirstConsumer: the scheduler binds claims)
 * and `pvCount` hostPath PersistentVolumes under `pvDir` (statically provisioned, Retain: a released volume is not
 * reused).
 */
export function clusterManifests(o: { nodeIp: string; pvDir: string; pvCount: number; pvCapacity: string }): string {
  const docs: object[] = [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: {
        clusterIP: CLUSTER_DNS_IP,
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        ],
      },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'kube-dns-node',
        namespace: 'kube-system',
        labels: { 'kubernetes.io/service-name': 'kube-dns', 'endpointslice.kubernetes.io/managed-by': 'wacloud-testenv' },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [o.nodeIp], conditions: { ready: true } }],
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      ],
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner: 'kubernetes.io/no-provisioner',
      reclaimPolicy: 'Retain',
      // The scheduler binds a claim to a volume as it places the pod (kind's default class does the same). With
      // `Immediate`, a pod the scheduler met before the PV controller had bound its new claim was rejected ("unbound
      // immediate PersistentVolumeClaims") and at times stayed parked after the binding, until the scheduler's
      // 5-minute flush of unschedulable pods: StatefulSets with a new claim each, one after another on this node,
      // had one pod of 26 Running after 326 s (kube-scheduler 1.33; the chart suite's first instance once in CI),
      // against 200 of 200 within 3 s (the cluster's first within 23 s) with WaitForFirstConsumer.
      volumeBindingMode: 'WaitForFirstConsumer',
    },
  ];
  for (let i = 0; i < o.pvCount; i++) {
    docs.push({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `hostpath-${i}` },
      spec: {
        capacity: { storage: o.pvCapacity },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: STORAGE_CLASS,
        hostPath: { path: `${o.pvDir}/${i}`, type: 'DirectoryOrCreate' },
      },
    });
  }
  return docs.map((d) => JSON.stringify(d)).join('\n---\n');
}
