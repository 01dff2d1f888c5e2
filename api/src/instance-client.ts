/**
 * The api as the only client of instances' internal APIs (spec §1.2): token management, and the gateway's own token
 * per instance (an `rw` token named `wacloud-gateway`, created on first use and kept only in memory — never stored;
 * after an api restart a fresh one replaces it).
 */
import { AppError } from './errors.js';
import type { InstanceEndpoints } from './providers/index.js';

export const GATEWAY_TOKEN_NAME = 'wacloud-gateway';

export interface InstanceToken {
  id: string;
  name: string;
  permissions: 'r' | 'w' | 'rw';
  createdAt: string;
  updatedAt: string;
}

async function call<T>(ep: InstanceEndpoints, method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> {
  let res: Response;
  try {
    res = await fetch(ep.internalUrl + p, {
      method,
      headers: { authorization: `Bearer ${ep.internalKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new AppError('instance_unavailable', `The instance's internal API is unreachable: ${(err as Error).message}`);
  }
  const text = await res.text();
  const parsed = (text ? JSON.parse(text) : undefined) as T;
  if (res.status >= 500) throw new AppError('upstream_error', `The instance answered ${res.status}.`);
  return { status: res.status, body: parsed };
}

export class InstanceClient {
  private readonly gateway = new Map<string, Promise<string>>();

  /** Creates a token; the plaintext `token` is in this result only. */
  async createToken(ep: InstanceEndpoints, name: string, permissions: string): Promise<InstanceToken & { token: string }> {
    const r = await call<InstanceToken & { token: string }>(ep, 'POST', '/internal/v1/tokens', { name, permissions });
    if (r.status !== 201) throw new AppError('invalid_request', `The instance refused the token: ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** Tenant-visible tokens (the gateway's own token is not listed). */
  async listTokens(ep: InstanceEndpoints): Promise<InstanceToken[]> {
    const r = await call<{ items: InstanceToken[] }>(ep, 'GET', '/internal/v1/tokens');
    return r.body.items.filter((t) => t.name !== GATEWAY_TOKEN_NAME);
  }

  /** @throws AppError `token_not_found` (also for the gateway's token, which tenants cannot touch). */
  async setPermissions(ep: InstanceEndpoints, tokenId: string, permissions: string): Promise<InstanceToken> {
    await this.assertTenantToken(ep, tokenId);
    const r = await call<InstanceToken>(ep, 'PATCH', `/internal/v1/tokens/${encodeURIComponent(tokenId)}`, { permissions });
    if (r.status === 404) throw new AppError('token_not_found');
    return r.body;
  }

  /** @throws AppError `token_not_found`. */
  async deleteToken(ep: InstanceEndpoints, tokenId: string): Promise<void> {
    await this.assertTenantToken(ep, tokenId);
    const r = await call(ep, 'DELETE', `/internal/v1/tokens/${encodeURIComponent(tokenId)}`);
    if (r.status === 404) throw new AppError('token_not_found');
  }

  /** The gateway's rw token for instance `id` (created once per api process, stale ones removed). */
  gatewayToken(id: string, ep: InstanceEndpoints): Promise<string> {
    let t = this.gateway.get(id);
    if (!t) {
      t = (async () => {
        const r = await call<{ items: InstanceToken[] }>(ep, 'GET', '/internal/v1/tokens');
        for (const old of r.body.items.filter((x) => x.name === GATEWAY_TOKEN_NAME)) await call(ep, 'DELETE', `/internal/v1/tokens/${old.id}`);
        return (await this.createToken(ep, GATEWAY_TOKEN_NAME, 'rw')).token;
      })();
      t.catch(() => this.gateway.delete(id));
      this.gateway.set(id, t);
    }
    return t;
  }

  /** Forgets the cached gateway token (after the instance refused it, or the instance was deleted). */
  forgetGatewayToken(id: string): void {
    this.gateway.delete(id);
  }

  private async assertTenantToken(ep: InstanceEndpoints, tokenId: string): Promise<void> {
    if (!/^[0-9a-f]{16}$/.test(tokenId)) throw new AppError('token_not_found');
    const r = await call<InstanceToken>(ep, 'GET', `/internal/v1/tokens/${tokenId}`);
    if (r.status === 404 || r.body.name === GATEWAY_TOKEN_NAME) throw new AppError('token_not_found');
  }
}
