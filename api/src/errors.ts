/**
 * The api's catalogue of coded errors. Body: `{ "error": { "code", "message", "details"? } }`; codes are part of the
 * public contract. Messages tell the tenant what to do; they never carry infrastructure detail (hosts, addresses,
 * container or pod names, apiserver URLs, instance logs) — that is logged server-side.
 */
import { errorCatalogue, withKitErrors } from '@wacloud/kit';

/** The api's codes, with kit's own (`route_not_found`, `invalid_json`, `payload_too_large`, …) spread in. */
export const ERROR_CATALOGUE = withKitErrors({
  invalid_request: { status: 400, message: 'The request is invalid.' },
  invalid_cursor: { status: 400, message: 'The cursor is invalid; start again without it.' },
  unauthorized: { status: 401, message: 'Log in and send the access token as "Authorization: Bearer <token>".' },
  invalid_credentials: { status: 401, message: 'Wrong email or password.' },
  invalid_signature: { status: 401, message: 'The event signature is missing, wrong or too old.' },
  insufficient_funds: { status: 402, message: 'The balance cannot pay for this; top up the wallet first.' },
  forbidden: { status: 403, message: 'Not allowed.' },
  role_required: { status: 403, message: 'Only owners and admins of the organisation can do this.' },
  owner_required: { status: 403, message: 'Only owners can make, change or remove owners.' },
  right_required: { status: 403, message: 'You lack the right this needs on this instance; ask an owner or admin.' },
  not_found: { status: 404, message: 'No such resource.' },
  instance_not_found: { status: 404, message: 'No such instance.' },
  token_not_found: { status: 404, message: 'No such token.' },
  conversation_not_found: { status: 404, message: 'No such conversation.' },
  assignee_not_found: { status: 422, message: 'The assignee is not a member of your organisation.' },
  assignee_without_access: { status: 422, message: "The assignee cannot read this conversation's instance; give it canRead first." },
  invalid_snooze: { status: 422, message: 'Snoozing needs snoozedUntil, a time in the future; other statuses take none.' },
  unknown_cursor: { status: 422, message: 'The cursor was not issued for this list; start again without it.' },
  message_not_found: { status: 422, message: 'No such message in this conversation.' },
  session_not_ready: { status: 409, message: "The instance's WhatsApp session is not logged in." },
  delivery_not_found: { status: 404, message: 'No webhook delivery with this id.' },
  contact_not_found: { status: 404, message: 'No such contact in your organisation.' },
  tag_not_found: { status: 404, message: 'No such tag in your organisation.' },
  import_not_found: { status: 404, message: 'No such contact import in your organisation.' },
  tag_name_taken: { status: 409, message: 'A tag with this name exists already.' },
  phone_in_use: { status: 409, message: 'This phone number belongs to another contact; merge the two instead.' },
  import_committed: { status: 409, message: 'This import was committed already; upload the file again to import it again.' },
  import_too_large: { status: 413, message: 'The file is larger than 10 MB; split it.' },
  invalid_file: { status: 422, message: 'The file cannot be read as CSV or JSON; the message says where.' },
  unknown_column: { status: 422, message: 'The mapping names a column the file does not have.' },
  match_column_required: { status: 422, message: 'Map a phone column or an external id column: rows are matched by them.' },
  invalid_contact: { status: 422, message: 'A field of the contact is invalid; the details list each.' },
  merge_with_itself: { status: 422, message: 'A contact cannot be merged with itself.' },
  unknown_country: { status: 422, message: 'This is not a country code known for phone numbers (ISO 3166-1 alpha-2, e.g. BR).' },
  merge_not_found: { status: 404, message: 'This contact was not merged into that one (or was unmerged already).' },
  member_not_found: { status: 404, message: 'No such member in your organisation.' },
  invitation_not_found: { status: 404, message: 'No such invitation: the link is wrong or was revoked.' },
  invitation_expired: { status: 410, message: 'The invitation has expired; ask for a new one.' },
  invitation_used: { status: 409, message: 'The invitation was used already; log in instead, or ask for a new one.' },
  already_member: { status: 409, message: 'This account is a member of the organisation already.' },
  last_owner: { status: 409, message: 'The organisation must keep an owner: make another member owner first.' },
  organisation_not_empty: {
    status: 409,
    message: 'Your account runs an organisation with other members, instances or money; it cannot join another one.',
  },
  email_taken: { status: 409, message: 'An account with this email exists; log in instead.' },
  name_taken: { status: 409, message: 'You already have an instance with this name.' },
  instance_suspended: { status: 409, message: 'The instance is suspended for an unpaid period; top up the wallet to resume it.' },
  instance_stopped: { status: 409, message: 'The instance is stopped; start it first (POST /v1/instances/{id}/start).' },
  webhook_not_configured: { status: 409, message: 'No webhook URL is set; set one first.' },
  delivery_not_failed: { status: 409, message: 'Only a failed delivery can be replayed; this one is pending or delivered.' },
  reserved_name: { status: 422, message: 'This token name is reserved.' },
  webhook_url_refused: { status: 422, message: 'This webhook URL is refused: webhooks go to public addresses only.' },
  too_many_attempts: { status: 429, message: 'Too many attempts; wait as long as the Retry-After header says, then try again.' },
  rate_limited: { status: 429, message: 'Too many requests; wait as long as the Retry-After header says, then try again.' },
  instance_unavailable: { status: 503, message: 'The instance is not reachable yet; retry shortly.' },
  instance_busy: {
    status: 503,
    message: 'The instance is busy with the requests ahead of this one, so this one was not sent; retry after Retry-After seconds.',
  },
  provider_unavailable: { status: 503, message: 'The instance runtime is unavailable; retry shortly.' },
  busy: { status: 503, message: 'The account is busy with another operation; retry.' },
  ingest_unavailable: { status: 503, message: 'The event could not be stored; deliver it again later.' },
  upstream_error: { status: 502, message: 'The instance answered with an error.' },
  upstream_timeout: { status: 504, message: 'The instance did not answer in time; retry later.' },
  provider_rejected: {
    status: 500,
    message:
      'The instance runtime refused this request and retrying will not help; contact support quoting the x-request-id of this response.',
  },
} as const satisfies Record<string, { status: number; message: string }>);

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class AppError extends errorCatalogue(ERROR_CATALOGUE) {}
