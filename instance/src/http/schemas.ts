/**
 * zod schemas of the instance's HTTP inputs and outputs. They validate requests and generate /openapi.json.
 * Query values arrive as strings; repeated or bracketed keys (`q[$gt]=`) are refused by `.strict()` objects and
 * string-only fields, so no operator can reach a MongoDB filter.
 */
import { z } from 'zod';
import { wholeNumberQuery } from '@wacloud/kit';
import { PERMISSIONS } from '../services/tokens.js';
import { SESSION_STATES } from '../engines/engine.js';
import { WEBHOOK_EVENTS } from '../webhooks/settings.js';

/**
 * The documented form of an instant: epoch milliseconds, or an ISO 8601 date with an optional time (hours and
 * minutes, optional seconds and fraction) and an optional offset — exactly the values the parser turns into a date.
 */
const INSTANT_PATTERN =
  '^(?:\\d{1,15}|\\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\\d|3[01])' +
  '(?:[T ](?:[01]\\d|2[0-3]):[0-5]\\d(?::[0-5]\\d(?:\\.\\d{1,3})?)?(?:Z|[+-](?:[01]\\d|2[0-3]):?[0-5]\\d)?)?)$';

/** ISO 8601 date or date-time, or epoch milliseconds → Date. */
export const instant = z
  .string()
  .trim()
  .refine(
    (v) =>
      (/^\d{1,15}$/.test(v) || /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)) && !Number.isNaN(toDate(v).getTime()),
    {
      message: 'must be an ISO 8601 date/time (e.g. 2026-11-22T10:00:00Z) or epoch milliseconds',
    },
  )
  .transform(toDate)
  .meta({ description: 'ISO 8601 date/time or epoch milliseconds', examples: ['2026-11-22T10:00:00Z'], pattern: INSTANT_PATTERN });

function toDate(v: string): Date {
  return /^\d+$/.test(v) ? new Date(Number(v)) : new Date(v);
}

export const boolString = z.enum(['true', 'false']).transform((v) => v === 'true');
/** `<digits>@c.us`, `<digits>@g.us` / `<digits>-<digits>@g.us`, or `status@broadcast`-like WhatsApp ids. */
export const chatId = z
  .string()
  .regex(/^[0-9A-Za-z-]{1,64}@(c\.us|g\.us|lid|broadcast|newsletter)$/, 'must be a WhatsApp id like 15551234567@c.us or 1203630…@g.us');
export const phone = z.string().regex(/^\+?[0-9]{6,15}$/, 'must be a phone number in international format, digits only (e.g. 15551234567)');
export const limit = wholeNumberQuery(500).meta({ description: 'Page size, 1–500 (default 50)' });
/** An opaque cursor (base64url); one this instance did not issue for this query is refused, 422 `invalid_cursor`. */
export const cursor = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,512}$/, "must be the previous page's nextCursor")
  .optional()
  .meta({ description: "Opaque cursor from the previous page's nextCursor" });

export const messageIdParams = z.object({ id: z.string().min(1).max(256) });
export const contactIdParams = z.object({ id: chatId });
export const tokenIdParams = z.object({ id: z.string().regex(/^[0-9a-f]{16}$/, 'must be a token id (16 hex characters)') });

export const listMessagesQuery = z
  .object({
    since: instant.optional().meta({ description: 'Only messages at or after this time' }),
    until: instant.optional().meta({ description: 'Only messages before this time (none when not after `since`)' }),
    q: z.string().min(1).max(256).optional().meta({ description: 'Case-insensitive text contained in the body' }),
    chatId: chatId.optional().meta({ description: 'Only this chat (user or group)' }),
    author: chatId.optional().meta({ description: 'Only messages written by this user (e.g. in groups)' }),
    fromMe: boolString.optional().meta({ description: 'true: sent by this account; false: received' }),
    isGroup: boolString.optional().meta({ description: 'Only group (true) or 1:1 (false) messages' }),
    limit,
    cursor,
  })
  .strict();

export const listContactsQuery = z
  .object({
    q: z.string().min(1).max(128).optional().meta({ description: 'Case-insensitive text in the name, push name or number' }),
    isGroup: boolString.optional().meta({ description: 'Only groups (true) or users (false)' }),
    isMyContact: boolString.optional().meta({ description: 'Only saved contacts (true) or others (false)' }),
    limit,
    cursor,
  })
  .strict();

export const sendMessageBody = z
  .object({
    to: z.union([chatId, phone]).meta({ description: 'Chat id (…@c.us, …@g.us) or a phone number in international digits' }),
    text: z.string().min(1, 'must not be empty').max(65_536, 'must be at most 65536 characters'),
    quotedMessageId: z.string().min(1).max(256).optional().meta({ description: 'Id of a message to reply to' }),
  })
  .strict();

