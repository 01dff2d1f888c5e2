/**
 * The database user of each instance (`@wacloud/kit/mongo-users`): named like the instance's database, `readWrite` on
 * it only, with a random password that lives only in the instance's internal Secret (inside its `mongodb-uri`). The
 * operator holds the admin credential (DEFAULT_MONGODB_URI): it ensures the user before writing the Secret and drops it
 * in the finalizer. Instances that name their own Secret (`spec.mongodb.secretRef`) get no user from the operator.
 */
import type { Logger } from 'pino';
import { detectDatabaseUsers, newDatabasePassword, type DatabaseUsers, type DatabaseUsersKind } from '@wacloud/kit/mongo-users';
import type { WhatsAppInstance } from '@wacloud/crds';
import { databaseName } from './builders/secret.js';
import type { OperatorConfig } from './config.js';

/** The password stored in `uri` when it belongs to `username`, else undefined. */
export function storedPassword(uri: string | undefined, username: string): string | undefined {
  const m = /^mongodb(?:\+srv)?:\/\/([^:@/?#]*):([^@/?#]*)@/.exec(uri ?? '');
  if (!m || decodeURIComponent(m[1]!) !== username) return undefined;
  return decodeURIComponent(m[2]!) || undefined;
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

  async close(): Promise<void> {
    const u = this.users;
    this.users = undefined;
    await u?.then((x) => x.close()).catch(() => undefined);
  }
}
