/**
 * SCRAM-SHA-256 (RFC 5802 with SHA-256, RFC 7677): the keys a server stores for a password. PostgreSQL stores them as
 * a verifier string (`ferretdb-pg-users.ts`), MongoDB in a user's `credentials` (`mongo-users.ts`); wacloud computes
 * them to set a PostgreSQL role's password without sending it, and to recognise a user's password without signing in.
 */
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';

/**
 * StoredKey (SHA-256 of ClientKey) and ServerKey of `password` with `salt` and `iterations` (PBKDF2-SHA-256):
 * `SaltedPassword = Hi(password, salt, i)`, `ClientKey = HMAC(SaltedPassword, "Client Key")`, `StoredKey = H(ClientKey)`,
 * `ServerKey = HMAC(SaltedPassword, "Server Key")`. `password` must be ASCII (SASLprep is not applied: wacloud's
 * passwords are base64url).
 */
export function scramSha256Keys(
  password: string,
  salt: Buffer,
  iterations: number,
): { clientKey: Buffer; storedKey: Buffer; serverKey: Buffer } {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  return {
    clientKey,
    storedKey: createHash('sha256').update(clientKey).digest(),
    serverKey: createHmac('sha256', salted).update('Server Key').digest(),
  };
}

/**
 * Whether `password` is the one a server stored as these SCRAM-SHA-256 credentials (`salt` and `storedKey` base64,
 * as PostgreSQL's verifier and MongoDB's `credentials` hold them) — without signing in.
 */
export function isScramSha256Password(password: string, stored: { salt: string; iterations: number; storedKey: string }): boolean {
  return scramSha256Keys(password, Buffer.from(stored.salt, 'base64'), stored.iterations).storedKey.toString('base64') === stored.storedKey;
}
