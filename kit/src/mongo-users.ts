/**
 * One database user per instance, limited to the instance's own database, created and dropped by whoever holds the
 * server's admin credential (the api for the process and docker providers, the operator on Kubernetes).
 *
 * - {@link MongoDatabaseUsers}: MongoDB's own users — `createUser` / `updateUser` / `dropUser` on the instance's
 *   database with the single role `readWrite` on that database (production: a MongoDB server with authentication).
 * - `FerretPostgresDatabaseUsers` (`@wacloud/kit/ferretdb-pg-users`): FerretDB v1 on PostgreSQL, where each MongoDB
 *   database is a PostgreSQL schema and the client's credentials are PostgreSQL's — a PostgreSQL role owning the
 *   instance's schema (the test server that enforces the restriction).
 * - {@link SharedDatabaseCredentials}: no per-instance user, for servers that cannot authorise per database (FerretDB
 *   on SQLite): every instance gets the server URI naming its database; it is logged once as a warning.
 * - {@link detectDatabaseUsers}: picks one of the above from the server's `buildInfo`.
 *
 * Passwords come from the caller (random, or derived from a secret) and are never logged; the URIs returned carry
 * them, so callers store those only where the instance needs them.
 *
 * Only users wacloud made are changed or dropped: each carries {@link INSTANCE_USER_MARK} (MongoDB: in its
 * `customData`; PostgreSQL: as the role's comment). A user of that name without it is refused by `ensure` and left
 * alone by `drop` — unless it holds the caller's stored password (made before users were marked): then it is marked.
 *
 * The MongoDB driver (and `pg`, through `ferretdb-pg-users`) is imported only when a server is first contacted: a
 * process that gives instances shared credentials (`off`) never loads it (~13 MiB of resident memory in the operator).
 */
import { randomBytes } from 'node:crypto';
import type { Document, MongoClient } from 'mongodb';
import type { Logger } from 'pino';
import { isScramSha256Password } from './scram.js';

/** What marks a database user as made by wacloud (see the module comment; docs/database-users.md). */
export const INSTANCE_USER_MARK = 'wacloud: instance database user';

/**
 * Rounds of an `ensure` against a user that someone else drops meanwhile (another instance's finalizer freeing the
 * same name): created again each round, refused after the last.
 */
export const ENSURE_ATTEMPTS = 3;

/** The database user of one instance. */
export interface DatabaseUser {
  /** The only database the user may read and write. */
  db: string;
  /** User name (≤ 63 characters of `[A-Za-z0-9_-]`; the database name is a good one). */
  username: string;
  /** The user's password (never logged). */
  password: string;
}

/** How instances authenticate to their database; see the module comment. */
export type DatabaseUsersKind = 'mongodb' | 'ferretdb-postgresql' | 'shared';

/** Creates and drops the database users of instances. Implementations are safe to call concurrently. */
export interface DatabaseUsers {
  readonly kind: DatabaseUsersKind;
  /**
   * Makes `user` exist with this password and `readWrite` on `user.db` only (created, or its password and roles set
   * when it exists), and returns the `MONGODB_URI` the instance gets: `serverUri`'s hosts and options with the user's
   * credentials and database `user.db`.
   * @throws Error when the server refuses or cannot be reached, or a user of that name exists that wacloud did not
   *   make (module comment) — the message never contains the password.
   */
  ensure(user: DatabaseUser): Promise<string>;
  /**
   * Drops the user (a missing one is fine, and so is one wacloud did not make: left as it is); its open connections
   * are closed where the server allows.
   * @throws Error when the server refuses or cannot be reached.
   */
  drop(user: Pick<DatabaseUser, 'db' | 'username'>): Promise<void>;
  /** Closes the admin connections. */
  close(): Promise<void>;
}

/** Server selection and socket timeouts of the admin connection, ms. */
const SERVER_SELECTION_MS = 10_000;
const SOCKET_MS = 20_000;

/** A new database password: 24 random bytes, base64url (32 characters, safe in a URI without escaping). */
export function newDatabasePassword(): string {
  return randomBytes(24).toString('base64url');
}

