import { HttpErrorResponse } from '@angular/common/http';

/** An api failure in one shape: `{error: {code, message}}` bodies, network failures and odd bodies alike. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

const FRIENDLY: Record<string, string> = {
  insufficient_funds: 'Your balance is too low to pay for the first month. Top up the wallet first.',
  invalid_credentials: 'Wrong email or password.',
  email_taken: 'An account with this email already exists — log in instead.',
  too_many_attempts: 'Too many failed logins. Wait a few minutes and try again.',
};

/** Maps anything thrown by HttpClient to an {@link ApiError}. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HttpErrorResponse) {
    if (err.status === 0) return new ApiError(0, 'network_error', 'Cannot reach the server. Check your connection and try again.');
    let body: unknown = err.error;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        /* not JSON */
      }
    }
    const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
    if (e && typeof e.code === 'string') {
      const message = FRIENDLY[e.code] ?? (typeof e.message === 'string' && e.message ? e.message : `Request failed (${err.status}).`);
      return new ApiError(err.status, e.code, message, e.details);
    }
    if (err.status === 401) return new ApiError(401, 'unauthorized', 'Your session has ended; log in again.');
    if (err.status >= 500) return new ApiError(err.status, 'server_error', `The server failed (${err.status}). Try again shortly.`);
    return new ApiError(err.status, `http_${err.status}`, `Request failed (${err.status} ${err.statusText || ''}).`.replace(' )', ')'));
  }
  return new ApiError(0, 'unknown', err instanceof Error ? err.message : String(err));
}
