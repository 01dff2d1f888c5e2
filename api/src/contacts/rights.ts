/**
 * Who sees and edits which contact (issue 16 §6). Owners and admins: every contact of the organisation. An agent sees
 * the contacts linked to an instance it can read, and the contacts linked to no instance (imported or typed in); it
 * edits a contact when it can write through one of the contact's instances — for a contact linked to no instance,
 * through any instance. A contact an agent cannot see is a 404 `contact_not_found`, like one of another organisation.
 */
import type { AuthContext } from '../accounts.js';
import { AppError } from '../errors.js';
import { isAdmin } from '../orgs/access.js';
import type { ContactDoc } from './store.js';

export type Caller = Pick<AuthContext, 'orgId' | 'role' | 'rights' | 'memberId' | 'userId' | 'email'>;

/** Instance ids the caller can read (undefined: all, for owners and admins). */
export function readableInstances(auth: Caller): string[] | undefined {
  if (isAdmin(auth)) return undefined;
  return Object.entries(auth.rights)
    .filter(([, r]) => r.canRead || r.canWrite || r.canManageChats)
    .map(([id]) => id);
}

/** The query filter of the contacts `auth` sees (always within its organisation). */
export function visibleFilter(auth: Caller): Record<string, unknown> {
  const readable = readableInstances(auth);
  return readable ? { orgId: auth.orgId, access: { $in: [...readable, '-'] } } : { orgId: auth.orgId };
}

/** Whether `auth` sees `c`. */
export function canSee(auth: Caller, c: Pick<ContactDoc, 'orgId' | 'instanceIds'>): boolean {
  if (c.orgId !== auth.orgId) return false;
  const readable = readableInstances(auth);
  return !readable || c.instanceIds.length === 0 || c.instanceIds.some((i) => readable.includes(i));
}

/** Whether `auth` may edit `c` (it sees it). */
export function canEdit(auth: Caller, c: Pick<ContactDoc, 'orgId' | 'instanceIds'>): boolean {
  if (!canSee(auth, c)) return false;
  if (isAdmin(auth)) return true;
  const writable = Object.entries(auth.rights)
    .filter(([, r]) => r.canWrite)
    .map(([id]) => id);
  return c.instanceIds.length === 0 ? writable.length > 0 : c.instanceIds.some((i) => writable.includes(i));
}

/** @throws AppError `contact_not_found` (404) unless `auth` sees `c`. */
export function requireSee<T extends Pick<ContactDoc, 'orgId' | 'instanceIds'>>(auth: Caller, c: T | null): T {
  if (!c || !canSee(auth, c)) throw new AppError('contact_not_found');
  return c;
}

/**
 * @throws AppError `contact_not_found` (404) unless `auth` sees `c`; `right_required` (403, details `{right:
 *   'canWrite'}`) unless it may edit it.
 */
export function requireEdit<T extends Pick<ContactDoc, 'orgId' | 'instanceIds'>>(auth: Caller, c: T | null): T {
  const seen = requireSee(auth, c);
  if (!canEdit(auth, seen))
    throw new AppError('right_required', 'Editing this contact needs canWrite on one of its instances; ask an owner or admin.', {
      right: 'canWrite',
    });
  return seen;
}

/** @throws AppError `right_required` (403) unless `auth` may create contacts: an admin, or canWrite on an instance. */
export function requireCreate(auth: Caller): void {
  if (isAdmin(auth) || Object.values(auth.rights).some((r) => r.canWrite)) return;
  throw new AppError('right_required', 'Creating contacts needs canWrite on an instance; ask an owner or admin.', { right: 'canWrite' });
}
