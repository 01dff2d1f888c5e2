/**
 * What a member may do. Owners and admins may do everything on every instance of their organisation (admins cannot
 * make, change or remove owners: `members.ts`); agents hold per-instance rights:
 * - `canRead`: the instance exists for them (without it: 404 `instance_not_found`, like another organisation's);
 * - `canWrite`: send through it (403 `right_required` without it);
 * - `canManageChats`: assignment, transfer and status of its conversations (403 `right_required` without it).
 * Managing instances, tokens, webhooks, the wallet, members and the audit log needs owner or admin (403
 * `role_required`).
 */
import type { AuthContext } from '../accounts.js';
import { AppError } from '../errors.js';
import type { InstanceRights } from '../store.js';

export type Right = keyof InstanceRights;
export const RIGHTS: readonly Right[] = ['canRead', 'canWrite', 'canManageChats'];
const ALL: InstanceRights = { canRead: true, canWrite: true, canManageChats: true };
const NONE: InstanceRights = { canRead: false, canWrite: false, canManageChats: false };

/** Whether the caller is an owner or an admin of its organisation. */
export function isAdmin(auth: Pick<AuthContext, 'role'>): boolean {
  return auth.role === 'owner' || auth.role === 'admin';
}

/** @throws AppError `role_required` (403) unless the caller is an owner or admin. */
export function requireAdmin(auth: Pick<AuthContext, 'role'>): void {
  if (!isAdmin(auth)) throw new AppError('role_required');
}

/** The caller's rights on instance `id` (of its organisation; the instance's ownership is checked elsewhere). */
export function rightsOn(auth: Pick<AuthContext, 'role' | 'rights'>, id: string): InstanceRights {
  if (isAdmin(auth)) return ALL;
  return { ...NONE, ...(auth.rights[id] ?? {}) };
}

/**
 * Checks the caller's right on instance `id`. Without `canRead` the instance does not exist for the caller.
 * @throws AppError `instance_not_found` (404) without canRead; `right_required` (403, details `{ right }`) without
 *   the asked right.
 */
export function requireRight(auth: Pick<AuthContext, 'role' | 'rights'>, id: string, right: Right): void {
  const r = rightsOn(auth, id);
  if (!r.canRead) throw new AppError('instance_not_found');
  if (!r[right]) throw new AppError('right_required', `You need ${right} on this instance; ask an owner or admin.`, { right });
}
