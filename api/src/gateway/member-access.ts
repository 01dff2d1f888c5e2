/**
 * The gateway's rights check for members (requests with an access token; instance tokens are judged by the instance
 * itself). Owners and admins pass; an agent needs, on the instance:
 * - any request: `canRead` — without it the instance does not exist for the agent (404 `instance_not_found`);
 * - sending and any other change (a method other than GET/HEAD): `canWrite` (403 `right_required`);
 * - changes under `/v1/chats/`: `canManageChats` (403 `right_required`);
 * - the WhatsApp session itself (`/v1/session/…`: log in, QR, log out) and `/v1/screenshot`: owner or admin (403
 *   `role_required`) — connecting the number is the admins'.
 */
import type { AuthContext } from '../accounts.js';
import { requireAdmin, requireRight, isAdmin, rightsOn, type Right } from '../orgs/access.js';

/** What a gateway request to instance path `path` (`/v1/…`) with `method` needs from an agent. */
export function gatewayNeed(method: string, path: string): Right | 'admin' {
  if (path.startsWith('/v1/session/') || path === '/v1/screenshot') return 'admin';
  const reading = method === 'GET' || method === 'HEAD';
  if (reading) return 'canRead';
  return path.startsWith('/v1/chats/') ? 'canManageChats' : 'canWrite';
}

/**
 * Checks that the member `auth` may send this gateway request to instance `id`.
 * @throws AppError `instance_not_found` (404, no canRead), `right_required` (403), `role_required` (403).
 */
export function checkGatewayAccess(auth: AuthContext, id: string, method: string, path: string): void {
  if (isAdmin(auth)) return;
  const need = gatewayNeed(method, path);
  requireRight(auth, id, 'canRead');
  if (need === 'admin') requireAdmin(auth);
  else requireRight(auth, id, need);
}

/** Whether the member `auth` may still read instance `id` (its open event streams close when not). */
export function mayRead(auth: AuthContext, id: string): boolean {
  return rightsOn(auth, id).canRead;
}

/**
 * The header naming the member a gateway request is sent for; the instance believes it only from the gateway's own
 * token (`instance/src/http/sender.ts`), and the gateway drops it from what clients send.
 */
export const MEMBER_HEADER = 'x-wacloud-member';

/** The value of {@link MEMBER_HEADER} for `auth`: base64url of `{"id","name"}` (the name: the member's email). */
export function memberHeader(auth: Pick<AuthContext, 'memberId' | 'email'>): string {
  return Buffer.from(JSON.stringify({ id: auth.memberId, name: auth.email })).toString('base64url');
}
