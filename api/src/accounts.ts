/**
 * Tenant accounts: registration with an argon2id password hash, login issuing a JWT access token
 * (jose, HS256, `iss`, `sub` = user id, `jti` = session id, `exp`), logout revoking that token's session, and
 * verification of presented tokens (signature, algorithm pinned to HS256 — `alg: none` and others are refused —
 * issuer, expiry, and a live session).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { hash as argonHash, verify as argonVerify } from '@node-rs/argon2';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { AppError } from './errors.js';
import { ensureOwnOrganisation, newOrgId } from './orgs/migrate.js';
import { isDuplicateKey, type ApiStore, type InstanceRights, type MemberDoc, type Role, type UserDoc } from './store.js';

export interface UserView {
  id: string;
  email: string;
  /** Minor currency units. */
  balanceMinor: number;
  currency: string;
  createdAt: string;
  /** The member's dashboard language (BCP 47: `en`, `ru`, `pt-BR`); absent until chosen. */
  locale?: Locale;
  /** The member's IANA time zone (`Europe/Moscow`); absent until chosen (the dashboard then uses the browser's). */
  timeZone?: string;
}

/** The dashboard languages the api accepts as a member's preference. */
export const LOCALES = ['en', 'ru', 'pt-BR'] as const;
export type Locale = (typeof LOCALES)[number];

/** A member's display preferences, kept on the user document (field `preferences`). */
export interface Preferences {
  locale?: Locale;
  timeZone?: string;
}

/** The user document with its optional preferences (older documents have none). */
type UserWithPrefs = UserDoc & { preferences?: Preferences };

/** Who is calling: the account, its session, and its membership as read for this request. */
export interface AuthContext {
  userId: string;
  sessionId: string;
  /** The caller's organisation: the owner of the wallet and the instances the caller acts on. */
  orgId: string;
  memberId: string;
  role: Role;
  /** The agent's rights per instance id (owners and admins have all rights on every instance: `orgs/access.ts`). */
  rights: Record<string, InstanceRights>;
  /** The account's email (lower-cased), for audit entries. */
  email: string;
}

/** argon2id hash of a password (OWASP parameters: m = 19 MiB, t = 2, p = 1). */
export function hashPassword(password: string): Promise<string> {
  return argonHash(password, { memoryCost: 19_456, timeCost: 2, parallelism: 1 });
}

/** A password hash compared against when the email is unknown, so both paths take the same time. */
const dummyHash = hashPassword(randomBytes(16).toString('hex'));

export class Accounts {
  private readonly key: Uint8Array;

  constructor(
    private readonly store: ApiStore,
    private readonly o: { jwtSecret: string; issuer: string; ttlS: number; currency: string },
  ) {
    this.key = new TextEncoder().encode(o.jwtSecret);
  }

  view(u: UserDoc): UserView {
    const prefs = (u as UserWithPrefs).preferences ?? {};
    return {
      id: u._id,
      email: u.email,
      balanceMinor: u.balanceMinor ?? 0,
      currency: this.o.currency,
      createdAt: u.createdAt.toISOString(),
      ...(prefs.locale ? { locale: prefs.locale } : {}),
      ...(prefs.timeZone ? { timeZone: prefs.timeZone } : {}),
    };
  }

  /**
   * Sets the given preferences (a field left out is kept; `null` clears it) and returns the updated user.
   * The values are validated by the route's schema (a known locale, an IANA time zone).
   * @throws AppError `unauthorized` when the account no longer exists.
   */
  async setPreferences(userId: string, p: { locale?: Locale | null; timeZone?: string | null }): Promise<UserDoc> {
    const set: Record<string, string> = {};
    const unset: Record<string, ''> = {};
    for (const key of ['locale', 'timeZone'] as const) {
      const v = p[key];
      if (v === undefined) continue;
      if (v === null) unset[`preferences.${key}`] = '';
      else set[`preferences.${key}`] = v;
    }
    const update = { ...(Object.keys(set).length ? { $set: set } : {}), ...(Object.keys(unset).length ? { $unset: unset } : {}) };
    if (Object.keys(update).length) await this.store.users.updateOne({ _id: userId }, update);
    return this.get(userId);
  }

  /** @throws AppError `email_taken` (409). */
  async register(email: string, password: string): Promise<UserView> {
    const user = await this.createUser(email, password);
    // The account's own organisation, with it as owner (a crash before this: the start-up migration does it).
    await ensureOwnOrganisation(this.store, user);
    return this.view(user);
  }

  /**
   * Inserts an account without an organisation yet (`orgId` absent: {@link ensureMember} or the start-up migration
   * gives it one, unless an accepted invitation attaches it first).
   * @throws AppError `email_taken` (409).
   */
  async createUser(email: string, password: string): Promise<UserDoc> {
    const user: UserDoc = {
      _id: `u_${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x')}`,
      email: email.trim().toLowerCase(),
      passwordHash: await hashPassword(password),
      createdAt: new Date(),
    };
    try {
      await this.store.users.insertOne(user);
    } catch (err) {
      if (isDuplicateKey(err)) throw new AppError('email_taken');
      throw err;
    }
    return user;
  }

  /**
   * The account's membership; an account without one gets an organisation of its own as owner: an account from
   * before organisations (migrated, same id), or one removed from its organisation (a new, empty one).
   */
  async ensureMember(user: UserDoc): Promise<MemberDoc> {
    const m = await this.store.members.findOne({ userId: user._id });
    if (m) return m;
    return ensureOwnOrganisation(this.store, user, user.orgId === undefined ? user._id : newOrgId());
  }

