/**
 * Who sends a message through the API: the token, and — for the main backend's gateway only — the team member on
 * whose behalf it sends. The gateway's own token (named `wacloud-gateway`, a name tenants cannot give their tokens:
 * the api refuses it) passes the member in the `x-wacloud-member` header (base64url of `{"id","name"}`); from any
 * other token the header is ignored, so an instance-token holder cannot claim to be a member.
 */
import type { Request } from 'express';
import { z } from 'zod';
import type { TokenInfo } from '../services/tokens.js';
import type { SentBy } from '../storage/store.js';

/** The name of the main backend's gateway token (`api/src/instance-client.ts`). */
export const GATEWAY_TOKEN_NAME = 'wacloud-gateway';
/** The header naming the member a gateway request is sent for. */
export const MEMBER_HEADER = 'x-wacloud-member';

const member = z.object({ id: z.string().min(1).max(100), name: z.string().max(300) }).strict();

/** The sender of a message sent by `token` with request `req` (see the module comment). */
export function senderOf(token: TokenInfo, req: Pick<Request, 'header'>): SentBy {
  const sentBy: SentBy = { tokenId: token.id, tokenName: token.name };
  const raw = req.header(MEMBER_HEADER);
  if (token.name !== GATEWAY_TOKEN_NAME || !raw) return sentBy;
  try {
    const parsed = member.safeParse(JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')));
    return parsed.success ? { ...sentBy, member: parsed.data } : sentBy;
  } catch {
    return sentBy;
  }
}
