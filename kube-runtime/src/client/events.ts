/**
 * Kubernetes Events (core/v1) about an object, like controller-runtime's EventRecorder. Recording never fails the
 * caller: errors are logged.
 */
import { errFields, type RuntimeLogger } from '../runtime/logger.js';
import type { KubeClient } from './client.js';

export type EventType = 'Normal' | 'Warning';

/** What an Event names of its object (any Kubernetes object fits). */
export interface EventSubject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export interface EventRecorderOptions {
  /** `source.component` and `reportingComponent`, e.g. `my-operator`. */
  component: string;
  /** `reportingInstance`, e.g. the pod name. */
  instance: string;
  /**
   * apiVersion and kind of `involvedObject` when the recorded objects do not carry them (informer caches of
   * metadata-only objects, slimmed objects). Default: the object's own.
   */
  involvedKind?: { apiVersion: string; kind: string };
}

export class EventRecorder {
  constructor(
    private readonly client: KubeClient,
    private readonly logger: RuntimeLogger,
    private readonly o: EventRecorderOptions,
  ) {}

  /**
   * Records `reason` (CamelCase, e.g. Created, Suspended, ReconcileFailed) with a human message (cut at 1,024
   * characters) about the namespaced object `obj`. Never throws.
   */
  async record(obj: EventSubject, type: EventType, reason: string, message: string): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const m = obj.metadata ?? {};
    const ns = m.namespace!;
    try {
      await this.client.request('POST', `/api/v1/namespaces/${ns}/events`, {
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: `${m.name}.`, namespace: ns },
          involvedObject: {
            apiVersion: this.o.involvedKind?.apiVersion ?? obj.apiVersion,
            kind: this.o.involvedKind?.kind ?? obj.kind,
            name: m.name,
            namespace: ns,
            uid: m.uid,
            resourceVersion: m.resourceVersion,
          },
          reason,
          message: message.slice(0, 1024),
          type,
          source: { component: this.o.component },
          reportingComponent: this.o.component,
          reportingInstance: this.o.instance,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      this.logger.warn({ ...errFields(err), reason }, 'could not record event');
    }
  }
}
