/**
 * Single-use tickets for browser WebSockets. A browser cannot set headers on a WebSocket, and an access token (JWT)
 * in the URL ends up in proxy logs and browser history; so the dashboard first asks for a ticket with its access token
 * in the header (`POST /v1/instances/:id/ws-ticket`), then opens `…/api/v1/events?ticket=<ticket>`.
 * - A ticket is 32 random bytes (`wst_` + base64url); only its SHA-256 is stored, with the tenant, the session of the
 *   access token it was asked with, the instance it opens and its expiry (`ttlMs`, 30 s by default).
 * - It is consumed by its first use (a delete whose count decides: two upgrades racing with one ticket get one relay),
 *   whatever the outcome, and refused when expired, for another instance, or when its session was logged out since.
 * - Expired, never-used tickets are removed by the api's periodic sweep (and a TTL index where the server has them).
 */
import { createHash, randomBytes } from 'node:crypto';
import type mongoose from 'mongoose';
import { AppError } from '../errors.js';

/** A stored ticket. */
export interface WsTicketDoc {
  /** SHA-256 (hex) of the ticket. */
  _id: string;
  userId: string;
  /** Session (`jti`) of the access token the ticket was asked with: the relay is closed when it ends. */
  sessionId: string;
  instanceId: string;
  expiresAt: Date;
}

/** What a consumed ticket grants: a relay to `instanceId` for this tenant and session. */
export interface TicketGrant {
  userId: string;
  sessionId: string;
  instanceId: string;
}

/** Prefix of tickets (never an access token's or an instance token's, `wai_`). */
export const TICKET_PREFIX = 'wst_';
/** Default ticket lifetime, ms. */
export const DEFAULT_TICKET_TTL_MS = 30_000;

const hash = (ticket: string) => createHash('sha256').update(ticket).digest('hex');

export class WsTickets {
  private readonly ttlMs: number;

  constructor(
    private readonly collection: mongoose.mongo.Collection<WsTicketDoc>,
    o: { ttlMs?: number } = {},
  ) {
    this.ttlMs = o.ttlMs ?? DEFAULT_TICKET_TTL_MS;
  }

  /** Creates the indexes (TTL on `expiresAt` where the server supports it). */
  async init(): Promise<void> {
    await this.collection
      .createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 })
      .catch(() => this.collection.createIndex({ expiresAt: 1 }));
  }

  /**
   * Issues a ticket for a relay to `instanceId` (its ownership is the caller's to check first).
   * @returns the ticket (shown once; only its hash is stored), its expiry (ISO 8601) and lifetime in seconds.
   */
  async issue(g: TicketGrant, now = new Date()): Promise<{ ticket: string; expiresAt: string; expiresInS: number }> {
    const ticket = TICKET_PREFIX + randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    await this.collection.insertOne({ _id: hash(ticket), ...g, expiresAt });
    return { ticket, expiresAt: expiresAt.toISOString(), expiresInS: Math.round(this.ttlMs / 1000) };
  }

  /**
   * Consumes `ticket` for a relay to `instanceId`: it is gone afterwards, whatever the answer.
   * @throws AppError `unauthorized` for an unknown, used, expired ticket or one for another instance.
   */
  async consume(ticket: string, instanceId: string, now = new Date()): Promise<TicketGrant> {
    const refused = () =>
      new AppError('unauthorized', 'The ticket is invalid, used or expired; ask for a new one (POST /v1/instances/{id}/ws-ticket).');
    if (!ticket.startsWith(TICKET_PREFIX) || ticket.length > 100) throw refused();
    const id = hash(ticket);
    const doc = await this.collection.findOne({ _id: id });
    if (!doc) throw refused();
    // Single use: of two upgrades racing with one ticket, only the one whose delete removed it goes on.
    if ((await this.collection.deleteOne({ _id: id })).deletedCount !== 1) throw refused();
    if (doc.expiresAt.getTime() <= now.getTime() || doc.instanceId !== instanceId) throw refused();
    return { userId: doc.userId, sessionId: doc.sessionId, instanceId: doc.instanceId };
  }

  /** Removes expired tickets. @returns how many. */
  async sweep(now = new Date()): Promise<number> {
    return (await this.collection.deleteMany({ expiresAt: { $lte: now } })).deletedCount;
  }
}
