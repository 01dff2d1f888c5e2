/**
 * Kubernetes Events about an instance (core/v1), like controller-runtime's EventRecorder. Recording never fails a
 * reconcile: errors are logged.
 */
import type { Logger } from 'pino';
import { API_VERSION, KIND, type WhatsAppInstance } from '@wacloud/crds';
import type { KubeClient } from './kube-client.js';

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
    private readonly component = 'wacloud-operator',
    private readonly instance = 'operator',
  ) {}

  /** Records `reason` (CamelCase, e.g. Created, Suspended, Resumed, ReconcileFailed) with a human message. */
  async record(wai: WhatsAppInstance, type: EventType, reason: string, message: string): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const ns = wai.metadata.namespace!;
    try {
      await this.client.request('POST', `/api/v1/namespaces/${ns}/events`, {
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: `${wai.metadata.name}.`, namespace: ns },
          involvedObject: { apiVersion: API_VERSION, kind: KIND, name: wai.metadata.name, namespace: ns, uid: wai.metadata.uid, resourceVersion: wai.metadata.resourceVersion },
          reason,
          message: message.slice(0, 1024),
          type,
          source: { component: this.component },
          reportingComponent: this.component,
          reportingInstance: this.instance,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, reason }, 'could not record event');
    }
  }
}
