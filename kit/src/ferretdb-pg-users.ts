/**
 * Instance database users on FerretDB v1 with its PostgreSQL backend, where PostgreSQL does the authorisation:
 * FerretDB keeps each MongoDB database as a PostgreSQL schema and opens its PostgreSQL connections with the credentials
 * each client gave (MongoDB `PLAIN` authentication), so a PostgreSQL role owning only its instance's schema can read
 * and write that database and gets "permission denied" on every other (FerretDB's own `createUser` only records users
 * and authorises nothing, hence SQL here).
 *
 * Per instance: a login role named like the user (its password reaches PostgreSQL only as a SCRAM-SHA-256 verifier,
 * so no log of the server ever holds it), owning the schema of its database, FerretDB's metadata table in it and every
 * table already there. The database itself is created through FerretDB (as the admin) so that FerretDB knows it.
 *
 * FerretDB v1 loads its list of databases once, with the credentials of the first client after it starts: let the
 * admin be that client (a role sees only its own schema).
 *
 * PostgreSQL roles belong to the whole server, not to a database: a role named like an instance's database may be
 * anyone's (the superuser, another application's). So every role made here carries a comment ({@link INSTANCE_USER_MARK}), and
 * only roles carrying it are altered or dropped; a role that exists without it is refused (docs/database-users.md). A
 * role made before roles were marked is recognised by its password (the caller's stored one) and marked then.
 */
import { randomBytes } from 'node:crypto';
import { MongoServerError } from 'mongodb';
import pg from 'pg';
import { AdminClient, ENSURE_ATTEMPTS, INSTANCE_USER_MARK, mongoUriFor, type DatabaseUser, type DatabaseUsers } from './mongo-users.js';
import { isScramSha256Password, scramSha256Keys } from './scram.js';

/** FerretDB v1's metadata table in every database's schema. */
const METADATA_TABLE = '_ferretdb_database_metadata';
/** A collection created and dropped again to make FerretDB create a database. */
const INIT_COLLECTION = '_wacloud_init';
/** MongoDB's NamespaceExists / NamespaceNotFound. */
const NAMESPACE_EXISTS = 48;
const NAMESPACE_NOT_FOUND = 26;
/** Schemas no instance database may be: PostgreSQL's own, and `public` (its owner may drop whatever lands there). */
const RESERVED_SCHEMA = /^(public|information_schema|pg_.*)$/i;
/** PostgreSQL's duplicate_object (a role created concurrently). */
const DUPLICATE_OBJECT = '42710';
/** PostgreSQL's `undefined_object` (a role that does not exist). */
const UNDEFINED_OBJECT = '42704';
/** SCRAM-SHA-256 iterations (PostgreSQL's default). */
const SCRAM_ITERATIONS = 4096;

/**
 * PostgreSQL's SCRAM-SHA-256 verifier of `password` (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`,
 * RFC 5802/7677), which `CREATE ROLE … PASSWORD` stores as is. `password` must be ASCII (SASLprep is not applied).
 */
