/**
 * The instance's internal Secret: the internal API key (random, created once and then always carried over — never
 * rotated silently) and the MongoDB URI of the instance's database (unless the instance names its own Secret): the
 * URI with the instance's own database user (see `database-user.ts`), else the operator's default server's.
 */
import { randomBytes } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { INTERNAL_KEY_SECRET_KEY, childNames, type WhatsAppInstance } from '@wacloud/crds';
import { childMeta } from './meta.js';

export const MONGODB_URI_SECRET_KEY = 'mongodb-uri';

/** A new internal API key: 32 random bytes, base64url (43 characters). */
export function newInternalKey(): string {
  return randomBytes(32).toString('base64url');
}

/** Database name of an instance: `spec.mongodb.database`, else `wacloud_<namespace>_<name>` (sanitised, ≤ 63 chars). */
export function databaseName(wai: WhatsAppInstance): string {
  const d = wai.spec.mongodb?.database ?? `wacloud_${wai.metadata.namespace}_${wai.metadata.name}`;
  return d.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 63);
}

/** `mongodb://host:port/?opts` + database → `mongodb://host:port/<db>?opts` */
export function mongoUriWithDatabase(serverUri: string, db: string): string {
  const u = new URL(serverUri);
  u.pathname = `/${db}`;
  return u.toString();
}

/**
 * Desired internal Secret. `existingKey` is the key already stored (kept as is); without one a new key is generated.
 * `instanceMongoUri` (the instance's own user and database) is stored as is; without it, the default server's URI
 * naming the instance's database.
 */
export function buildInternalSecret(
  wai: WhatsAppInstance,
  opts: { existingKey: string | undefined; defaultMongoUri: string; instanceMongoUri?: string | undefined },
): V1Secret {
  const data: Record<string, string> = {
    [INTERNAL_KEY_SECRET_KEY]: Buffer.from(opts.existingKey ?? newInternalKey()).toString('base64'),
  };
  if (!wai.spec.mongodb?.secretRef) {
    const uri = opts.instanceMongoUri ?? mongoUriWithDatabase(opts.defaultMongoUri, databaseName(wai));
    data[MONGODB_URI_SECRET_KEY] = Buffer.from(uri).toString('base64');
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: childMeta(wai, childNames(wai.metadata.name!).internalSecret),
    type: 'Opaque',
    data,
  };
}
