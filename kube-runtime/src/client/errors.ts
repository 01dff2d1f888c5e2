/**
 * The one error type of this package for a failed apiserver call: {@link ApiServerError}. Two cases, told apart by
 * `code`:
 *
 * - `rejected`: the apiserver answered with a non-2xx status. `status` is the HTTP status, `reason` the Status
 *   object's reason (`NotFound`, `Conflict`, `Invalid`, `AlreadyExists`, `Forbidden`, `Gone`, …; derived from the
 *   HTTP status when the body carries none).
 * - `unreachable`: no answer — connection refused or reset, DNS or TLS failure, no response within the timeout, the
 *   stream broke mid-response. `status` is 0 and `reason` is `''`; `cause` holds the underlying error.
 *
 * The helpers ({@link isNotFound}, {@link isConflict}, …) accept any thrown value and are duck-typed on `name`, so
 * they also work for errors from another realm (Jest's VM contexts, worker threads).
 */

/** `rejected`: the apiserver said no (HTTP status); `unreachable`: it gave no answer. */
export type ApiServerErrorCode = 'rejected' | 'unreachable';

/** The Status object the apiserver returns with an error status (fields as in metav1.Status). */
export interface ApiServerStatus {
  reason?: string;
  message?: string;
  code?: number;
  details?: unknown;
}

/** Status reasons by HTTP status, for answers without a Status body (as apimachinery's `errors.FromObject`). */
const REASON_BY_STATUS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Gone',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** See the module comment. */
export class ApiServerError extends Error {
  override name = 'ApiServerError';
  /** HTTP status of the answer; 0 when {@link code} is `unreachable`. */
  readonly status: number;
  /** The Status reason (`NotFound`, `Conflict`, `Invalid`, …); `''` when unreachable or unknown. */
  readonly reason: string;
  /** The Status details (e.g. the invalid fields of a 422), as the apiserver sent them. */
  readonly details: unknown;

  private constructor(
    readonly code: ApiServerErrorCode,
    /** `GET`, `PATCH`, … or `WATCH`. */
    readonly method: string,
    /** Request path with query. */
    readonly path: string,
    status: number,
    reason: string,
    message: string,
    details: unknown,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.status = status;
    this.reason = reason;
    this.details = details;
  }

  /**
   * The apiserver answered `status` (non-2xx) with `body` (its Status object when it sent one).
   * The message is `<method> <path>: <status> <reason> <Status message>`.
   */
  static rejected(method: string, path: string, status: number, body: ApiServerStatus | undefined): ApiServerError {
    const reason = body?.reason || REASON_BY_STATUS[status] || (status >= 500 ? 'InternalError' : '');
    const message = `${method} ${path}: ${status} ${reason} ${body?.message ?? ''}`.trim();
    return new ApiServerError('rejected', method, path, status, reason, message, body?.details);
  }

  /** No answer from the apiserver: `what` says why (e.g. `ECONNREFUSED`, `no response within 30000 ms`). */
  static unreachable(method: string, path: string, what: string, cause?: unknown): ApiServerError {
    return new ApiServerError('unreachable', method, path, 0, '', `${method} ${path}: apiserver unreachable: ${what}`, undefined, cause);
  }
}

/** `err` as an {@link ApiServerError} (by class or, across realms, by name), else undefined. */
export function asApiServerError(err: unknown): ApiServerError | undefined {
  if (err instanceof ApiServerError) return err;
  const e = err as { name?: unknown; code?: unknown; status?: unknown } | null | undefined;
  return e && e.name === 'ApiServerError' && typeof e.status === 'number' && (e.code === 'rejected' || e.code === 'unreachable')
    ? (err as ApiServerError)
    : undefined;
}

/** The HTTP status of an apiserver rejection; undefined for anything else (unreachable included). */
export function apiStatusOf(err: unknown): number | undefined {
  const e = asApiServerError(err);
  return e?.code === 'rejected' ? e.status : undefined;
}

/** 404 NotFound: the object (or its namespace, or the resource type) does not exist. */
export function isNotFound(err: unknown): boolean {
  return apiStatusOf(err) === 404;
}

/** 409 Conflict: a stale resourceVersion or a concurrent writer (but not AlreadyExists, which is also a 409). */
export function isConflict(err: unknown): boolean {
  const e = asApiServerError(err);
  return e?.code === 'rejected' && e.status === 409 && e.reason !== 'AlreadyExists';
}

/** 409 AlreadyExists: a create of an object that exists. */
export function isAlreadyExists(err: unknown): boolean {
  const e = asApiServerError(err);
  return e?.code === 'rejected' && e.status === 409 && e.reason === 'AlreadyExists';
}

/** 422 Invalid: the object failed validation (schema, CEL rules, immutable fields); retrying the same body never helps. */
export function isInvalid(err: unknown): boolean {
  return apiStatusOf(err) === 422;
}

/** 403 Forbidden: RBAC (or an admission webhook) refused. */
export function isForbidden(err: unknown): boolean {
  return apiStatusOf(err) === 403;
}

/** 410 Gone: a resourceVersion or continue token too old. */
export function isGone(err: unknown): boolean {
  return apiStatusOf(err) === 410;
}

/** No answer from the apiserver (see the module comment). */
export function isUnreachable(err: unknown): boolean {
  return asApiServerError(err)?.code === 'unreachable';
}

/**
 * Worth retrying the same request later: unreachable, 429 TooManyRequests or a 5xx. A Conflict is not included (the
 * caller must re-read first); neither is any other 4xx.
 */
export function isRetryable(err: unknown): boolean {
  const e = asApiServerError(err);
  if (!e) return false;
  return e.code === 'unreachable' || e.status === 429 || e.status >= 500;
}
