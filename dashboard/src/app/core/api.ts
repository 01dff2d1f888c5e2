import { HttpClient, HttpErrorResponse, HttpHeaders, type HttpResponse } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import { firstValueFrom } from 'rxjs';
import { apiCall, toApiError } from './api-error';
import { RUNTIME_CONFIG } from './config';
import type {
  CreatedToken,
  DepositResult,
  Instance,
  InstanceToken,
  LedgerPage,
  LoginResponse,
  Permission,
  Pricing,
  User,
  WsTicket,
} from '../api/models';
import type {
  CreateInstanceData,
  CreateInstanceTokenData,
  DepositData,
  ListInstancesResponses,
  ListInstanceTokensResponses,
  LoginData,
  RegisterData,
  UpdateInstanceTokenData,
  UpdateMeData,
} from '../api/generated/api';

/** What the method tester shows: the request sent and the response received. */
export interface Exchange {
  request: { method: string; path: string; body?: unknown };
  response: { status: number; ok: boolean; body: unknown; durationMs: number };
}

/** The api client: every call resolves to the typed body or rejects with an ApiError. */
@Injectable({ providedIn: 'root' })
export class ApiClient {
  private readonly http = inject(HttpClient);
  readonly base = inject(RUNTIME_CONFIG).apiBaseUrl;

  url(path: string): string {
    return this.base + path;
  }

  private readonly call = apiCall;

  // ── auth ──
  register(email: string, password: string): Promise<User> {
    return this.call(this.http.post<User>(this.url('/v1/auth/register'), { email, password } satisfies RegisterData['body']));
  }
  login(email: string, password: string): Promise<LoginResponse> {
    return this.call(this.http.post<LoginResponse>(this.url('/v1/auth/login'), { email, password } satisfies LoginData['body']));
  }
  logout(): Promise<void> {
    return this.call(this.http.post<void>(this.url('/v1/auth/logout'), null));
  }
  me(): Promise<User> {
    return this.call(this.http.get<User>(this.url('/v1/me')));
  }
  /** Saves the member's language and/or time zone (null forgets one); the updated profile. */
  updateMe(prefs: UpdateMeData['body']): Promise<User> {
    return this.call(this.http.patch<User>(this.url('/v1/me'), prefs));
  }

  // ── wallet ──
  pricing(): Promise<Pricing> {
    return this.call(this.http.get<Pricing>(this.url('/v1/pricing')));
  }
  deposit(amountMinor: number, idempotencyKey: string): Promise<DepositResult> {
    const headers = new HttpHeaders({ 'idempotency-key': idempotencyKey });
    return this.call(
      this.http.post<DepositResult>(this.url('/v1/wallet/deposits'), { amount: amountMinor } satisfies DepositData['body'], { headers }),
    );
  }
  transactions(cursor?: string | null, limit = 50): Promise<LedgerPage> {
    const params: Record<string, string> = { limit: String(limit) };
    if (cursor) params['cursor'] = cursor;
    return this.call(this.http.get<LedgerPage>(this.url('/v1/wallet/transactions'), { params }));
  }

  // ── instances ──
  instances(): Promise<Instance[]> {
    return this.call(this.http.get<ListInstancesResponses[200]>(this.url('/v1/instances'))).then((r) => r.items);
  }
  instance(id: string): Promise<Instance> {
    return this.call(this.http.get<Instance>(this.url(`/v1/instances/${encodeURIComponent(id)}`)));
  }
  createInstance(name: string): Promise<Instance> {
    return this.call(this.http.post<Instance>(this.url('/v1/instances'), { name } satisfies CreateInstanceData['body']));
  }
  deleteInstance(id: string): Promise<void> {
    return this.call(this.http.delete<void>(this.url(`/v1/instances/${encodeURIComponent(id)}`)));
  }
  /** A single-use ticket (about 30 s) to open the instance's event stream: no access token in the WebSocket URL. */
  wsTicket(id: string): Promise<WsTicket> {
    return this.call(this.http.post<WsTicket>(this.url(`/v1/instances/${encodeURIComponent(id)}/ws-ticket`), null));
  }

  // ── instance tokens ──
  tokens(id: string): Promise<InstanceToken[]> {
    return this.call(this.http.get<ListInstanceTokensResponses[200]>(this.url(`/v1/instances/${encodeURIComponent(id)}/tokens`))).then(
      (r) => r.items,
    );
  }
  createToken(id: string, name: string, permissions: Permission): Promise<CreatedToken> {
    return this.call(
      this.http.post<CreatedToken>(this.url(`/v1/instances/${encodeURIComponent(id)}/tokens`), {
        name,
        permissions,
      } satisfies CreateInstanceTokenData['body']),
    );
  }
  updateToken(id: string, tokenId: string, permissions: Permission): Promise<InstanceToken> {
    return this.call(
      this.http.patch<InstanceToken>(this.url(`/v1/instances/${encodeURIComponent(id)}/tokens/${tokenId}`), {
        permissions,
      } satisfies UpdateInstanceTokenData['body']),
    );
  }
  deleteToken(id: string, tokenId: string): Promise<void> {
    return this.call(this.http.delete<void>(this.url(`/v1/instances/${encodeURIComponent(id)}/tokens/${tokenId}`)));
  }

  // ── gateway: the instance's own API ──
  gatewayPath(id: string, path: string): string {
    return `/v1/instances/${encodeURIComponent(id)}/api${path}`;
  }

  /** Calls an instance method through the gateway and resolves to the typed body (rejects with ApiError). */
  gateway<T>(id: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    return this.call(this.http.request<T>(method, this.url(this.gatewayPath(id, path)), { body: body ?? null }));
  }

  /** Calls an instance method and never rejects for HTTP errors: the tester shows what happened. */
  async exchange(id: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Exchange> {
    const fullPath = this.gatewayPath(id, path);
    const started = performance.now();
    const request = { method, path: fullPath, ...(body !== undefined ? { body } : {}) };
    try {
      const res: HttpResponse<unknown> = await firstValueFrom(
        this.http.request(method, this.url(fullPath), { body: body ?? null, observe: 'response' }),
      );
      return { request, response: { status: res.status, ok: true, body: res.body, durationMs: Math.round(performance.now() - started) } };
    } catch (e) {
      const durationMs = Math.round(performance.now() - started);
      if (e instanceof HttpErrorResponse)
        return {
          request,
          response: {
            status: e.status,
            ok: false,
            body: e.status === 0 ? { error: { code: 'network_error', message: 'No response' } } : e.error,
            durationMs,
          },
        };
      throw e;
    }
  }

  /** GET …/api/v1/screenshot as an object URL (the caller revokes it). */
  async screenshot(id: string): Promise<string> {
    try {
      const blob = await firstValueFrom(this.http.get(this.url(this.gatewayPath(id, '/v1/screenshot')), { responseType: 'blob' }));
      return URL.createObjectURL(blob);
    } catch (e) {
      // With responseType 'blob' the error body is a Blob too: read the JSON error out of it.
      if (e instanceof HttpErrorResponse && e.error instanceof Blob) {
        const text = await e.error.text().catch(() => '');
        throw toApiError(new HttpErrorResponse({ error: text, status: e.status, statusText: e.statusText, url: e.url ?? undefined }));
      }
      throw toApiError(e);
    }
  }
}
