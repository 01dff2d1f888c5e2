/**
 * Invitations to an organisation. An owner or admin invites an email with a role; the answer carries the invitation
 * link's token once (no mail server: the inviter passes the link on). Only the token's SHA-256 is stored. A token is
 * single-use (its use is a unique insert into `invitationClaims`, atomic on FerretDB v1 too) and expires
 * (`INVITATION_TTL_S`, 7 days by default).
 *
 * Accepting (`POST /v1/invitations/accept {token, password}`, no access token needed) either registers the invitee
 * (no account with that email yet: the password becomes theirs) or attaches their existing account (the password
 * must be theirs), and answers like a login. An existing account leaves its own organisation only when that one is
 * empty — no other member, no live instance, no money — else 409 `organisation_not_empty`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Accounts, AuthContext } from '../accounts.js';
import type { AuditLog } from '../audit.js';
import { AppError } from '../errors.js';
import { isDuplicateKey, type ApiStore, type InvitationDoc, type MemberDoc, type Role, type UserDoc } from '../store.js';
import type { Wallet } from '../wallet.js';
import { requireAdmin } from './access.js';
import { newMemberId } from './migrate.js';

export interface InvitationView {
  id: string;
  email: string;
  role: Role;
  createdAt: string;
  expiresAt: string;
}

/** SHA-256 (hex) of an invitation token: its stored `_id`. */
export function invitationKey(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function view(d: InvitationDoc): InvitationView {
  return { id: d.publicId, email: d.email, role: d.role, createdAt: d.createdAt.toISOString(), expiresAt: d.expiresAt.toISOString() };
}

export class Invitations {
  constructor(
    private readonly store: ApiStore,
    private readonly accounts: Accounts,
    private readonly wallet: Wallet,
    private readonly audit: AuditLog,
    private readonly o: { ttlS: number },
  ) {}

  /**
   * Invites `email` with `role`.
   * @returns the invitation with its token (shown this once) and the dashboard path that accepts it.
   * @throws AppError `role_required` (an agent), `owner_required` (an admin inviting an owner), `already_member`.
   */
  async invite(auth: AuthContext, email: string, role: Role): Promise<InvitationView & { token: string; acceptPath: string }> {
    requireAdmin(auth);
    if (role === 'owner' && auth.role !== 'owner') throw new AppError('owner_required');
    if (await this.store.members.findOne({ orgId: auth.orgId, email })) throw new AppError('already_member');
    const token = `wainv_${randomBytes(32).toString('base64url')}`;
    const now = new Date();
    const doc: InvitationDoc = {
      _id: invitationKey(token),
      publicId: `inv_${randomBytes(9).toString('hex')}`,
      orgId: auth.orgId,
      email,
      role,
      invitedBy: auth.memberId,
      createdAt: now,
      expiresAt: new Date(now.getTime() + this.o.ttlS * 1000),
      acceptedAt: null,
      revokedAt: null,
    };
    await this.store.invitations.insertOne(doc);
    await this.audit.record(auth.orgId, auth, 'member.invited', { type: 'invitation', id: doc.publicId }, { email, role });
    return { ...view(doc), token, acceptPath: `/join?token=${encodeURIComponent(token)}` };
  }

  /** The organisation's pending invitations (not accepted, revoked or expired), newest first. */
  async list(auth: AuthContext): Promise<InvitationView[]> {
    requireAdmin(auth);
    const docs = await this.store.invitations
      .find({ orgId: auth.orgId, acceptedAt: null, revokedAt: null, expiresAt: { $gt: new Date() } })
      .sort({ createdAt: -1 })
      .toArray();
    return docs.map(view);
  }

  /** Revokes a pending invitation. @throws AppError `role_required`, `invitation_not_found`. */
  async revoke(auth: AuthContext, publicId: string): Promise<void> {
    requireAdmin(auth);
    const d = await this.store.invitations.findOne({ publicId });
    if (!d || d.orgId !== auth.orgId || d.revokedAt || d.acceptedAt) throw new AppError('invitation_not_found');
    await this.store.invitations.updateOne({ _id: d._id }, { $set: { revokedAt: new Date() } });
    await this.audit.record(auth.orgId, auth, 'invitation.revoked', { type: 'invitation', id: publicId }, { email: d.email });
  }

  /**
   * Accepts the invitation of `token`: registers the invitee with `password`, or attaches its existing account when
   * `checkPassword` confirms the password.
   * @returns the account, now a member.
   * @throws AppError `invitation_not_found` (unknown or revoked), `invitation_expired` (410), `invitation_used` (409),
   *   `invalid_credentials` (an existing account, wrong password), `already_member`, `organisation_not_empty`.
   */
  async accept(token: string, password: string, checkPassword: (email: string) => Promise<UserDoc | undefined>): Promise<UserDoc> {
    const inv = await this.store.invitations.findOne({ _id: invitationKey(token) });
    if (!inv || inv.revokedAt) throw new AppError('invitation_not_found');
    if (inv.acceptedAt || (await this.store.invitationClaims.findOne({ _id: inv._id }))) throw new AppError('invitation_used');
    if (inv.expiresAt.getTime() <= Date.now()) throw new AppError('invitation_expired');
    let user = await this.store.users.findOne({ email: inv.email });
    if (user) {
      user = (await checkPassword(inv.email)) ?? null;
      if (!user) throw new AppError('invalid_credentials');
      const current = await this.store.members.findOne({ userId: user._id });
      if (current?.orgId === inv.orgId) throw new AppError('already_member');
      if (current) await this.requireEmpty(current);
    }
    // The one use: a unique insert (two accepts at once: one wins).
    try {
      await this.store.invitationClaims.insertOne({ _id: inv._id, userId: user?._id ?? '', claimedAt: new Date() });
    } catch (err) {
      if (isDuplicateKey(err)) throw new AppError('invitation_used');
      throw err;
    }
    if (!user) {
      try {
        user = await this.accounts.createUser(inv.email, password);
      } catch (err) {
        await this.store.invitationClaims.deleteOne({ _id: inv._id }); // the email was taken meanwhile: not used
        throw err;
      }
    } else {
      await this.store.members.deleteMany({ userId: user._id }); // its empty organisation of its own
    }
    const member: MemberDoc = {
      _id: newMemberId(),
      orgId: inv.orgId,
      userId: user._id,
      email: inv.email,
      role: inv.role,
      rights: {},
      createdAt: new Date(),
    };
    await this.store.members.insertOne(member);
    await this.store.users.updateOne({ _id: user._id }, { $set: { orgId: inv.orgId } });
    await this.store.invitations.updateOne({ _id: inv._id }, { $set: { acceptedAt: new Date() } });
    await this.audit.record(
      inv.orgId,
      { memberId: member._id, userId: user._id, email: inv.email },
      'invitation.accepted',
      { type: 'invitation', id: inv.publicId },
      { email: inv.email, role: inv.role, memberId: member._id },
    );
    return { ...user, orgId: inv.orgId };
  }

  /** @throws AppError `organisation_not_empty` unless `m`'s organisation has no other member, instance or money. */
  private async requireEmpty(m: MemberDoc): Promise<void> {
    const [others, instances, balance] = await Promise.all([
      this.store.members.countDocuments({ orgId: m.orgId, _id: { $ne: m._id } }),
      this.store.instances.countDocuments({ userId: m.orgId, deletedAt: null }),
      this.wallet.balance(m.orgId).catch(() => 0),
    ]);
    if (others > 0 || instances > 0 || balance !== 0) throw new AppError('organisation_not_empty');
  }
}
