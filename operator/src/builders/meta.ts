/**
 * Shared metadata of an instance's children (labels, selector, owner reference) and of the objects the operator writes
 * once per namespace for all its instances. Pure functions.
 */
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION, KIND, LABELS, type WhatsAppInstance } from '@wacloud/crds';

/** The label every instance pod carries (`app.kubernetes.io/name=wacloud-instance`): what the namespace's policy selects. */
export function instancePodLabels(): Record<string, string> {
  return { [LABELS.NAME]: 'wacloud-instance' };
}

/** Labels that select the instance's pod (stable for the instance's lifetime: a StatefulSet selector is immutable). */
export function selectorLabels(wai: WhatsAppInstance): Record<string, string> {
  return { ...instancePodLabels(), [LABELS.INSTANCE]: wai.metadata.name! };
}

/** Labels of every child: selector labels plus owner, component and manager. */
export function childLabels(wai: WhatsAppInstance): Record<string, string> {
  return {
    ...selectorLabels(wai),
    [LABELS.INSTANCE_K8S]: wai.metadata.name!,
    [LABELS.OWNER]: wai.spec.owner,
    [LABELS.COMPONENT]: 'instance',
    [LABELS.PART_OF]: 'wacloud',
    [LABELS.MANAGED_BY]: 'wacloud-operator',
  };
}

/** The controller owner reference pointing at the instance (garbage collection removes children with it). */
export function ownerReference(wai: WhatsAppInstance): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: wai.metadata.name!,
    uid: wai.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Metadata of a child named `name` in the instance's namespace. */
export function childMeta(wai: WhatsAppInstance, name: string): V1ObjectMeta {
  return { name, namespace: wai.metadata.namespace!, labels: childLabels(wai), ownerReferences: [ownerReference(wai)] };
}

/**
 * Metadata of an object written once per namespace for every instance there (the NetworkPolicy, the headless
 * Service): no owner (it outlives any one instance), the instance pods' label and the `managed-by` label the operator
 * watches.
 */
export function namespaceObjectMeta(name: string, namespace: string): V1ObjectMeta {
  return {
    name,
    namespace,
    labels: {
      ...instancePodLabels(),
      [LABELS.COMPONENT]: 'instance',
      [LABELS.PART_OF]: 'wacloud',
      [LABELS.MANAGED_BY]: 'wacloud-operator',
    },
  };
}