/** scheme, userinfo with its `@`, hosts, `/db`, `?query` */
const URI = /^(mongodb(?:\+srv)?:\/\/)([^@/?#]*@)?([^/?#]+)(\/[^?#]*)?(\?[^#]*)?$/;

/**
 * `serverUri` (`mongodb://[admin:pw@]h1,h2/[db]?opts`, multi-host allowed) with other credentials and a database:
 * `mongodb://<user>:<pw>@h1,h2/<db>?opts` where `auth` replaces `authSource`, `authMechanism` and
 * `authMechanismProperties` of `opts`. Without `credentials` the URI carries none.
 * @throws Error when `serverUri` is not a `mongodb://` or `mongodb+srv://` URI.
 */
export function mongoUriFor(
  serverUri: string,
  db: string,
  credentials?: { username: string; password: string },
  auth: Record<string, string> = {},
): string {
  const m = URI.exec(serverUri.trim());
  if (!m) throw new Error('the MongoDB URI must be a mongodb:// or mongodb+srv:// URI');
  const params = new URLSearchParams((m[5] ?? '').slice(1));
  for (const k of ['authSource', 'authMechanism', 'authMechanismProperties']) params.delete(k);
  for (const [k, v] of Object.entries(auth)) params.set(k, v);
  const query = params.toString();
  const userinfo = credentials ? `${encodeURIComponent(credentials.username)}:${encodeURIComponent(credentials.password)}@` : '';
  return `${m[1]}${userinfo}${m[3]}/${db}${query ? `?${query}` : ''}`;
}

/**
 * The credentials, database and `authSource` a MongoDB URI names (the reverse of {@link mongoUriFor}; each part
 * decoded, absent when the URI has none), or undefined when `uri` is not a `mongodb://` or `mongodb+srv://` URI.
 */
export function mongoUriParts(uri: string): { username?: string; password?: string; db?: string; authSource?: string } | undefined {
  const m = URI.exec(uri.trim());
  if (!m) return undefined;
  const userinfo = m[2]?.slice(0, -1);
  const colon = userinfo?.indexOf(':') ?? -1;
  const db = m[4]?.slice(1);
  const authSource = new URLSearchParams((m[5] ?? '').slice(1)).get('authSource');
  return {
    ...(userinfo ? { username: decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon)) } : {}),
    ...(userinfo && colon >= 0 ? { password: decodeURIComponent(userinfo.slice(colon + 1)) } : {}),
    ...(db ? { db: decodeURIComponent(db) } : {}),
    ...(authSource ? { authSource } : {}),
  };
}

/** What {@link MongoDatabaseUsers} sends its commands through (a `MongoClient`). */
export interface CommandClient {
  db(name: string): { command(cmd: Document): Promise<Document> };
}

/** MongoDB's error codes met here. */
const USER_NOT_FOUND = 11;
const USER_EXISTS = 51003;

/** Whether `err` is the server's answer `code` to a command (a `MongoServerError`; the driver is loaded by then). */
async function isServerError(err: unknown, code: number): Promise<boolean> {
  const { MongoServerError } = await import('mongodb');
  return err instanceof MongoServerError && err.code === code;
}

/** Error of a server command, with its code and name, without the command (which may carry a password). */
function commandError(what: string, err: unknown): Error {
  const e = err as { code?: unknown; codeName?: unknown; message?: unknown };
  const code = e.code !== undefined ? ` (${String(e.codeName ?? e.code)})` : '';
  return new Error(`${what}: ${String(e.message ?? err)}${code}`, { cause: err });
}

/** A lazily connected admin client (one connection attempt shared by concurrent callers). */
export class AdminClient {
  private client: Promise<MongoClient> | undefined;
  constructor(private readonly uri: string) {}

  /** The connected client (the driver is imported on the first call). @throws Error when the server cannot be reached. */
  get(): Promise<MongoClient> {
    this.client ??= import('mongodb')
      .then(({ MongoClient }) =>
        MongoClient.connect(this.uri, { serverSelectionTimeoutMS: SERVER_SELECTION_MS, socketTimeoutMS: SOCKET_MS }),
      )
      .catch((err: unknown) => {
        this.client = undefined;
        throw commandError('cannot reach the MongoDB server as its admin', err);
      });
    return this.client;
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.then((x) => x.close()).catch(() => undefined);
  }
}

