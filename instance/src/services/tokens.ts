/**
 * Instance access tokens: created, listed, re-scoped and deleted through the internal API; presented by clients as
 * `Authorization: Bearer <token>` on the public API.
 *
 * Format: `wai_<id>_<secret>` — `id` 16 hex chars (public, the token's handle), `secret` 43 base64url chars
 * (256 bits). Only SHA-256 of the whole token is stored; the plaintext is returned once at creation. Verification
 * looks the token up by id and compares hashes in constant time. A short in-process cache (invalidated on every
 * change made here) keeps verification off the database on hot paths: found records for 30 s (LRU, at most
 * {@link CACHE_MAX} ids), unknown ids for 30 s too (LRU, at most {@link NEGATIVE_CACHE_MAX}), so neither a flood of
 * distinct bogus tokens grows memory without bound nor a repeated one costs a database read each time.
 *
 * Under load verification never waits for the database on a token in steady use: concurrent verifications of one id
 * share one read, and a found record past half its 30 s is read again in the background while it still answers (a
 * record is never older than 30 s). Without this, every 30 s all the requests in flight with a busy token each read
 * it at once, queued behind the instance's own queries (issue 18's gateway tail, BENCHMARKS.md).
 *
 * Revocation: {@link TokenService.onChange} listeners hear every delete and permission change made here at once, so
 * open streams authenticated with that token can be closed (see `http/events-ws.ts`).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
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
/** How long a token's record (or its absence) is reused, ms (the default of `TokenService`'s `cacheTtlMs`). */
export const CACHE_TTL_MS = 30_000;
/** Most token ids whose record is cached (least recently used dropped first). */
export const CACHE_MAX = 10_000;
/** Most unknown token ids remembered as unknown (least recently used dropped first), each for {@link CACHE_TTL_MS}. */
export const NEGATIVE_CACHE_MAX = 5_000;

/** A change to token `id` made through this service: deleted, or its permissions set to `permissions`. */
export type TokenChange = { id: string; deleted: true } | { id: string; deleted: false; permissions: Permission };

