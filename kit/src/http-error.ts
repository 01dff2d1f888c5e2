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
