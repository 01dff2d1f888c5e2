/**
 * Each instance's own MongoDB database, `wacloud_inst_<id>`, on the instances' MongoDB server: its name, its URI (the
 * `MONGODB_URI` an instance gets) and its removal when the instance is deleted.
 */
import mongoose from 'mongoose';
import type { Logger } from 'pino';

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
