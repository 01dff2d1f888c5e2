/**
 * The audit log: who did what and when in an organisation — invitations, role and right changes, removals, instance
 * creation and deletion, token and webhook changes. Append-only: this module only inserts entries; no route or
 * code path updates or deletes them. Readable by owners and admins, newest first, by cursor (`GET /v1/audit`).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuthContext } from './accounts.js';
import { AppError } from './errors.js';
import type { ApiStore, AuditDoc } from './store.js';

/** Every action the log records. */
export const AUDIT_ACTIONS = [
  'member.invited',
  'invitation.revoked',
  'invitation.accepted',
  'member.role_changed',
  'member.rights_changed',
  'member.removed',
  'instance.created',
  'instance.deleted',
  'token.created',
  'token.updated',
  'token.deleted',
  'webhook.updated',
  'webhook.secret_rotated',
  'contact.merged',
  'contact.unmerged',
  'contacts.imported',
  'conversation.assigned',
  'conversation.transferred',
  'conversation.unassigned',
  'conversation.status_changed',
  'conversation.visibility_changed',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Who acted: a member (from its access token), or the invitee accepting (no token yet). */
export type Actor = Pick<AuthContext, 'memberId' | 'userId' | 'email'>;

export interface AuditView {
  id: string;
  at: string;
  actor: { memberId: string | null; userId: string | null; email: string | null };
  action: string;
  target: { type: string; id: string };
  details?: Record<string, unknown>;
}

/** A time-ordered entry id: 13 digits of epoch ms, then randomness (ties between replicas broken arbitrarily). */
function entryId(at: Date): string {
  return `${String(at.getTime()).padStart(13, '0')}-${randomBytes(6).toString('hex')}`;
}

export class AuditLog {
  constructor(
    private readonly store: ApiStore,
    private readonly logger?: Logger,
  ) {}

  /**
   * Appends an entry. The action it records has happened: a failure to write is logged, never thrown (the caller's
   * answer stands).
   */
  async record(
    orgId: string,
    actor: Actor | null,
    action: AuditAction,
    target: { type: string; id: string },
    details?: Record<string, unknown>,
  ): Promise<void> {
    const at = new Date();
    const doc: AuditDoc = {
      _id: entryId(at),
      orgId,
      at,
      actor: { memberId: actor?.memberId ?? null, userId: actor?.userId ?? null, email: actor?.email ?? null },
      action,
      target,
      ...(details ? { details } : {}),
    };
    await this.store.audit
      .insertOne(doc)
      .catch((err: unknown) => this.logger?.error({ err, orgId, action }, 'writing an audit entry failed'));
  }

  /**
   * One page of `orgId`'s entries, newest first.
   * @param cursor the `nextCursor` of the previous page.
   * @throws AppError `invalid_cursor`.
   */
  async page(orgId: string, limit: number, cursor?: string): Promise<{ items: AuditView[]; nextCursor: string | null }> {
    if (cursor !== undefined && !/^\d{13}-[0-9a-f]{12}$/.test(cursor)) throw new AppError('invalid_cursor');
    const docs = await this.store.audit
      .find({ orgId, ...(cursor ? { _id: { $lt: cursor } } : {}) })
      .sort({ _id: -1 })
      .limit(limit + 1)
      .toArray();
    const page = docs.slice(0, limit);
    return {
      items: page.map((d) => ({
        id: d._id,
        at: d.at.toISOString(),
        actor: d.actor,
        action: d.action,
        target: d.target,
        ...(d.details ? { details: d.details } : {}),
      })),
      nextCursor: docs.length > limit ? page[page.length - 1]!._id : null,
    };
  }
}
