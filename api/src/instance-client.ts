/**
 * The api as the only client of instances' internal APIs (tenants never reach them): token management, and the
 * gateway's own token per instance (an `rw` token named `wacloud-gateway`, shared by every api replica through the
 * database, see {@link GatewayCredentials}; tenants never see, list or change it).
 *
 * Failures become catalogue errors without the instance's address or answer body (`instance_unavailable`,
 * `upstream_error`); the detail goes to the server-side log.
 */
import { errorBrief } from '@wacloud/kit';
import type { Logger } from 'pino';
import type mongoose from 'mongoose';
import { AppError } from './errors.js';
import { GatewayCredentials, type Credential, type GatewayCredentialDoc } from './gateway/credentials.js';
import type { InstanceEndpoints } from './providers/index.js';

export const GATEWAY_TOKEN_NAME = 'wacloud-gateway';

export interface InstanceToken {
  id: string;
  name: string;
  permissions: 'r' | 'w' | 'rw';
  createdAt: string;
  updatedAt: string;
}

/** Timeout of one internal API call, ms. */
const CALL_TIMEOUT_MS = 10_000;

/**
 * One call of the instance's internal API with its key.
 * @returns the status and the parsed JSON body (undefined when empty).
 * @throws AppError `instance_unavailable` when the instance cannot be reached or times out, `upstream_error` for a
 *   5xx answer or a body that is not JSON.
 */
export async function call<T>(
  log: Logger | undefined,
  ep: InstanceEndpoints,
  method: string,
  p: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(ep.internalUrl + p, {
      method,
      headers: { authorization: `Bearer ${ep.internalKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    text = await res.text();
  } catch (err) {
    log?.warn({ error: errorBrief(err), method, path: p }, "the instance's internal API did not answer");
    throw new AppError('instance_unavailable', 'The instance did not answer; retry shortly.');
  }
  if (res.status >= 500) {
    log?.warn({ method, path: p, status: res.status, body: text.slice(0, 500) }, "the instance's internal API failed");
    throw new AppError('upstream_error', `The instance answered ${res.status}; retry shortly.`);
  }
  try {
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  } catch (err) {
    log?.warn({ err, method, path: p, status: res.status }, "the instance's internal API answered something that is not JSON");
    throw new AppError('upstream_error', 'The instance answered with something that is not JSON.');
  }
}

/** The instance's own error message in an answer body `{error: {message}}`, if any. */
function instanceMessage(body: unknown): string | undefined {
  const m = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
  return typeof m === 'string' ? m : undefined;
}

export class InstanceClient {
  private readonly credentials: GatewayCredentials;

  /**
   * @param log where failures of the internal API are logged with their detail.
   * @param shared where the gateway's credentials are kept: the api database's `gateway_credentials` collection and
   *   the secret they are sealed with (the JWT secret).
   */
  constructor(
    private readonly log: Logger | undefined,
    shared: { collection: mongoose.mongo.Collection<GatewayCredentialDoc>; secret: string },
  ) {
    this.credentials = new GatewayCredentials(
      shared.collection,
      shared.secret,
      {
        mint: async (ep) => {
          const t = await this.createToken(ep, GATEWAY_TOKEN_NAME, 'rw');
          return { tokenId: t.id, token: t.token };
        },
        listGateway: async (ep) =>
          (await call<{ items: InstanceToken[] }>(this.log, ep, 'GET', '/internal/v1/tokens')).body.items.filter(
            (t) => t.name === GATEWAY_TOKEN_NAME,
          ),
        remove: async (ep, tokenId) => void (await call(this.log, ep, 'DELETE', `/internal/v1/tokens/${encodeURIComponent(tokenId)}`)),
      },
      log,
    );
  }

  /** Creates a token; the plaintext `token` is in this result only. */
  async createToken(ep: InstanceEndpoints, name: string, permissions: string): Promise<InstanceToken & { token: string }> {
    const r = await call<InstanceToken & { token: string }>(this.log, ep, 'POST', '/internal/v1/tokens', { name, permissions });
    if (r.status !== 201)
      throw new AppError('invalid_request', `The instance refused the token: ${instanceMessage(r.body) ?? `status ${r.status}`}`);
    return r.body;
  }

  /** Tenant-visible tokens (the gateway's own token is not listed). */
  async listTokens(ep: InstanceEndpoints): Promise<InstanceToken[]> {
    const r = await call<{ items: InstanceToken[] }>(this.log, ep, 'GET', '/internal/v1/tokens');
    return r.body.items.filter((t) => t.name !== GATEWAY_TOKEN_NAME);
  }

  /** @throws AppError `token_not_found` (also for the gateway's token, which tenants cannot touch). */
  async setPermissions(ep: InstanceEndpoints, tokenId: string, permissions: string): Promise<InstanceToken> {
    await this.assertTenantToken(ep, tokenId);
    const r = await call<InstanceToken>(this.log, ep, 'PATCH', `/internal/v1/tokens/${encodeURIComponent(tokenId)}`, { permissions });
    if (r.status === 404) throw new AppError('token_not_found');
    return r.body;
  }

  /** @throws AppError `token_not_found`. */
  async deleteToken(ep: InstanceEndpoints, tokenId: string): Promise<void> {
    await this.assertTenantToken(ep, tokenId);
    const r = await call(this.log, ep, 'DELETE', `/internal/v1/tokens/${encodeURIComponent(tokenId)}`);
    if (r.status === 404) throw new AppError('token_not_found');
  }

  /**
   * The gateway's rw token for instance `id`, shared by all api replicas (minted on first use).
   * @throws AppError `instance_unavailable` / `upstream_error` when the instance cannot mint one; database errors.
   */
  gatewayCredential(id: string, ep: InstanceEndpoints): Promise<Credential> {
    return this.credentials.get(id, ep);
  }

  /** The instance refused the gateway's token `cred` (401): the next {@link gatewayCredential} gets a fresh one. */
  gatewayRefused(id: string, cred: Credential): Promise<void> {
    return this.credentials.refused(id, cred);
  }

  /** Forgets the gateway token of instance `id` (the instance was deleted). */
  forgetGatewayToken(id: string): void {
    this.credentials.forget(id);
  }

  private async assertTenantToken(ep: InstanceEndpoints, tokenId: string): Promise<void> {
    if (!/^[0-9a-f]{16}$/.test(tokenId)) throw new AppError('token_not_found');
    const r = await call<InstanceToken>(this.log, ep, 'GET', `/internal/v1/tokens/${tokenId}`);
    if (r.status === 404 || r.body.name === GATEWAY_TOKEN_NAME) throw new AppError('token_not_found');
  }
}
