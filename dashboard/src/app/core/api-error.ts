import { catchError, firstValueFrom, type Observable } from 'rxjs';
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

/**
 * The dashboard's own message for an api error code, in the dashboard's language; undefined for a code it does not
 * know (the server's English `message` is shown then). A function: `$localize` runs after the translations load.
 */
export function translatedMessage(code: string): string | undefined {
  switch (code) {
    case 'insufficient_funds':
      return $localize`:@@error.insufficient_funds:Your balance is too low to pay for the first month. Top up the wallet first.`;
    case 'invalid_credentials':
      return $localize`:@@error.invalid_credentials:Wrong email or password.`;
    case 'email_taken':
      return $localize`:@@error.email_taken:An account with this email already exists — log in instead.`;
    case 'too_many_attempts':
      return $localize`:@@error.too_many_attempts:Too many failed logins. Wait a few minutes and try again.`;
    case 'rate_limited':
      return $localize`:@@error.rate_limited:Too many requests. Wait a moment and try again.`;
    case 'name_taken':
      return $localize`:@@error.name_taken:You already have an instance with this name.`;
    case 'instance_not_found':
      return $localize`:@@error.instance_not_found:No such instance.`;
    case 'token_not_found':
      return $localize`:@@error.token_not_found:No such token.`;
    case 'instance_suspended':
      return $localize`:@@error.instance_suspended:The instance is suspended for an unpaid period; top up the wallet to resume it.`;
    case 'reserved_name':
      return $localize`:@@error.reserved_name:This token name is reserved; choose another.`;
    case 'instance_unavailable':
      return $localize`:@@error.instance_unavailable:The instance is not reachable yet; try again shortly.`;
    case 'provider_unavailable':
      return $localize`:@@error.provider_unavailable:The instance runtime is unavailable; nothing changed. Try again shortly.`;
    case 'provider_rejected':
      return $localize`:@@error.provider_rejected:The instance runtime refused the request; trying again will not help.`;
    case 'busy':
      return $localize`:@@error.busy:The account is busy with another operation; try again.`;
    case 'upstream_error':
      return $localize`:@@error.upstream_error:The instance answered with an error.`;
    case 'upstream_timeout':
      return $localize`:@@error.upstream_timeout:The instance did not answer in time; try again later.`;
    case 'storage_unavailable':
      return $localize`:@@error.storage_unavailable:The service cannot reach its database; try again shortly.`;
    case 'internal':
      return $localize`:@@error.internal:Something went wrong on the server. Try again shortly.`;
    case 'network_error':
      return $localize`:@@error.network:Cannot reach the server. Check your connection and try again.`;
    case 'unauthorized':
      return $localize`:@@error.unauthorized:Your session has ended; log in again.`;
    default:
      return undefined;
  }
}

/** Maps anything thrown by HttpClient to an {@link ApiError}. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HttpErrorResponse) {
    if (err.status === 0) return new ApiError(0, 'network_error', translatedMessage('network_error')!);
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
      const message =
        translatedMessage(e.code) ??
        (typeof e.message === 'string' && e.message ? e.message : $localize`:@@error.status:Request failed (${err.status}:status:).`);
      return new ApiError(err.status, e.code, message, e.details);
    }
    if (err.status === 401) return new ApiError(401, 'unauthorized', translatedMessage('unauthorized')!);
    if (err.status >= 500)
      return new ApiError(
        err.status,
        'server_error',
        $localize`:@@error.server:The server failed (${err.status}:status:). Try again shortly.`,
      );
    return new ApiError(err.status, `http_${err.status}`, $localize`:@@error.status:Request failed (${err.status}:status:).`);
  }
  return new ApiError(0, 'unknown', err instanceof Error ? err.message : String(err));
}

/** The first value of `o` as a promise; a failed request rejects with its {@link ApiError} ({@link toApiError}). */
export function apiCall<T>(o: Observable<T>): Promise<T> {
  return firstValueFrom(
    o.pipe(
      catchError((e: unknown) => {
        throw toApiError(e);
      }),
    ),
  );
}
