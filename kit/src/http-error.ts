/**
 * The error every wacloud HTTP service answers with: a stable `code`, an HTTP `status` and a message a person can act
 * on. Body: `{ "error": { "code", "message", "details"? } }`. Each service keeps its own catalogue of codes
 * (`errors.ts`) and throws subclasses of this.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'HttpError';
  }

  /** The JSON body sent to clients. */
  toJSON(): { error: { code: string; message: string; details?: unknown } } {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

/** Builds a typed error factory over a catalogue `{ code: { status, message } }`. */
export function errorCatalogue<C extends Record<string, { status: number; message: string }>>(catalogue: C) {
  return class CatalogueError extends HttpError {
    constructor(code: keyof C & string, message?: string, details?: unknown) {
      super(catalogue[code]!.status, code, message ?? catalogue[code]!.message, details);
      this.name = 'AppError';
    }
  };
}

/** One entry of an error catalogue: the HTTP status and the default message of a code. */
export interface ErrorEntry {
  status: number;
  message: string;
}

/**
 * Every code kit itself answers with (the express app and route validation). Each service spreads it into its own
 * catalogue — `{ ...KIT_ERROR_CATALOGUE, ...own }`, or {@link withKitErrors} — so these codes are documented and
 * thrown the same way in all of them. Codes are part of the public contract: add new ones, never rename.
 */
export const KIT_ERROR_CATALOGUE = {
  invalid_request: { status: 400, message: 'The request is invalid.' },
  invalid_json: { status: 400, message: 'The request body is not valid JSON.' },
  route_not_found: { status: 404, message: 'No such endpoint; see /openapi.json.' },
  method_not_allowed: { status: 405, message: 'This endpoint does not take this method; the Allow header lists those it takes.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  unsupported_media_type: { status: 415, message: 'Send the body as application/json.' },
  nul_character: {
    status: 422,
    message: 'Text must not contain the NUL character (U+0000); remove it and send again.',
  },
  internal: { status: 500, message: 'Unexpected error; it was logged.' },
  storage_unavailable: { status: 503, message: 'The database is unreachable; retry shortly.' },
} as const satisfies Record<string, ErrorEntry>;

/** A code of {@link KIT_ERROR_CATALOGUE}. */
export type KitErrorCode = keyof typeof KIT_ERROR_CATALOGUE;

/** An error with one of kit's own codes; status and default message from {@link KIT_ERROR_CATALOGUE}. */
export class KitError extends errorCatalogue(KIT_ERROR_CATALOGUE) {
  override name = 'KitError';
}

/**
 * A service's catalogue with kit's codes added: `withKitErrors({ not_found: { status: 404, message: '…' } })` is
 * `{ ...KIT_ERROR_CATALOGUE, not_found: … }`, typed. A service entry may reword a kit code's message but not change
 * its status (a type error, and a thrown Error at run time).
 * @throws Error when `own` gives a kit code another status.
 */
export function withKitErrors<C extends Record<string, ErrorEntry>>(
  own: C & { [K in keyof C & KitErrorCode]: { status: (typeof KIT_ERROR_CATALOGUE)[K]['status']; message: string } },
): Omit<typeof KIT_ERROR_CATALOGUE, keyof C> & C {
  for (const [code, entry] of Object.entries(own)) {
    const kit = (KIT_ERROR_CATALOGUE as Record<string, ErrorEntry>)[code];
    if (kit && kit.status !== entry.status) throw new Error(`error code ${code}: kit answers it with ${kit.status}, not ${entry.status}`);
  }
  return { ...KIT_ERROR_CATALOGUE, ...own };
}
