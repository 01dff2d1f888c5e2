/**
 * The members of an organisation: list, roles (owner, admin, agent), per-instance rights of agents, removal.
 * Rules: owners and admins manage members; only owners make, change or remove owners (`owner_required`); the
 * organisation always keeps an owner (`last_owner`, also for an owner demoting or removing itself). Changes run under
 * the organisation's lock (`org:<id>`, `user-lock.ts`), so two owners demoting each other at once cannot leave none.
 * A removed member loses access at once: its membership goes, its sessions are revoked (every api replica's next
 * token check refuses them), and its open event streams close (`onAccessChanged`; so do streams of an instance an
 * agent may no longer read).
 */
import type { AuthContext } from '../accounts.js';
import type { AuditLog } from '../audit.js';
import { AppError } from '../errors.js';
import type { ApiStore, InstanceRights, MemberDoc, Role } from '../store.js';
import { withLock, type LockOptions } from '../user-lock.js';
import { requireAdmin } from './access.js';

export interface MemberView {
  id: string;
  userId: string;
  email: string;
  role: Role;
  /** Per instance id (agents; owners and admins have every right on every instance). */
  rights: Record<string, InstanceRights>;
  createdAt: string;
}

export function memberView(m: MemberDoc): MemberView {
  return { id: m._id, userId: m.userId, email: m.email, role: m.role, rights: m.rights ?? {}, createdAt: m.createdAt.toISOString() };
}

export class Members {
  constructor(
    private readonly store: ApiStore,
    private readonly audit: AuditLog,
    private readonly o: {
      /** Revokes every session of a removed member's account. */
      revokeSessions(userId: string): Promise<void>;
      /**
       * Called after a member's access shrank or ended (removal, rights or role change): re-checks open event streams
       * on this replica at once (other replicas within their re-check interval).
       */
      onAccessChanged?(userId: string): void;
      lock?: LockOptions;
    },
  ) {}

  /** The organisation's members, oldest first. */
  async list(auth: AuthContext): Promise<MemberView[]> {
    const docs = await this.store.members.find({ orgId: auth.orgId }).sort({ createdAt: 1, _id: 1 }).toArray();
    return docs.map(memberView);
  }

  /** @throws AppError `member_not_found` for an unknown id or another organisation's member. */
  private async member(auth: AuthContext, id: string): Promise<MemberDoc> {
    const m = await this.store.members.findOne({ _id: id });
    if (!m || m.orgId !== auth.orgId) throw new AppError('member_not_found');
    return m;
  }

  /** @throws AppError `last_owner` when `m` is the organisation's only owner. */
  private async keepAnOwner(m: MemberDoc): Promise<void> {
    if (m.role !== 'owner') return;
    const owners = await this.store.members.countDocuments({ orgId: m.orgId, role: 'owner' });
    if (owners <= 1) throw new AppError('last_owner');
  }

  private locked<T>(auth: AuthContext, fn: () => Promise<T>): Promise<T> {
    return withLock(this.store, `org:${auth.orgId}`, fn, this.o.lock);
  }

  /**
   * Sets member `id`'s role.
   * @throws AppError `role_required` (caller is an agent), `owner_required` (an admin touching owners),
   *   `member_not_found`, `last_owner` (demoting the only owner, itself included).
   */
  async setRole(auth: AuthContext, id: string, role: Role): Promise<MemberView> {
    requireAdmin(auth);
    const updated = await this.locked(auth, async () => {
      const m = await this.member(auth, id);
      if ((m.role === 'owner' || role === 'owner') && auth.role !== 'owner') throw new AppError('owner_required');
      if (m.role === role) return m;
      await this.keepAnOwner(m);
      await this.store.members.updateOne({ _id: id }, { $set: { role } });
      this.o.onAccessChanged?.(m.userId);
      await this.audit.record(auth.orgId, auth, 'member.role_changed', { type: 'member', id }, { email: m.email, from: m.role, to: role });
      return { ...m, role };
    });
    return memberView(updated);
  }

  /**
   * Sets member `id`'s rights on instance `instanceId` (all false: none). Rights of owners and admins are kept but
   * do not matter while their role gives them all.
   * @throws AppError `role_required`, `member_not_found`, `instance_not_found` (not an instance of this organisation).
   */
  async setRights(auth: AuthContext, id: string, instanceId: string, rights: InstanceRights): Promise<MemberView> {
    requireAdmin(auth);
    const inst = await this.store.instances.findOne({ _id: instanceId, deletedAt: null });
    if (!inst || inst.userId !== auth.orgId || inst.deletingAt) throw new AppError('instance_not_found');
    const updated = await this.locked(auth, async () => {
      const m = await this.member(auth, id);
      const none = !rights.canRead && !rights.canWrite && !rights.canManageChats;
      // Writing or sending needs reading: canWrite / canManageChats without canRead would be an instance the agent
      // cannot see, so they imply it.
      const stored: InstanceRights = { ...rights, canRead: rights.canRead || rights.canWrite || rights.canManageChats };
      await this.store.members.updateOne(
        { _id: id },
        none ? { $unset: { [`rights.${instanceId}`]: '' } } : { $set: { [`rights.${instanceId}`]: stored } },
      );
      this.o.onAccessChanged?.(m.userId);
      await this.audit.record(
        auth.orgId,
        auth,
        'member.rights_changed',
        { type: 'member', id },
        { email: m.email, instanceId, from: m.rights?.[instanceId] ?? null, to: none ? null : stored },
      );
      const next = { ...(m.rights ?? {}) };
      if (none) delete next[instanceId];
      else next[instanceId] = stored;
      return { ...m, rights: next };
    });
    return memberView(updated);
  }

  /**
   * Removes member `id` (a member may remove itself, unless it is the last owner). Its account stays, without an
   * organisation (its next login gives it a new one of its own); its sessions are revoked at once.
   * @throws AppError `role_required` (an agent removing someone else), `owner_required`, `member_not_found`,
   *   `last_owner`.
   */
  async remove(auth: AuthContext, id: string): Promise<void> {
    if (id !== auth.memberId) requireAdmin(auth);
    const m = await this.locked(auth, async () => {
      const m = await this.member(auth, id);
      if (m.role === 'owner' && auth.role !== 'owner') throw new AppError('owner_required');
      await this.keepAnOwner(m);
      await this.store.members.deleteOne({ _id: id });
      await this.store.users.updateOne({ _id: m.userId }, { $set: { orgId: null } });
      return m;
    });
    await this.o.revokeSessions(m.userId);
    this.o.onAccessChanged?.(m.userId);
    await this.audit.record(auth.orgId, auth, 'member.removed', { type: 'member', id }, { email: m.email, role: m.role });
  }
}