/** MongoDB's own users: `createUser` with role `readWrite` on the instance's database, `updateUser`, `dropUser`. */
export class MongoDatabaseUsers implements DatabaseUsers {
  readonly kind = 'mongodb' as const;
  private readonly admin: AdminClient;

  /**
   * @param adminUri a URI with the credentials of a user that may manage users (`userAdminAnyDatabase` or root).
   * @param client instead of connecting to `adminUri`: a client to send the commands through (tests).
   */
  constructor(
    private readonly adminUri: string,
    private readonly client?: CommandClient,
  ) {
    this.admin = new AdminClient(adminUri);
  }

  private async db(name: string): Promise<{ command(cmd: Document): Promise<Document> }> {
    return (this.client ?? (await this.admin.get())).db(name);
  }

  /**
   * @see DatabaseUsers.ensure — created with `customData: { wacloud: INSTANCE_USER_MARK }`; the URI names
   * `authSource=<db>` (the user is defined in its own database). A user dropped by someone else between the steps
   * (`createUser` answered "exists", then `usersInfo` finds none, or `updateUser` "not found") is created again, up to
   * {@link ENSURE_ATTEMPTS} rounds in all.
   */
  async ensure(user: DatabaseUser): Promise<string> {
    const db = await this.db(user.db);
    const fields = { pwd: user.password, roles: [{ role: 'readWrite', db: user.db }], customData: { wacloud: INSTANCE_USER_MARK } };
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= ENSURE_ATTEMPTS;
      try {
        await db.command({ createUser: user.username, ...fields });
        break;
      } catch (err) {
        if (!(await isServerError(err, USER_EXISTS))) throw commandError(`createUser ${user.username}`, err);
      }
      const owner = await this.owner(user, user.password);
      if (owner === 'missing' && !last) continue; // dropped since "exists"
      if (owner === 'missing')
        throw new Error(`createUser ${user.username}: the user was dropped each time between "exists" and its look-up; retry later`);
      if (owner !== 'wacloud')
        throw new Error(
          `createUser ${user.username}: a MongoDB user of that name exists in database ${user.db} that wacloud did not create: give the instance another database`,
        );
      try {
        await db.command({ updateUser: user.username, ...fields });
        break;
      } catch (err) {
        if (!last && (await isServerError(err, USER_NOT_FOUND))) continue; // dropped since the look-up
        throw commandError(`updateUser ${user.username}`, err);
      }
    }
    return mongoUriFor(this.adminUri, user.db, user, { authSource: user.db });
  }

  /** @see DatabaseUsers.drop */
  async drop(user: Pick<DatabaseUser, 'db' | 'username'>): Promise<void> {
    if ((await this.owner(user)) !== 'wacloud') return;
    try {
      await (await this.db(user.db)).command({ dropUser: user.username });
    } catch (err) {
      if (await isServerError(err, USER_NOT_FOUND)) return;
      throw commandError(`dropUser ${user.username}`, err);
    }
  }

  /**
   * Who made the user (`usersInfo` with its credentials): `wacloud` when it carries {@link INSTANCE_USER_MARK}, or
   * when `password` is given and is its SCRAM-SHA-256 password (made by wacloud before users were marked); `missing`;
   * else `other`. @throws Error when the server refuses or cannot be reached.
   */
  private async owner(user: Pick<DatabaseUser, 'db' | 'username'>, password?: string): Promise<'wacloud' | 'missing' | 'other'> {
    let found: Document | undefined;
    try {
      const info = await (await this.db(user.db)).command({ usersInfo: { user: user.username, db: user.db }, showCredentials: true });
      found = (info.users as Document[] | undefined)?.[0];
    } catch (err) {
      throw commandError(`usersInfo ${user.username}`, err);
    }
    if (!found) return 'missing';
    if ((found.customData as Document | undefined)?.wacloud === INSTANCE_USER_MARK) return 'wacloud';
    const scram = (found.credentials as Document | undefined)?.['SCRAM-SHA-256'] as
      { iterationCount: number; salt: string; storedKey: string } | undefined;
    const same =
      password !== undefined && scram !== undefined && isScramSha256Password(password, { ...scram, iterations: scram.iterationCount });
    return same ? 'wacloud' : 'other';
  }

  close(): Promise<void> {
    return this.admin.close();
  }
}

