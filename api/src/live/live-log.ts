/**
 * The seam between what happens in an organisation and the members' live socket (docs/team.md). Writers append
 * events to a shared, durable log in the api database; every api replica tails it and pushes each event to the
 * sockets of the members entitled to it, so a member connected to any replica sees every event, and a reconnect with
 * the last event id resumes without a gap within the retention window.
 */

/** Who may receive an event. Owners and admins of `orgId` receive every event of their organisation. */
export interface LiveAudience {
  /** The organisation the event belongs to; no member of another organisation ever receives it. */
  orgId: string;
  /** When set, an agent receives the event only with `canRead` on this instance. */
  instanceId?: string;
  /**
   * When set, the event concerns a private conversation: among agents, only this member (its assignee) receives it.
   * `null` means a private conversation without assignee: owners and admins only.
   */
  privateTo?: string | null;
  /** When true, owners and admins only (statistics, audit, team changes). */
  adminsOnly?: boolean;
}

/** Event types of the live socket. */
export type LiveEventType =
  | 'conversation.created'
  | 'conversation.updated'
  | 'conversation.assigned'
  | 'conversation.note'
  | 'message.new'
  | 'message.sent'
  | 'message.ack'
  | 'instance.state'
  | 'instance.qr'
  | 'contact.updated';

/** An event to append. `data` is JSON-serialisable and at most 64 KiB once serialised. */
export interface LiveEventInput {
  type: LiveEventType;
  data: unknown;
  audience: LiveAudience;
}

/** An appended event as members receive it: `{id, type, data, at}` frames on the socket. */
export interface LiveEvent {
  /** Position in the log: increases by one per event, never reused, no gaps (the resume point). */
  id: number;
  type: LiveEventType;
  data: unknown;
  /** When it was appended, ISO 8601. */
  at: string;
}

/** The log writers use. */
export interface LiveLog {
  /** Appends `event`; resolves with its id once it is durable. @throws the driver's error when the database fails. */
  append(event: LiveEventInput): Promise<number>;
  /**
   * Appends `events` in order, in as few writes as it can (the ingest's batches); resolves with their ids once durable.
   * Optional: writers fall back to {@link append} one by one. @throws the driver's error when the database fails.
   */
  appendMany?(events: LiveEventInput[]): Promise<number[]>;
}