export const sendMessageQuery = z
  .object({
    wait: boolString
      .optional()
      .meta({ description: 'true: wait (bounded) until the message is sent or failed; 201 when sent, the error when it failed' }),
  })
  .strict();

/** The `Idempotency-Key` request header: 1–255 visible ASCII characters (a UUID fits). */
export const idempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1 to 255 visible ASCII characters (e.g. a UUID)')
  .meta({
    description:
      'Makes retries safe: the same key from the same token answers with the first message (same id, current status) and ' +
      'sends nothing more; the same key with another message is refused (422 idempotency_key_reused).',
  });

export const loginBody = z
  .object({ phone: phone.optional().meta({ description: 'Log in with a pairing code for this number instead of a QR' }) })
  .strict();

export const permission = z.enum(PERMISSIONS).meta({ description: 'r = read only, w = write only, rw = both' });
export const createTokenBody = z
  .object({
    name: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .meta({ pattern: '^[^\\s\\uFEFF](?:[\\s\\S]{0,98}[^\\s\\uFEFF])?$', description: 'A name, 1–100 characters' }),
    permissions: permission,
  })
  .strict();
export const updateTokenBody = z.object({ permissions: permission }).strict();

export const webhookBody = z
  .object({
    url: z
      .string()
      .max(2048)
      .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), 'must be an http or https URL')
      .meta({ pattern: '^https?://(?:[A-Za-z0-9-]+\\.)*[A-Za-z][A-Za-z0-9-]*(?::[1-9]\\d{0,3})?(?:/[A-Za-z0-9._~-]*)*$' })
      .nullable()
      .meta({ description: 'Receiver URL (http/https), or null to stop deliveries' }),
    secret: z
      .string()
      .min(16, 'must be at least 16 characters')
      .max(256)
      .nullable()
      .optional()
      .meta({ description: 'HMAC-SHA256 key; omitted keeps the current one' }),
    events: z
      .array(z.enum([...WEBHOOK_EVENTS, '*']))
      .max(16)
      .meta({ description: `Subscribed events: ${WEBHOOK_EVENTS.join(', ')}, or * for all` }),
  })
  .strict();

// ---- responses (documentation) ----
export const errorResponse = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) });
/** Who sent a message through the API (`http/sender.ts`). */
export const sentBy = z.object({
  kind: z
    .enum(['member', 'token', 'system'])
    .meta({ description: 'member: a team member (through the main backend); token: an instance token; system: the main backend itself' }),
  tokenId: z.string(),
  tokenName: z.string(),
  member: z
    .object({ id: z.string(), name: z.string() })
    .optional()
    .meta({ description: 'The team member the main backend sent it for (only ever set by its gateway)' }),
});
export const messageView = z.object({
  id: z.string(),
  chatId: z.string(),
  author: z.string(),
  fromMe: z.boolean(),
  isGroup: z.boolean(),
  type: z.string(),
  body: z.string(),
  timestamp: z.string().meta({ description: 'ISO 8601' }),
  ack: z.number().int().meta({ description: '-1 error, 0 pending, 1 server, 2 device, 3 read, 4 played' }),
  quotedMessageId: z.string().optional(),
  sentBy: z
    .union([sentBy, z.object({ kind: z.literal('phone').meta({ description: 'Sent from the phone (or another linked device)' }) })])
    .optional()
    .meta({
      description: 'Outgoing messages: who sent it — a member, an instance token, the system, or the phone; absent on incoming ones',
    }),
  isForwarded: z.boolean().optional().meta({ description: 'Forwarded from another chat' }),
  editedAt: z.string().optional().meta({ description: 'ISO 8601: when its author last edited it' }),
  revokedAt: z
    .string()
    .optional()
    .meta({ description: 'ISO 8601: when its author deleted it for everyone (a tombstone: type `revoked`, body empty)' }),
  reactions: z
    .array(z.object({ sender: z.string(), reaction: z.string(), timestamp: z.string() }))
    .optional()
    .meta({ description: 'Reactions, one per sender' }),
  media: z
    .object({
      mimetype: z.string(),
      filename: z.string().optional(),
      size: z.number().int().optional().meta({ description: 'Bytes' }),
      status: z
        .enum(['pending', 'stored', 'unavailable', 'quota_exceeded', 'failed'])
        .optional()
        .meta({ description: 'Whether the file is stored (GET /v1/messages/{id}/media), still to download, or why not' }),
    })
    .optional()
    .meta({ description: 'Media messages (image, video, audio, ptt, document, sticker): the file' }),
  location: z
    .object({
      latitude: z.number(),
      longitude: z.number(),
      name: z.string().optional(),
      address: z.string().optional(),
      url: z.string().optional(),
    })
    .optional(),
  vcard: z.string().optional().meta({ description: 'Contact cards: the vCard' }),
});
export const outgoingStatus = z.enum(['queued', 'sending', 'sent', 'failed']);
export const outgoingMessageView = z
  .object({
    id: z.string().meta({ description: 'The send queue id (out_…), stable from the first answer on' }),
    status: outgoingStatus.meta({ description: 'queued → sending → sent (then acks), or failed with an error' }),
    chatId: z.string(),
    fromMe: z.literal(true),
    isGroup: z.boolean(),
    type: z
      .enum(['chat', 'image', 'video', 'audio', 'ptt', 'document', 'sticker', 'location', 'vcard'])
      .meta({ description: 'chat (text), a media type, location or vcard (contact card)' }),
    body: z.string().meta({ description: "The text, a media message's caption, or the vCard" }),
    media: z
      .object({ mimetype: z.string(), filename: z.string().optional(), size: z.number().int(), sha256: z.string() })
      .optional()
      .meta({ description: 'Media sends: the stored file (GET /v1/messages/{id}/media)' }),
    location: z
      .object({
        latitude: z.number(),
        longitude: z.number(),
        name: z.string().optional(),
        address: z.string().optional(),
        url: z.string().optional(),
      })
      .optional(),
    quotedMessageId: z.string().optional(),
    forwardOf: z.string().optional().meta({ description: 'A forward: the id of the message forwarded' }),
    sentBy,
    createdAt: z.string().meta({ description: 'ISO 8601: when it was queued' }),
    sentAt: z.string().optional().meta({ description: 'ISO 8601: when WhatsApp took it' }),
    messageId: z.string().optional().meta({ description: 'The WhatsApp message id once sent (the stored message, its acks and events)' }),
    ack: z.number().int().optional().meta({ description: 'Once sent: 1 server, 2 device, 3 read, 4 played' }),
    attempts: z.number().int(),
    error: z.object({ code: z.string(), message: z.string() }).optional().meta({ description: 'Why it failed' }),
  })
  .meta({ description: 'A message of the send queue' });