  /**
   * Checks the credentials; returns the user or undefined (the caller counts failures for throttling).
   */
  async checkCredentials(email: string, password: string): Promise<UserDoc | undefined> {
    const user = await this.store.users.findOne({ email: email.trim().toLowerCase() });
    const ok = await argonVerify(user?.passwordHash ?? (await dummyHash), password).catch(() => false);
    return user && ok ? user : undefined;
  }

  /** Issues an access token with its own session. */
  async issueToken(user: UserDoc): Promise<{ accessToken: string; tokenType: 'Bearer'; expiresIn: number }> {
    const jti = randomUUID();
    const now = new Date();
    await this.store.sessions.insertOne({
      _id: jti,
      userId: user._id,
      createdAt: now,
      expiresAt: new Date(now.getTime() + this.o.ttlS * 1000),
      revokedAt: null,
    });
    const accessToken = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(this.o.issuer)
      .setSubject(user._id)
      .setJti(jti)
      .setIssuedAt()
      .setExpirationTime(`${this.o.ttlS}s`)
      .sign(this.key);
    return { accessToken, tokenType: 'Bearer', expiresIn: this.o.ttlS };
  }

  /**
   * Verifies a presented access token.
   * @throws AppError `unauthorized` for anything but a valid, unexpired, unrevoked token of this issuer.
   */
  async verify(token: string): Promise<AuthContext> {
    let sub: string | undefined;
    let jti: string | undefined;
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: this.o.issuer,
        requiredClaims: ['sub', 'jti', 'exp'],
      });
      sub = payload.sub;
      jti = payload.jti;
    } catch (err) {
      const why = err instanceof joseErrors.JWTExpired ? 'The access token has expired; log in again.' : 'The access token is invalid.';
      throw new AppError('unauthorized', why);
    }
    return this.sessionContext(jti!, sub!, 'The access token was revoked (logged out); log in again.');
  }

  /**
   * Who is calling through session `sessionId` (of `userId` when given): the session must exist, be unrevoked and
   * unexpired, and its account still a member of an organisation.
   * @throws AppError `unauthorized` (with `revokedMessage` for a missing, revoked or expired session).
   */
  private async sessionContext(
    sessionId: string,
    userId: string | undefined,
    revokedMessage: string,
  ): Promise<AuthContext & { expiresAt: Date }> {
    // With the user known (a verified token), its membership is read alongside the session.
    const [session, found] = await Promise.all([
      this.store.sessions.findOne({ _id: sessionId }),
      userId === undefined ? undefined : this.store.members.findOne({ userId }),
    ]);
    if (!session || (userId !== undefined && session.userId !== userId) || session.revokedAt || session.expiresAt.getTime() <= Date.now())
      throw new AppError('unauthorized', revokedMessage);
    const sub = session.userId;
    let member = found === undefined ? await this.store.members.findOne({ userId: sub }) : found;
    if (!member) {
      // An account from before organisations that this replica's start-up migration has not reached yet.
      const u = await this.store.users.findOne({ _id: sub });
      if (u && u.orgId === undefined) member = await ensureOwnOrganisation(this.store, u);
    }
    // Removed from the organisation: its sessions are revoked too, this is the belt to those braces.
    if (!member) throw new AppError('unauthorized', 'You are no longer a member of the organisation; log in again.');
    return {
      userId: sub,
      sessionId,
      orgId: member.orgId,
      memberId: member._id,
      role: member.role,
      rights: member.rights ?? {},
      email: member.email,
      expiresAt: session.expiresAt,
    };
  }

  /** Revokes every session of `userId` (removed from its organisation): its tokens are refused from now on. */
  async revokeAll(userId: string): Promise<void> {
    await this.store.sessions.updateMany({ userId, revokedAt: null }, { $set: { revokedAt: new Date() } });
  }

  /**
   * The live session `sessionId` (of a WebSocket ticket: `gateway/ws-tickets.ts`) as the caller it stands for.
   * @returns its account, membership and expiry.
   * @throws AppError `unauthorized` when it does not exist, was revoked (logged out) or expired, or its account left
   *   the organisation.
   */
  session(sessionId: string): Promise<AuthContext & { expiresAt: Date }> {
    return this.sessionContext(sessionId, undefined, 'The access token was revoked (logged out) or expired; log in again.');
  }

  /** Revokes the session of the presented token (logout). */
  async revoke(sessionId: string): Promise<void> {
    await this.store.sessions.updateOne({ _id: sessionId }, { $set: { revokedAt: new Date() } });
  }

  /**
   * Removes the sessions that expired before `now` (their tokens no longer verify anyway). MongoDB does this itself
   * through the TTL index on `expiresAt`; FerretDB v1 has no TTL indexes, so the api also calls this periodically.
   * @returns how many were removed.
   */
  async sweepExpired(now = new Date()): Promise<number> {
    return (await this.store.sessions.deleteMany({ expiresAt: { $lte: now } })).deletedCount;
  }

  async get(userId: string): Promise<UserDoc> {
    const u = await this.store.users.findOne({ _id: userId });
    if (!u) throw new AppError('unauthorized', 'The account no longer exists.');
    return u;
  }
}
