/**
 * The catalogue of coded errors the instance's APIs answer with: kit's own codes (`invalid_request`, `invalid_json`,
 * `route_not_found`, `payload_too_large`, `unsupported_media_type`, `internal`, `storage_unavailable`) and the
 * instance's. Every error body is `{ "error": { "code": "<stable code>", "message": "<what a person can do about it>",
 * "details"?: … } }`. Codes are part of the public contract: add new ones, never rename.
 */
import { errorCatalogue, withKitErrors } from '@wacloud/kit';

export const ERROR_CATALOGUE = withKitErrors({
  // 422: a well-formed cursor this instance did not issue for this query
  invalid_cursor: { status: 422, message: 'The cursor is invalid or belongs to another query; start again without it.' },
  // 401 / 403
  unauthorized: { status: 401, message: 'Send a valid token as "Authorization: Bearer <token>".' },
  forbidden: { status: 403, message: 'This token lacks the permission this endpoint needs.' },
  // 404 / 409 / 422
  not_found: { status: 404, message: 'No such resource.' },
  message_not_found: { status: 404, message: 'No message with this id.' },
  contact_not_found: { status: 404, message: 'No contact with this id.' },
  token_not_found: { status: 404, message: 'No token with this id.' },
  chat_not_found: { status: 404, message: 'The chat does not exist or the account is not a member.' },
  delivery_not_found: { status: 404, message: 'No webhook delivery with this id.' },
  delivery_not_failed: { status: 409, message: 'Only a failed delivery can be replayed; this one is pending or delivered.' },
  webhook_not_configured: { status: 409, message: 'No webhook URL is set; set one first.' },
  webhook_url_refused: { status: 422, message: 'This webhook URL is refused: webhooks go to public addresses only.' },
  number_not_on_whatsapp: { status: 422, message: 'This phone number has no WhatsApp account.' },
  idempotency_key_reused: {
    status: 422,
    message: 'This Idempotency-Key was used for a different message; use a new key for a new message.',
  },
  session_not_ready: { status: 409, message: 'The WhatsApp session is not logged in; log in with POST /v1/session/login first.' },
  session_busy: { status: 409, message: 'The session is already logged in or logging in.' },
  qr_not_available: { status: 404, message: 'No QR code is pending; start a login with POST /v1/session/login.' },
  // Message actions and groups (services/message-actions.ts, services/groups.ts)
  message_revoked: { status: 409, message: 'This message was deleted for everyone; it can no longer be edited, reacted to or forwarded.' },
  not_own_message: { status: 403, message: 'Only the author of a message may edit it or delete it for everyone.' },
  edit_window_passed: { status: 422, message: 'A message can be edited for 15 minutes after it was sent.' },
  group_not_found: { status: 404, message: 'The group does not exist or the account is not a member.' },
  not_group_admin: { status: 403, message: 'Only an admin of the group may do this.' },
  not_a_participant: { status: 422, message: 'One of these users is not a participant of the group.' },
  cannot_change_owner: { status: 403, message: "The group's creator cannot be removed or demoted." },
  // media (see services/media/limits.ts for WhatsApp's limits)
  media_missing: { status: 400, message: 'Send the file as the multipart part "file", or give a "url" in a JSON body.' },
  media_empty: { status: 400, message: 'The media file is empty.' },
  media_too_large: { status: 413, message: 'The media file is larger than WhatsApp takes for this message type.' },
  media_type_unsupported: { status: 415, message: 'WhatsApp does not take this kind of file for this message type.' },
  media_type_mismatch: { status: 422, message: 'The declared MIME type is not what the file is.' },
  media_corrupt: { status: 422, message: 'The file is damaged or not a file of the expected kind.' },
  media_url_refused: { status: 422, message: 'This media URL is refused: media is fetched from public http(s) addresses only.' },
  media_url_unreachable: { status: 422, message: 'The media URL did not answer with the file (error, timeout or not 2xx).' },
  media_not_found: { status: 404, message: 'This message has no stored media.' },
  media_quota_exceeded: { status: 507, message: "The instance's media storage quota is used up." },
  // 5xx
  engine_error: { status: 502, message: 'WhatsApp refused or failed the operation.' },
} as const);

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An error with a stable code, an HTTP status from the catalogue and a message for people. */
export class AppError extends errorCatalogue(ERROR_CATALOGUE) {}
