/**
 * The gateway's own credential per instance — an `rw` instance token named `wacloud-gateway`, which the gateway sends
 * for requests made with a tenant's access token — shared by every api replica: one token per instance, kept in the
 * api database (collection `gateway_credentials`, `_id` the instance id) sealed with AES-256-GCM under a key derived
 * from the JWT secret (HKDF-SHA256), so a database dump alone does not open instances. Replicas never revoke each
 * other's credential:
 * - the first replica to need one mints it and stores it with a unique insert; a replica that loses that race deletes
 *   the token it minted and uses the stored one;
 * - the winner removes older `wacloud-gateway` tokens on the instance (left by earlier api versions or lost stores),
 *   only those older than a minute, never one another replica may be storing right now;
 * - after the instance refuses the credential (401: e.g. its database was reset), {@link GatewayCredentials.refused}
 *   drops the stored one only if it is still that refused token, and the next lookup mints a fresh one (or finds the
 *   one another replica minted meanwhile).
 * A credential sealed under another JWT secret is treated as absent and replaced.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type mongoose from 'mongoose';
import { AppError } from '../errors.js';
import type { InstanceEndpoints } from '../providers/index.js';
import { isDuplicateKey } from '../store.js';

export interface GatewayCredentialDoc {
  /** Instance id. */
  _id: string;
  /** The instance's id of the token. */
  tokenId: string;
  /** base64url(iv ‖ tag ‖ ciphertext) of the token; the instance id is the associated data. */
  sealed: string;
  createdAt: Date;
}

/** A gateway token of one instance. */
export interface Credential {
  tokenId: string;
  token: string;
}

/** The instance internal-API calls the credentials need (the instance client implements them). */
export interface CredentialCalls {
  /** Creates the gateway's token; returns its id and plaintext. */
  mint(ep: InstanceEndpoints): Promise<Credential>;
  /** Every token of the instance named like the gateway's, with its creation time (ISO 8601). */
  listGateway(ep: InstanceEndpoints): Promise<Array<{ id: string; createdAt: string }>>;
  /** Deletes a token (a missing one is fine). */
  remove(ep: InstanceEndpoints, tokenId: string): Promise<void>;
}

/** Older gateway tokens than this are removed by the replica that stored a new one, ms. */
const STALE_AFTER_MS = 60_000;

export class GatewayCredentials {
  private readonly mem = new Map<string, Promise<Credential>>();
  private readonly key: Buffer;

  /**
   * @param col the `gateway_credentials` collection of the api database.
   * @param secret the JWT secret (the sealing key is derived from it).
   */
  constructor(
    private readonly col: mongoose.mongo.Collection<GatewayCredentialDoc>,
    secret: string,
    private readonly calls: CredentialCalls,
    private readonly log?: Logger,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'wacloud/gateway-credential', 32));
  }

  /**
   * The gateway's token of instance `id` (from memory, the database, or minted now).
   * @throws AppError from the instance client when the instance cannot be reached, `busy` (503) when the stored
   *   credential keeps changing under it; database errors.
   */
  get(id: string, ep: InstanceEndpoints): Promise<Credential> {
    let p = this.mem.get(id);
    if (!p) {
      const loading = this.load(id, ep);
      p = loading;
      this.mem.set(id, loading);
      loading.catch(() => this.mem.get(id) === loading && this.mem.delete(id));
    }
    return p;
  }

  /** The instance refused `cred` (401): forget it here and in the database (only if it is still the stored one). */
  async refused(id: string, cred: Credential): Promise<void> {
    const cur = this.mem.get(id);
    if (cur && (await cur.catch(() => undefined))?.tokenId === cred.tokenId && this.mem.get(id) === cur) this.mem.delete(id);
    await this.col.deleteOne({ _id: id, tokenId: cred.tokenId });
  }

  /** Forgets instance `id`'s credential (the instance was deleted); best effort. */
  forget(id: string): void {
    this.mem.delete(id);
    this.col.deleteOne({ _id: id }).catch((err: unknown) => this.log?.warn({ err, instance: id }, 'removing a gateway credential failed'));
  }

  private async load(id: string, ep: InstanceEndpoints): Promise<Credential> {
    for (let attempt = 0; ; attempt++) {
      // A few rounds at most (a lost race, a credential of another secret); beyond, something else is wrong.
      if (attempt >= 5) throw new AppError('busy', "The instance's gateway credential is being replaced; retry.");
      const doc = await this.col.findOne({ _id: id });
      if (doc) {
        const token = this.unseal(id, doc.sealed);
        if (token) return { tokenId: doc.tokenId, token };
        this.log?.warn({ instance: id }, 'a stored gateway credential does not open with this JWT secret; replacing it');
        await this.col.deleteOne({ _id: id, tokenId: doc.tokenId });
        continue;
      }
      const minted = await this.calls.mint(ep);
      try {
        await this.col.insertOne({ _id: id, tokenId: minted.tokenId, sealed: this.seal(id, minted.token), createdAt: new Date() });
      } catch (err) {
        await this.calls.remove(ep, minted.tokenId).catch(() => {});
        // Another replica stored one first: use it.
        if (isDuplicateKey(err)) continue;
        throw err;
      }
      await this.removeStale(ep, minted.tokenId).catch((err: unknown) =>
        this.log?.warn({ err, instance: id }, 'removing stale gateway tokens failed'),
      );
      return minted;
    }
  }

  private async removeStale(ep: InstanceEndpoints, keep: string): Promise<void> {
    const before = Date.now() - STALE_AFTER_MS;
    for (const t of await this.calls.listGateway(ep))
      if (t.id !== keep && Date.parse(t.createdAt) < before) await this.calls.remove(ep, t.id);
  }

  private seal(id: string, token: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(id));
    const ct = Buffer.concat([c.update(token, 'utf8'), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64url');
  }

  private unseal(id: string, sealed: string): string | undefined {
    try {
      const b = Buffer.from(sealed, 'base64url');
      const d = createDecipheriv('aes-256-gcm', this.key, b.subarray(0, 12));
      d.setAAD(Buffer.from(id));
      d.setAuthTag(b.subarray(12, 28));
      return Buffer.concat([d.update(b.subarray(28)), d.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