export const contactView = z.object({
  id: z.string(),
  number: z.string().optional(),
  name: z.string().optional(),
  pushname: z.string().optional(),
  isGroup: z.boolean(),
  isMyContact: z.boolean().optional(),
  participants: z.array(z.string()).optional(),
  updatedAt: z.string(),
});
export const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });
export const tokenView = z.object({
  id: z.string(),
  name: z.string(),
  permissions: permission,
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const reconnectView = z
  .object({
    attempt: z.number().int(),
    maxAttempts: z.number().int(),
    retryAt: z.string().optional().meta({ description: 'When the next retry starts (ISO 8601), while one is scheduled' }),
    exhausted: z.boolean().meta({ description: 'The budget is spent: FAILED until a new start; /health/live answers 503' }),
  })
  .meta({ description: 'The reconnect streak (backoff with jitter), while there is one' });
export const sessionStatusView = z.object({
  state: z.enum(SESSION_STATES).meta({
    description:
      'STOPPED, STARTING (initialising), SCAN_QR_CODE, AUTHENTICATING (linked, loading), WORKING (connected), DISCONNECTED (reconnect scheduled, stored session kept), FAILED',
  }),
  reason: z.string().optional().meta({ description: 'Why the session is in this state (always for FAILED, STOPPED, DISCONNECTED)' }),
  reconnect: reconnectView.optional(),
  account: z.object({ id: z.string(), phone: z.string(), pushname: z.string().optional() }).optional(),
});
export const loginView = sessionStatusView.extend({
  qr: z.string().optional().meta({ description: 'Raw QR string' }),
  qrImage: z.string().optional().meta({ description: 'QR as a PNG data URL' }),
  pairingCode: z.string().optional(),
});
export const healthView = z.object({
  status: z.literal('ok'),
  session: sessionStatusView.omit({ account: true }),
  uptimeMs: z.number(),
});
export const probeView = z.object({
  status: z.enum(['ok', 'failed', 'not_ready']),
  state: z.enum(SESSION_STATES),
  reason: z.string().optional(),
});
export const statsView = z.object({
  state: z.enum(SESSION_STATES),
  uptimeMs: z.number(),
  totals: z.object({ messagesIn: z.number(), messagesOut: z.number(), chats: z.number(), contacts: z.number() }),
  daily: z
    .array(z.object({ day: z.string(), in: z.number(), out: z.number() }))
    .meta({ description: 'The last 30 UTC days, oldest first' }),
});
export const webhookView = z.object({ url: z.string().nullable(), secretSet: z.boolean(), events: z.array(z.string()) });
