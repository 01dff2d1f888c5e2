/**
 * The seam between the ingest of instance events and the team layer (conversations, contacts, statistics, the live
 * socket). Every instance reports its events to the api through a durable subscription (its webhook outbox, target
 * `api`; see docs/team.md); the ingest verifies them and hands each one, in order per instance, to every subscribed
 * handler. Delivery is at-least-once: an event may arrive again with the same `id`, so handlers are idempotent by
 * `id`. A handler that throws makes the ingest answer 503, and the instance delivers the event again later (nothing
 * is lost).
 */

/** One event an instance reported. */
export interface InstanceEvent {
  /** The instance's stable event id (`evt_` + 32 hex), the same on every redelivery. */
  id: string;
  /** The instance's id (the api's instance `_id`). */
  instanceId: string;
  /** The organisation that owns the instance. */
  orgId: string;
  /**
   * Event type from the instance's webhook catalogue (`instance/src/webhooks/settings.ts`: `message`, `message.any`,
   * `message.ack`, `session.status`, `message.reaction`, …) plus the api-only `session.qr`.
   */
  type: string;
  /** The payload, exactly as the `data` of the instance's webhook body for that type. */
  data: unknown;
  /** When the instance recorded the event, ms since the epoch. */
  timestamp: number;
}

/**
 * Handles several events of one instance, oldest first, with the same effects as the handler applied to each in turn
 * (bulk writes: a batch delivery, docs/team.md §1). Resolves with how many, from the first, have their effects stored;
 * fewer than all: the next one failed, and it and those after are delivered again. Never throws.
 */
export type InstanceEventBatchHandler = (events: InstanceEvent[]) => Promise<number>;

/**
 * Handles one event; resolves when its effects are stored. @throws anything to have the event delivered again.
 * With `batch`, the ingest hands it a batch's events at once ({@link InstanceEventBatchHandler}).
 */
export type InstanceEventHandler = ((event: InstanceEvent) => Promise<void>) & { batch?: InstanceEventBatchHandler };

/** Where the team layer subscribes to instance events. */
export interface InstanceEventBus {
  /**
   * Adds `handler`; returns a function that removes it. Handlers run one after the other, in subscription order; for
   * a batch, each handler takes the batch's events (one by one, or at once with `batch`) before the next handler.
   */
  subscribe(handler: InstanceEventHandler): () => void;
}
