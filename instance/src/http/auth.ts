/**
 * Authentication of the instance's two APIs: instance tokens with their grants on the public port, the internal key
 * (compared in constant time) on the internal port.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { bearer, type Authenticate } from '@wacloud/kit';
import { AppError } from '../errors.js';
import { grants, type TokenInfo, type TokenService } from '../services/tokens.js';

/** Public API scopes: `none` (no token), `any` (any valid token), `r`/`w` (a token granting it). */
export type PublicScope = 'none' | 'any' | 'r' | 'w';

/** Authentication for the public API: instance tokens and their grants. Resolves the token (undefined for `none`). */
export function tokenAuth(tokens: TokenService): Authenticate {
  return async (req, scope): Promise<TokenInfo | undefined> => {
    if (scope === 'none') return undefined;
    const presented = bearer(req);
    if (!presented) throw new AppError('unauthorized', 'Send an instance token as "Authorization: Bearer <token>".');
    const token = await tokens.verify(presented);
    if (!token) throw new AppError('unauthorized', 'The token is invalid or was deleted.');
    if ((scope === 'r' || scope === 'w') && !grants(token.permissions, scope)) {
      throw new AppError('forbidden', `This endpoint needs the "${scope}" permission; the token has "${token.permissions}".`);
    }
    if (scope !== 'any' && scope !== 'r' && scope !== 'w') throw new AppError('forbidden');
    return token;
  };
}

/** Authentication for the internal API (`internal` scope): the internal key, compared in constant time. */
export function internalKeyAuth(internalKey: string): Authenticate {
  const expected = createHash('sha256').update(internalKey).digest();
  return async (req, scope) => {
    if (scope === 'none') return undefined;
    const presented = bearer(req);
    const given = createHash('sha256')
      .update(presented ?? '')
      .digest();
    if (!presented || !timingSafeEqual(given, expected))
      throw new AppError('unauthorized', 'Send the internal API key as "Authorization: Bearer <key>".');
    return undefined;
  };
}
