/**
 * The catalogue of coded errors the instance's APIs answer with. Every error body is
 * `{ "error": { "code": "<stable code>", "message": "<what a person can do about it>", "details"?: … } }`.
 * Codes are part of the public contract: add new ones, never rename.
 */
import { errorCatalogue } from '@wacloud/kit';

export const ERROR_CATALOGUE = {
  // 400
  invalid_request: { status: 400, message: 'The request is invalid.' },
  invalid_json: { status: 400, message: 'The request body is not valid JSON.' },
  invalid_cursor: { status: 400, message: 'The cursor is invalid or belongs to another query; start again without it.' },
  // 401 / 403
  unauthorized: { status: 401, message: 'Send a valid token as "Authorization: Bearer <token>".' },
  forbidden: { status: 403, message: 'This token lacks the permission this endpoint needs.' },
  // 404 / 405 / 409
  not_found: { status: 404, message: 'No such resource.' },
  route_not_found: { status: 404, message: 'No such endpoint; see /openapi.json.' },
  message_not_found: { status: 404, message: 'No message with this id.' },
  contact_not_found: { status: 404, message: 'No contact with this id.' },
  token_not_found: { status: 404, message: 'No token with this id.' },
  chat_not_found: { status: 404, message: 'The chat does not exist or the account is not a member.' },
  number_not_on_whatsapp: { status: 422, message: 'This phone number has no WhatsApp account.' },
  session_not_ready: { status: 409, message: 'The WhatsApp session is not logged in; log in with POST /v1/session/login first.' },
  session_busy: { status: 409, message: 'The session is already logged in or logging in.' },
  qr_not_available: { status: 404, message: 'No QR code is pending; start a login with POST /v1/session/login.' },
  // 413 / 415
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  unsupported_media_type: { status: 415, message: 'Send the body as application/json.' },
  // 5xx
  engine_error: { status: 502, message: 'WhatsApp refused or failed the operation.' },
  storage_unavailable: { status: 503, message: 'The database is unreachable; retry shortly.' },
  internal: { status: 500, message: 'Unexpected error; it was logged.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An error with a stable code, an HTTP status from the catalogue and a message for people. */
export class AppError extends errorCatalogue(ERROR_CATALOGUE) {}
