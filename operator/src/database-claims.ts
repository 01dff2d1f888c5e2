/**
 * One database, one instance (docs/database-users.md, "One database per instance"). The operator gives each instance
 * a database user named like its database and sets that user's password from the instance's own Secret, and the
 * finalizer drops it. So a database must never be given to two instances (they would reset each other's password in
 * turn, read each other's messages, and either's deletion would drop the other's user), nor be one the platform
 * itself uses (the operator would take over the platform's own user and hand its credentials to an instance).
 *
 * - {@link DatabaseClaims}: which instances name each database, from the instance cache's events. The oldest claimant
 *   (creationTimestamp, then namespace/name) holds it; a newer one is refused until the holder is gone or renames
 *   its database — the claims then name the instances to reconcile again.
 * - {@link reservedDatabases}: MongoDB's own databases, and those of the operator's admin credentials
 *   (DEFAULT_MONGODB_URI's database, authSource and user; INSTANCE_DATABASE_USERS_POSTGRES_URL's user and database).
 *
 * Database names are compared case-insensitively (MongoDB refuses two names that differ only in case). Instances that
 * name their own Secret (`spec.mongodb.secretRef`) claim nothing: the operator manages no user for them.
 */
import { mongoUriParts } from '@wacloud/kit/mongo-users';
import type { WhatsAppInstance } from '@wacloud/crds';
import { databaseName } from './builders/secret.js';
import type { OperatorConfig } from './config.js';

/** Why the operator does not provision an instance's database: a `reason` for its conditions and a message. */
export interface DatabaseRefusal {
  reason: 'DatabaseInUse' | 'DatabaseReserved';
  message: string;
}

/** MongoDB's own databases: its users, its replication log, its sharding metadata. */
const MONGODB_DATABASES = ['admin', 'local', 'config'];

/**
 * The database names no instance may be given (lower case): {@link MONGODB_DATABASES} and the names in the operator's
 * admin credentials — DEFAULT_MONGODB_URI's database (the api's, with the chart's bundled server), its `authSource`
 * and user, and INSTANCE_DATABASE_USERS_POSTGRES_URL's user and database (a PostgreSQL role is named like the database).
 */
export function reservedDatabases(
  config: Pick<OperatorConfig, 'defaultMongodbUri' | 'instanceDatabaseUsersPostgresUrl'>,
): ReadonlySet<string> {
  const names = [...MONGODB_DATABASES];
  const uri = mongoUriParts(config.defaultMongodbUri);
  names.push(uri?.db ?? '', uri?.username ?? '', uri?.authSource ?? '');
  if (config.instanceDatabaseUsersPostgresUrl) {
    try {
      const pg = new URL(config.instanceDatabaseUsersPostgresUrl);
      names.push(decodeURIComponent(pg.username), decodeURIComponent(pg.pathname.slice(1)));
    } catch {
      // not a URL: the database users' own start refuses it
    }
  }
  return new Set(names.filter(Boolean).map((n) => n.toLowerCase()));
}

/** The database `wai` claims (lower case), or undefined when it names its own Secret. */
export function claimedDatabase(wai: WhatsAppInstance): string | undefined {
  return wai.spec.mongodb?.secretRef ? undefined : databaseName(wai).toLowerCase();
}

/** A claimant's rank: the older instance first, then the lower `namespace/name` (creationTimestamp has seconds only). */
interface Claim {
  createdMs: number;
  key: string;
}

/** `namespace/name`, as the informer cache keys objects. */
const keyOf = (wai: WhatsAppInstance) => `${wai.metadata.namespace}/${wai.metadata.name}`;

const before = (a: Claim, b: Claim) => a.createdMs < b.createdMs || (a.createdMs === b.createdMs && a.key < b.key);

/**
 * Which instances claim each database, kept from the instance cache's add, update and delete events (O(1) per event
 * and per question). Each change returns the keys of the other instances whose database's holder may have changed,
 * to be reconciled again.
 */
export class DatabaseClaims {
  /** database (lower case) → instance key → claim. */
  private readonly byDatabase = new Map<string, Map<string, Claim>>();
  /** instance key → the database it claims. */
  private readonly databaseOf = new Map<string, string>();

  /** Records `wai`'s claim (in place of a former one); returns the other claimants of its former and new database. */
  set(wai: WhatsAppInstance): string[] {
    const key = keyOf(wai);
    const db = claimedDatabase(wai);
    const former = this.databaseOf.get(key);
    if (former === db) return [];
    const affected = former === undefined ? [] : this.release(key, former);
    if (db === undefined) return affected;
    const created = wai.metadata.creationTimestamp;
    const createdMs = created === undefined ? Number.MAX_SAFE_INTEGER : Date.parse(created);
    let claims = this.byDatabase.get(db);
    if (!claims) this.byDatabase.set(db, (claims = new Map()));
    affected.push(...claims.keys());
    claims.set(key, { createdMs, key });
    this.databaseOf.set(key, db);
    return affected;
  }

  /** Forgets `wai`'s claim (it is gone); returns the other claimants of its database. */
  remove(wai: WhatsAppInstance): string[] {
    const key = keyOf(wai);
    const db = this.databaseOf.get(key);
    return db === undefined ? [] : this.release(key, db);
  }

  /** The key of the instance holding the database `wai` claims, when that is another instance; else undefined. */
  holderOtherThan(wai: WhatsAppInstance): string | undefined {
    const db = claimedDatabase(wai);
    const claims = db === undefined ? undefined : this.byDatabase.get(db);
    if (!claims || claims.size < 2) return undefined;
    let holder: Claim | undefined;
    for (const c of claims.values()) if (!holder || before(c, holder)) holder = c;
    const key = keyOf(wai);
    return holder && holder.key !== key && claims.has(key) ? holder.key : undefined;
  }

  private release(key: string, db: string): string[] {
    const claims = this.byDatabase.get(db);
    this.databaseOf.delete(key);
    if (!claims) return [];
    claims.delete(key);
    if (claims.size === 0) this.byDatabase.delete(db);
    return [...claims.keys()];
  }
}

/**
 * Why the operator must not give `wai` its database, or undefined when it may: a name in `reserved`
 * ({@link reservedDatabases}), or another instance `holder` ({@link DatabaseClaims.holderOtherThan}) holding it.
 */
export function databaseRefusal(
  wai: WhatsAppInstance,
  reserved: ReadonlySet<string>,
  holder: string | undefined,
): DatabaseRefusal | undefined {
  const db = claimedDatabase(wai);
  if (db === undefined) return undefined;
  if (reserved.has(db))
    return {
      reason: 'DatabaseReserved',
      message: `spec.mongodb.database "${databaseName(wai)}" is one the platform uses (MongoDB's own, or the operator's admin credentials name it): give the instance a database of its own`,
    };
  if (holder)
    return {
      reason: 'DatabaseInUse',
      message: `spec.mongodb.database "${databaseName(wai)}" is the database of instance ${holder} (created earlier): give this instance a database of its own`,
    };
  return undefined;
}