/**
 * No per-instance user: `ensure` returns the server URI (its credentials, if any, included) naming the instance's
 * database, and logs once that instances are not separated; `drop` does nothing.
 */
export class SharedDatabaseCredentials implements DatabaseUsers {
  readonly kind = 'shared' as const;
  private warned = false;

  /** @param reason why the server cannot give instances their own users (logged once). */
  constructor(
    private readonly serverUri: string,
    private readonly log: Logger,
    private readonly reason: string,
  ) {}

  /** Logs the warning (once per object). */
  warnOnce(): void {
    if (this.warned) return;
    this.warned = true;
    this.log.warn(
      { reason: this.reason },
      'instances share the MongoDB credentials: an instance can read and write the databases of other instances (see docs/database-users.md)',
    );
  }

  async ensure(user: DatabaseUser): Promise<string> {
    this.warnOnce();
    const m = URI.exec(this.serverUri.trim());
    if (!m) throw new Error('the MongoDB URI must be a mongodb:// or mongodb+srv:// URI');
    return `${m[1]}${m[2] ?? ''}${m[3]}/${user.db}${m[5] ?? ''}`;
  }

  async drop(): Promise<void> {}

  async close(): Promise<void> {}
}

/** `mode` of {@link detectDatabaseUsers}: `auto` decides from the server's `buildInfo`. */
export type DatabaseUsersMode = 'auto' | 'mongodb' | 'ferretdb-postgresql' | 'off';

/**
 * The {@link DatabaseUsers} for `mode`: `mongodb` → {@link MongoDatabaseUsers}; `ferretdb-postgresql` →
 * `FerretPostgresDatabaseUsers` (needs `postgresUrl`); `off` → {@link SharedDatabaseCredentials}; `auto` asks the
 * server (`buildInfo`): FerretDB → `ferretdb-postgresql` when `postgresUrl` is given, else shared credentials (FerretDB
 * v1 does not authorise per database by itself); MongoDB → `mongodb` when the admin connection is authenticated, else
 * shared credentials (a server without authentication enforces no user). The choice is logged once (a warning when
 * shared).
 * @throws Error when `auto` cannot reach the server, or `ferretdb-postgresql` has no `postgresUrl`.
 */
export async function detectDatabaseUsers(opts: {
  mode: DatabaseUsersMode;
  adminUri: string;
  postgresUrl?: string | undefined;
  log: Logger;
}): Promise<DatabaseUsers> {
  let mode = opts.mode;
  let reason = 'INSTANCE_DATABASE_USERS=off';
  if (mode === 'auto') {
    const admin = new AdminClient(opts.adminUri);
    try {
      const db = (await admin.get()).db('admin');
      const info = await db.command({ buildInfo: 1 });
      const ferret = typeof info.ferretdbVersion === 'string' || typeof info.ferretdb === 'object';
      if (ferret) {
        mode = opts.postgresUrl ? 'ferretdb-postgresql' : 'off';
        reason = 'FerretDB without a PostgreSQL admin URL does not authorise per database';
      } else {
        // Answered without credentials: the server does not require authentication, so users would not be enforced.
        const status = await db.command({ connectionStatus: 1 });
        const authenticated = (status.authInfo?.authenticatedUsers ?? []).length > 0;
        mode = authenticated ? 'mongodb' : 'off';
        if (!authenticated) reason = 'the MongoDB server does not require authentication (start it with --auth)';
      }
    } finally {
      await admin.close();
    }
  }
  let users: DatabaseUsers;
  if (mode === 'mongodb') users = new MongoDatabaseUsers(opts.adminUri);
  else if (mode === 'ferretdb-postgresql') {
    if (!opts.postgresUrl) throw new Error('database users on FerretDB/PostgreSQL need the PostgreSQL admin URL');
    const { FerretPostgresDatabaseUsers } = await import('./ferretdb-pg-users.js');
    users = new FerretPostgresDatabaseUsers(opts.adminUri, opts.postgresUrl);
  } else {
    const shared = new SharedDatabaseCredentials(opts.adminUri, opts.log, reason);
    shared.warnOnce();
    return shared;
  }
  opts.log.info({ kind: users.kind }, 'each instance gets its own database user, limited to its database');
  return users;
}
