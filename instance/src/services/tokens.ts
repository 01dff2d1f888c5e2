/**
 * Instance access tokens: created, listed, re-scoped and deleted through the internal API; presented by clients as
 * `Authorization: Bearer <token>` on the public API.
 *
 * Format: `wai_<id>_<secret>` — `id` 16 hex chars (public, the token's handle), `secret` 43 base64url chars
 * (256 bits). Only SHA-256 of the whole token is stored; the plaintext is returned once at creation. Verification
 * looks the token up by id and compares hashes in constant time. A short in-process cache (invalidated on every
 * change made here) keeps verification off the database on hot paths.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Permission, Store, TokenDoc } from '../storage/store.js';
import { deleteToken, findToken, insertToken, listTokens, updateTokenPermissions } from '../storage/tokens.js';

export const PERMISSIONS = ['r', 'w', 'rw'] as const;

export interface TokenInfo {
  id: string;
  name: string;
  permissions: Permission;
  createdAt: string;
  updatedAt: string;
}

const TOKEN_RE = /^wai_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const CACHE_TTL_MS = 30_000;

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function info(doc: TokenDoc): TokenInfo {
  return {
    id: doc._id,
    name: doc.name,
    permissions: doc.permissions,
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
}

/** Token management and verification over the token storage, with a short in-process cache for verification. */
export class TokenService {
  private cache = new Map<string, { doc: TokenDoc | null; at: number }>();

  constructor(private readonly store: Store) {}

  /** Creates a token; the plaintext `token` is in this result only. */
  async create(name: string, permissions: Permission): Promise<TokenInfo & { token: string }> {
    const id = randomBytes(8).toString('hex');
    const token = `wai_${id}_${randomBytes(32).toString('base64url')}`;
    const now = new Date();
    const doc: TokenDoc = { _id: id, name, permissions, hash: hashToken(token), createdAt: now, updatedAt: now };
    await insertToken(this.store, doc);
    this.cache.delete(id);
    return { ...info(doc), token };
  }

  /** All tokens, oldest first, without secrets. */
  async list(): Promise<TokenInfo[]> {
    return (await listTokens(this.store)).map(info);
  }

  /** @throws AppError token_not_found */
  async get(id: string): Promise<TokenInfo> {
    const doc = await findToken(this.store, id);
    if (!doc) throw new AppError('token_not_found');
    return info(doc);
  }

  /** Changes a token's permissions; effective for the next request. @throws AppError token_not_found */
  async setPermissions(id: string, permissions: Permission): Promise<TokenInfo> {
    const doc = await updateTokenPermissions(this.store, id, permissions);
    this.cache.delete(id);
    if (!doc) throw new AppError('token_not_found');
    return info(doc);
  }

  /** Deletes a token; refused from the next request on. @throws AppError token_not_found */
  async delete(id: string): Promise<void> {
    const existed = await deleteToken(this.store, id);
    this.cache.delete(id);
    if (!existed) throw new AppError('token_not_found');
  }

  /** The token's record when `presented` is a valid token, else undefined. */
  async verify(presented: string): Promise<TokenInfo | undefined> {
    const m = TOKEN_RE.exec(presented);
    if (!m) return undefined;
    const id = m[1]!;
    let entry = this.cache.get(id);
    if (!entry || Date.now() - entry.at > CACHE_TTL_MS) {
      entry = { doc: await findToken(this.store, id), at: Date.now() };
      this.cache.set(id, entry);
    }
    if (!entry.doc) return undefined;
    const a = Buffer.from(hashToken(presented), 'hex');
    const b = Buffer.from(entry.doc.hash, 'hex');
    return a.length === b.length && timingSafeEqual(a, b) ? info(entry.doc) : undefined;
  }
}

/** Whether `have` grants `need` ('r' or 'w'). */
export function grants(have: Permission, need: 'r' | 'w'): boolean {
  return have === 'rw' || have === need;
}