/** A Map used as an LRU with per-entry age: `get` refreshes recency; `set` evicts the oldest entries past `max`. */
class LruCache<V> {
  readonly #map = new Map<string, { value: V; at: number }>();
  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
  ) {}
  get size(): number {
    return this.#map.size;
  }
  /**
   * The value stored under `key` when younger than the TTL, with its age in ms (and marks it most recently used),
   * else undefined.
   */
  get(key: string): { value: V; ageMs: number } | undefined {
    const e = this.#map.get(key);
    if (!e) return undefined;
    this.#map.delete(key);
    const ageMs = Date.now() - e.at;
    if (ageMs > this.ttlMs) return undefined;
    this.#map.set(key, e);
    return { value: e.value, ageMs };
  }
  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, { value, at: Date.now() });
    while (this.#map.size > this.max) this.#map.delete(this.#map.keys().next().value!);
  }
  delete(key: string): void {
    this.#map.delete(key);
  }
}

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
  private readonly found: LruCache<TokenDoc>;
  private readonly unknown: LruCache<true>;
  private readonly cacheTtlMs: number;
  private readonly changes = new EventEmitter<{ change: [TokenChange] }>();
  /** Bumped on every change made here: a read that started before a change must not refill the cache after it. */
  #generation = 0;
  /** Reads of token records under way, by id, with the generation they began in (see {@link read}). */
  readonly #reading = new Map<string, { generation: number; read: Promise<TokenDoc | null> }>();

  /** `o.cacheTtlMs`: how long a record or an unknown id is reused, ms (default {@link CACHE_TTL_MS}; tests shorten it). */
  constructor(
    private readonly store: Store,
    o: { cacheTtlMs?: number } = {},
  ) {
    this.cacheTtlMs = o.cacheTtlMs ?? CACHE_TTL_MS;
    this.found = new LruCache<TokenDoc>(CACHE_MAX, this.cacheTtlMs);
    this.unknown = new LruCache<true>(NEGATIVE_CACHE_MAX, this.cacheTtlMs);
    this.changes.setMaxListeners(0);
  }

  /** Calls `listener` synchronously after every delete or permission change made here; returns the unsubscribe function. */
  onChange(listener: (change: TokenChange) => void): () => void {
    this.changes.on('change', listener);
    return () => this.changes.off('change', listener);
  }

  /** Entries now in the verification cache: `positive` found records, `negative` ids remembered as unknown. */
  cacheSize(): { positive: number; negative: number } {
    return { positive: this.found.size, negative: this.unknown.size };
  }

  /** A counter bumped on every create, delete and permission change made here (compare to see whether one happened). */
  generation(): number {
    return this.#generation;
  }

  private forget(id: string): void {
    this.#generation++;
    this.found.delete(id);
    this.unknown.delete(id);
  }

  /** Creates a token; the plaintext `token` is in this result only. */
  async create(name: string, permissions: Permission): Promise<TokenInfo & { token: string }> {
    const id = randomBytes(8).toString('hex');
    const token = `wai_${id}_${randomBytes(32).toString('base64url')}`;
    const now = new Date();
    const doc: TokenDoc = { _id: id, name, permissions, hash: hashToken(token), createdAt: now, updatedAt: now };
    await insertToken(this.store, doc);
    this.forget(id);
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
    this.forget(id);
    if (!doc) throw new AppError('token_not_found');
    this.changes.emit('change', { id, deleted: false, permissions: doc.permissions });
    return info(doc);
  }

  /** Deletes a token; refused from the next request on. @throws AppError token_not_found */
  async delete(id: string): Promise<void> {
    const existed = await deleteToken(this.store, id);
    this.forget(id);
    if (!existed) throw new AppError('token_not_found');
    this.changes.emit('change', { id, deleted: true });
  }

  /**
   * The token's record when `presented` is a valid token, else undefined. Malformed tokens cost nothing; a well-formed
   * one costs at most one database read per id per 15–30 s, found or not, however many requests present it at once
   * (see the file's docstring). @throws the driver's error on a failed read.
   */
  async verify(presented: string): Promise<TokenInfo | undefined> {
    const m = TOKEN_RE.exec(presented);
    if (!m) return undefined;
    const id = m[1]!;
    if (this.unknown.get(id)) return undefined;
    const hit = this.found.get(id);
    // Past half its time the record is read again in the background; a failed read leaves it to expire.
    if (hit && hit.ageMs >= this.cacheTtlMs / 2) this.read(id).catch(() => undefined);
    const doc = hit?.value ?? (await this.read(id));
    if (!doc) return undefined;
    const a = Buffer.from(hashToken(presented), 'hex');
    const b = Buffer.from(doc.hash, 'hex');
    return a.length === b.length && timingSafeEqual(a, b) ? info(doc) : undefined;
  }

  /**
   * Reads token `id`'s record and caches what it found (the record, or the id as unknown) — unless a change was made
   * here meanwhile: then the caller uses the answer once and nothing is cached. Callers arriving while a read begun
   * since the last change is under way share it.
   */
  private read(id: string): Promise<TokenDoc | null> {
    const under = this.#reading.get(id);
    if (under && under.generation === this.#generation) return under.read;
    const generation = this.#generation;
    const read = findToken(this.store, id).then((doc) => {
      if (generation === this.#generation) {
        if (doc) this.found.set(id, doc);
        else {
          this.found.delete(id);
          this.unknown.set(id, true);
        }
      }
      return doc;
    });
    const entry = { generation, read };
    this.#reading.set(id, entry);
    const done = () => void (this.#reading.get(id) === entry && this.#reading.delete(id));
    read.then(done, done);
    return read;
  }
}

/** Whether `have` grants `need` ('r' or 'w'). */
export function grants(have: Permission, need: 'r' | 'w'): boolean {
  return have === 'rw' || have === need;
}
