/**
 * The database user of each instance (`@wacloud/kit/mongo-users`): named like the instance's database, `readWrite` on
 * it only, with a random password that lives only in the instance's internal Secret (inside its `mongodb-uri`). The
 * operator holds the admin credential (DEFAULT_MONGODB_URI): it ensures the user before writing the Secret and drops it
 * in the finalizer, and drops a former one once the Secret no longer names it (`spec.mongodb.database` renamed, or
 * `spec.mongodb.secretRef` set). Instances that name their own Secret get no user from the operator.
 */
import type { Logger } from 'pino';
import {
  detectDatabaseUsers,
  mongoUriParts,
  newDatabasePassword,
  type DatabaseUsers,
  type DatabaseUsersKind,
} from '@wacloud/kit/mongo-users';
import type { WhatsAppInstance } from '@wacloud/crds';
import { databaseName } from './builders/secret.js';
import type { OperatorConfig } from './config.js';

/** The password stored in `uri` when it belongs to `username`, else undefined. */
export function storedPassword(uri: string | undefined, username: string): string | undefined {
  const parts = mongoUriParts(uri ?? '');
  return parts?.username === username ? parts.password || undefined : undefined;
}

/**
 * The operator-made user a Secret's stored `uri` names that `wai` no longer uses, or undefined: a user named like the
 * database in the URI's path (how {@link InstanceDatabaseUsers.ensure} names them; the default server's shared
 * credential never is), other than the user `wai` gets now (none with `spec.mongodb.secretRef`).
 */
export function formerUser(uri: string | undefined, wai: WhatsAppInstance): string | undefined {
  const { username: user, db } = mongoUriParts(uri ?? '') ?? {};
  if (!user || user !== db) return undefined;
  return wai.spec.mongodb?.secretRef || user !== databaseName(wai) ? user : undefined;
}

/** Ensures and drops instances' database users; the kind of server is detected on first use (and logged once). */
export class InstanceDatabaseUsers {
  private users: Promise<DatabaseUsers> | undefined;

  constructor(
    private readonly config: Pick<OperatorConfig, 'instanceDatabaseUsers' | 'instanceDatabaseUsersPostgresUrl' | 'defaultMongodbUri'>,
    private readonly log: Logger,
  ) {}

  private get(): Promise<DatabaseUsers> {
    this.users ??= detectDatabaseUsers({
      mode: this.config.instanceDatabaseUsers,
      adminUri: this.config.defaultMongodbUri,
      postgresUrl: this.config.instanceDatabaseUsersPostgresUrl,
      log: this.log,
    }).catch((err: unknown) => {
      this.users = undefined;
      throw err;
    });
    return this.users;
  }

  /**
   * Ensures the user of `wai` with the password already in its Secret (`storedUri`), or a new one; returns the URI
   * for its Secret. Undefined for instances with `spec.mongodb.secretRef`.
   * @throws Error when the server cannot be reached or refuses (no password in the message).
   */
  async ensure(wai: WhatsAppInstance, storedUri: string | undefined): Promise<string | undefined> {
    if (wai.spec.mongodb?.secretRef) return undefined;
    const db = databaseName(wai);
    const password = storedPassword(storedUri, db) ?? newDatabasePassword();
    return (await this.get()).ensure({ db, username: db, password });
  }

  /** What the server gives instances: their own users, or `shared` credentials. @throws Error as {@link ensure}. */
  async kind(): Promise<DatabaseUsersKind> {
    return (await this.get()).kind;
  }

  /** Drops the user of `wai` (missing: fine). @throws Error when the server cannot be reached or refuses. */
  async drop(wai: WhatsAppInstance): Promise<void> {
    if (wai.spec.mongodb?.secretRef) return;
    const db = databaseName(wai);
    await (await this.get()).drop({ db, username: db });
  }

  /**
   * Drops the former user a replaced Secret's `storedUri` named ({@link formerUser}; missing: fine) — called once the
   * Secret names the new one, so no Secret ever names a dropped user.
   * @throws Error when the server cannot be reached or refuses.
   */
  async dropFormer(wai: WhatsAppInstance, storedUri: string | undefined): Promise<void> {
    const user = formerUser(storedUri, wai);
    // Never the admin's own user (a database named like it, in a Secret written with the shared credential).
    if (user && user !== mongoUriParts(this.config.defaultMongodbUri)?.username)
      await (await this.get()).drop({ db: user, username: user });
  }

  async close(): Promise<void> {
    const u = this.users;
    this.users = undefined;
    await u?.then((x) => x.close()).catch(() => undefined);
  }
}
