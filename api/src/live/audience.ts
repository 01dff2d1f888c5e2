/**
 * Who receives a live event ({@link LiveAudience}), judged with the member's current rights: never another
 * organisation's members; owners and admins everything of theirs; agents only events of instances they may read
 * (`canRead`), not `adminsOnly` ones, and of a private conversation only when they are its assignee.
 */
import type { AuthContext } from '../accounts.js';
import { isAdmin, rightsOn } from '../orgs/access.js';
import type { LiveAudience } from './live-log.js';

/** Whether member `auth` may receive an event for `audience`. */
export function entitled(auth: Pick<AuthContext, 'orgId' | 'role' | 'rights' | 'memberId'>, audience: LiveAudience): boolean {
  if (audience.orgId !== auth.orgId) return false;
  if (isAdmin(auth)) return true;
  if (audience.adminsOnly) return false;
  if (audience.instanceId !== undefined && !rightsOn(auth, audience.instanceId).canRead) return false;
  if (audience.privateTo !== undefined) return audience.privateTo === auth.memberId;
  return true;
}

/** Whether what decides `a`'s audience (organisation, role, rights) is the same in `b`. */
export function sameAccess(a: Pick<AuthContext, 'orgId' | 'role' | 'rights'>, b: Pick<AuthContext, 'orgId' | 'role' | 'rights'>): boolean {
  if (a.orgId !== b.orgId || a.role !== b.role) return false;
  const keys = new Set([...Object.keys(a.rights), ...Object.keys(b.rights)]);
  for (const k of keys) {
    const x = a.rights[k];
    const y = b.rights[k];
    if (Boolean(x?.canRead) !== Boolean(y?.canRead) || Boolean(x?.canWrite) !== Boolean(y?.canWrite)) return false;
    if (Boolean(x?.canManageChats) !== Boolean(y?.canManageChats)) return false;
  }
  return true;
}