export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16)): string {
  const { storedKey, serverKey } = scramSha256Keys(password, salt, SCRAM_ITERATIONS);
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** Instance users as PostgreSQL roles behind FerretDB v1 (see the module comment). */
export class FerretPostgresDatabaseUsers implements DatabaseUsers {
  readonly kind = 'ferretdb-postgresql' as const;
  private readonly admin: AdminClient;
  private readonly pool: pg.Pool;

  /**
   * @param adminUri FerretDB URI with the PLAIN credentials of a PostgreSQL superuser (`?authMechanism=PLAIN`).
   * @param postgresUrl `postgres://` URL of the same PostgreSQL database as that superuser.
   */
  constructor(
    private readonly adminUri: string,
    postgresUrl: string,
  ) {
    this.admin = new AdminClient(adminUri);
    this.pool = new pg.Pool({ connectionString: postgresUrl, max: 2, connectionTimeoutMillis: 10_000 });
    this.pool.on('error', () => undefined); // an idle connection's failure: the next query reconnects
  }

  /**
   * @see DatabaseUsers.ensure — the URI names `authMechanism=PLAIN` (FerretDB passes the credentials on). The role is
   * given the database's schema and every table in it, so a schema FerretDB did not make is refused first (see
   * {@link checkSchema}): nothing is created then.
   */
  async ensure(user: DatabaseUser): Promise<string> {
    await this.checkSchema(user.db).catch((err: unknown) => {
      throw new Error(`cannot give ${user.username} its database: ${(err as Error).message}`, { cause: err });
    });
    await this.ensureRole(user.username, user.password);
    await this.ensureDatabase(user.db);
    const role = pg.escapeIdentifier(user.username);
    const schema = pg.escapeIdentifier(user.db);
    await this.inTransaction(async (c) => {
      await c.query(`ALTER SCHEMA ${schema} OWNER TO ${role}`);
      const tables = await c.query<{ tablename: string }>('SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tableowner <> $2', [
        user.db,
        user.username,
      ]);
      for (const t of tables.rows) await c.query(`ALTER TABLE ${schema}.${c.escapeIdentifier(t.tablename)} OWNER TO ${role}`);
    }).catch((err: unknown) => {
      throw new Error(`cannot give ${user.username} its database: ${(err as Error).message}`, { cause: err });
    });
    return mongoUriFor(this.adminUri, user.db, user, { authMechanism: 'PLAIN', authSource: '$external' });
  }

  /**
   * @see DatabaseUsers.drop — what the role still owns goes to the admin; its sessions are terminated. A role without
   * {@link INSTANCE_USER_MARK} is not one of ours: left as it is, like a missing one.
   */
  async drop(user: Pick<DatabaseUser, 'db' | 'username'>): Promise<void> {
    const c = await this.pool.connect();
    try {
      const found = await c.query<{ note: string | null }>(
        "SELECT shobj_description(oid, 'pg_authid') AS note FROM pg_roles WHERE rolname = $1",
        [user.username],
      );
      if (found.rows[0]?.note !== INSTANCE_USER_MARK) return;
      const role = c.escapeIdentifier(user.username);
      await c.query(`REASSIGN OWNED BY ${role} TO CURRENT_USER`);
      await c.query(`DROP OWNED BY ${role}`);
      await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [user.username]);
      await c.query(`DROP ROLE IF EXISTS ${role}`);
    } catch (err) {
      throw new Error(`cannot drop the database user ${user.username}: ${(err as Error).message}`, { cause: err });
    } finally {
      c.release();
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.admin.close(), this.pool.end().catch(() => undefined)]);
  }

  /**
   * Creates the login role with {@link INSTANCE_USER_MARK} (one transaction: no one sees it unmarked), or sets its password
   * when it differs from the stored one (then the role's sessions are terminated: FerretDB keeps a connection pool per
   * credential, which would otherwise go on with the old password). A concurrent creation is fine, and so is a
   * concurrent drop: the role is created again, up to {@link ENSURE_ATTEMPTS} rounds.
   * @throws Error when a role of that name exists without the mark — unless it is no superuser and has this very
   *   password (made by wacloud before roles were marked: marked now).
   */
  private async ensureRole(username: string, password: string): Promise<void> {
    const role = pg.escapeIdentifier(username);
    const options = (verifier: string) => `LOGIN NOINHERIT NOCREATEDB NOCREATEROLE PASSWORD ${pg.escapeLiteral(verifier)}`;
    const mark = `COMMENT ON ROLE ${role} IS ${pg.escapeLiteral(INSTANCE_USER_MARK)}`;
    try {
      const read = () =>
        this.pool.query<{ rolpassword: string | null; rolsuper: boolean; note: string | null }>(
          "SELECT rolpassword, rolsuper, shobj_description(oid, 'pg_authid') AS note FROM pg_authid WHERE rolname = $1",
          [username],
        );
      for (let attempt = 1; ; attempt++) {
        const last = attempt >= ENSURE_ATTEMPTS;
        let found = await read();
        if (found.rowCount === 0) {
          try {
            await this.inTransaction(async (c) => {
              await c.query(`CREATE ROLE ${role} WITH ${options(scramSha256Verifier(password))}`);
              await c.query(mark);
            });
            return;
          } catch (err) {
            if ((err as { code?: string }).code !== DUPLICATE_OBJECT) throw err;
            found = await read();
          }
          if (found.rowCount === 0 && !last) continue; // created by someone else, and dropped again since
        }
        const row = found.rows[0];
        if (!row) throw new Error('the role was dropped each time between its creation and its look-up; retry later');
        const { rolpassword: stored, rolsuper, note } = row;
        const v = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):/.exec(stored ?? '');
        const same = Boolean(v && isScramSha256Password(password, { iterations: Number(v[1]), salt: v[2]!, storedKey: v[3]! }));
        if (note !== INSTANCE_USER_MARK && (!same || rolsuper))
          throw new Error('a PostgreSQL role of that name exists that wacloud did not create: give the instance another database');
        try {
          if (note !== INSTANCE_USER_MARK) await this.pool.query(mark);
          if (same) return;
          await this.pool.query(`ALTER ROLE ${role} WITH ${options(scramSha256Verifier(password))}`);
        } catch (err) {
          if (!last && (err as { code?: string }).code === UNDEFINED_OBJECT) continue; // dropped since the look-up
          throw err;
        }
        await this.pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [username]);
        return;
      }
    } catch (err) {
      throw new Error(`cannot create the database user ${username}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Refuses schema `db` when it is PostgreSQL's own or `public` ({@link RESERVED_SCHEMA}), or when it exists with
   * tables, sequences, views, types or functions in it but without FerretDB's metadata table: another application's
   * schema in FerretDB's PostgreSQL database, whose objects the hand-over would give to the instance. A FerretDB
   * database (metadata table present), an empty schema or none at all passes.
   * @throws Error naming the schema, asking for another database.
   */
  private async checkSchema(db: string): Promise<void> {
    if (RESERVED_SCHEMA.test(db)) throw new Error(`"${db}" is one of PostgreSQL's own schemas: give the instance another database`);
    const found = await this.pool.query<{ ferret: boolean; objects: number }>(
      `SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = n.nspname AND tablename = $2) AS ferret,
              (SELECT count(*) FROM pg_class WHERE relnamespace = n.oid)::int
            + (SELECT count(*) FROM pg_type WHERE typnamespace = n.oid)::int
            + (SELECT count(*) FROM pg_proc WHERE pronamespace = n.oid)::int AS objects
         FROM pg_namespace n WHERE n.nspname = $1`,
      [db, METADATA_TABLE],
    );
    const schema = found.rows[0];
    if (schema && !schema.ferret && schema.objects > 0)
      throw new Error(
        `a PostgreSQL schema "${db}" with objects in it exists that FerretDB did not create: give the instance another database`,
      );
  }

  /** Runs `work` in one transaction on one pooled connection (rolled back when it throws). @throws what `work` throws. */
  private async inTransaction(work: (c: pg.PoolClient) => Promise<void>): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await work(c);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  /** Makes FerretDB create database `db` (schema and metadata table) unless its schema has the metadata table. */
  private async ensureDatabase(db: string): Promise<void> {
    const has = await this.pool.query('SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2', [db, METADATA_TABLE]);
    if ((has.rowCount ?? 0) > 0) return;
    const d = (await this.admin.get()).db(db);
    try {
      await d.createCollection(INIT_COLLECTION);
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === NAMESPACE_EXISTS)) throw err;
    }
    await d.dropCollection(INIT_COLLECTION).catch((err: unknown) => {
      if (!(err instanceof MongoServerError && err.code === NAMESPACE_NOT_FOUND)) throw err;
    });
  }
}
