/**
 * Each instance's own MongoDB database, `wacloud_inst_<id>`, on the instances' MongoDB server: its name, its URI (the
 * `MONGODB_URI` an instance gets), its database user (same name, `readWrite` on that database only, see
 * `@wacloud/kit/mongo-users`) and its removal when the instance is deleted.
 */
import { createHmac } from 'node:crypto';
import type { DatabaseUser, DatabaseUsers } from '@wacloud/kit/mongo-users';
import mongoose from 'mongoose';
import type { Logger } from 'pino';
import { ProviderError } from '../provider.js';

/** How long dropping a database may wait for the server, ms (selection) and per operation, ms (socket). */
const DROP_SERVER_SELECTION_MS = 5_000;
const DROP_SOCKET_MS = 10_000;

/** MongoDB database name of an instance: `wacloud_inst_<id>` with anything but `[A-Za-z0-9_]` turned into `_`. */
export function instanceDatabaseName(id: string): string {
  return `wacloud_inst_${id.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/**
 * `mongodb://h1,h2/old?x` + `db` → `mongodb://h1,h2/db?x` (string surgery: multi-host URIs are not WHATWG URLs).
 * @throws Error when `uri` is not a `mongodb://` or `mongodb+srv://` URI.
 */
export function mongoUriWithDatabase(uri: string, db: string): string {
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?#]+)(\/[^?#]*)?(\?[^#]*)?$/.exec(uri.trim());
  if (!m) throw new Error('mongoUri must be a mongodb:// or mongodb+srv:// URI');
  return `${m[1]}/${db}${m[3] ?? ''}`;
}

/** The `MONGODB_URI` of instance `id`: its own database on the server of `serverUri`. @throws Error as {@link mongoUriWithDatabase}. */
export function instanceMongoUri(serverUri: string, id: string): string {
  return mongoUriWithDatabase(serverUri, instanceDatabaseName(id));
}

/**
 * Drops the database of instance `id` on the server of `serverUri`. Best effort: bounded to ~15 s, never throws,
 * the outcome is logged (info when dropped, warn when not).
 */
export async function dropInstanceDatabase(serverUri: string, id: string, log: Logger): Promise<void> {
  const db = instanceDatabaseName(id);
  const conn = mongoose.createConnection(mongoUriWithDatabase(serverUri, db), {
    serverSelectionTimeoutMS: DROP_SERVER_SELECTION_MS,
    socketTimeoutMS: DROP_SOCKET_MS,
  });
  try {
    await conn.asPromise();
    await conn.dropDatabase();
    log.info({ instance: id, database: db }, 'instance database dropped');
  } catch (err) {
    log.warn({ instance: id, database: db, err }, 'could not drop the instance database');
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** The database user of instance `id`: named like its database, with `password`. */
export function instanceDatabaseUser(id: string, password: string): DatabaseUser {
  const db = instanceDatabaseName(id);
  return { db, username: db, password };
}

/**
 * A database password derived from a secret: `base64url(HMAC-SHA256(secret, "wacloud/database-password/v1:" + id))`
 * (43 characters) — for providers that keep nothing on disk (the docker provider).
 */
export function deriveDatabasePassword(secret: string, id: string): string {
  return createHmac('sha256', secret).update(`wacloud/database-password/v1:${id}`).digest('base64url');
}

/**
 * Ensures the database user of instance `id` and returns the `MONGODB_URI` the instance gets (its credentials, its
 * database); without `users`, the server URI naming the instance's database (no user of its own).
 * @throws ProviderError `unavailable` when the server refuses or cannot be reached (no password in the message).
 */
export async function ensureInstanceDatabaseUser(
  users: DatabaseUsers | undefined,
  serverUri: string,
  id: string,
  password: () => Promise<string> | string,
): Promise<string> {
  if (!users) return instanceMongoUri(serverUri, id);
  try {
    // Shared credentials need no password of the instance's (none is created then).
    return await users.ensure(instanceDatabaseUser(id, users.kind === 'shared' ? '' : await password()));
  } catch (err) {
    throw new ProviderError('unavailable', `the database user of instance ${id}: ${(err as Error).message}`, { cause: err });
  }
}

/** Drops the database user of instance `id` (best effort: never throws; a failure is logged as a warning). */
export async function dropInstanceDatabaseUser(users: DatabaseUsers | undefined, id: string, log: Logger): Promise<void> {
  if (!users) return;
  const db = instanceDatabaseName(id);
  try {
    await users.drop({ db, username: db });
    log.info({ instance: id, user: db }, 'instance database user dropped');
  } catch (err) {
    log.warn({ instance: id, user: db, err }, 'could not drop the instance database user');
  }
}
