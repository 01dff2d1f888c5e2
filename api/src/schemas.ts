/** zod schemas of the api's inputs and outputs (validation and /openapi.json). */
import { z } from 'zod';
import { wholeNumberQuery } from '@wacloud/kit';
import { LOCALES } from './accounts.js';

/*
 * Documented forms: where the parser is lenient (it trims, lower-cases, or checks with code), `.meta({ pattern })`
 * documents the exact form it takes, so that every value valid by the document is accepted (the fuzzer checks this).
 */

/** The documented form of an email address: what z.email() accepts, without surrounding spaces. */
const EMAIL_PATTERN = "^[A-Za-z0-9_+-]+(?:[.'][A-Za-z0-9_+-]+)*@(?:[A-Za-z0-9][A-Za-z0-9-]*\\.)+[A-Za-z]{2,}$";
/** A name that is not blank: no leading or trailing space (the parser trims) and `inner` characters in between. */
const namePattern = (inner: string, ends: string, max: number) => `^${ends}(?:${inner}{0,${max - 2}}${ends})?$`;

export const email = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .pipe(z.email({ message: 'must be an email address' }))
  .meta({ pattern: EMAIL_PATTERN, description: 'An email address (case-insensitive)' });
export const password = z.string().min(8, 'must be at least 8 characters').max(256, 'must be at most 256 characters');
export const credentials = z.object({ email, password }).strict();
export const instanceIdParams = z.object({ id: z.string().regex(/^i-[a-z2-7]{12}$/, 'must be an instance id like i-abcdefgh2345') });
export const tokenParams = instanceIdParams.extend({
  tokenId: z.string().regex(/^[0-9a-f]{16}$/, 'must be a token id (16 hex characters)'),
});
export const permission = z.enum(['r', 'w', 'rw']).meta({ description: 'r = read only, w = write only, rw = both' });
export const createTokenBody = z
  .object({
    name: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .meta({ pattern: namePattern('[\\s\\S]', '[^\\s\\uFEFF]', 100), description: 'A name, 1–100 characters' }),
    permissions: permission,
  })
  .strict();
export const updateTokenBody = z.object({ permissions: permission }).strict();
export const createInstanceBody = z
  .object({
    name: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(64)
      .regex(/^[\p{L}\p{N} ._-]+$/u, 'may contain letters, digits, spaces, dot, dash, underscore')
      .meta({
        pattern: namePattern('[\\p{L}\\p{N} ._-]', '[\\p{L}\\p{N}._-]', 64),
        description: 'Letters, digits, spaces, dot, dash, underscore; 1–64 characters, no leading or trailing space',
      }),
  })
  .strict();
export const depositBody = (maxMinor: number) =>
  z
    .object({
      amount: z
        .number({ message: 'must be a number of minor currency units (e.g. 1500 for 15.00)' })
        .int('must be a whole number of minor currency units (e.g. 1500 for 15.00)')
        .positive('must be positive')
        .max(maxMinor, `must be at most ${maxMinor}`)
        .meta({ description: 'Minor currency units (cents)' }),
    })
    .strict();
/** The `Idempotency-Key` header of a deposit: 1–128 letters, digits, `.`, `_`, `:` or `-`. */
export const idempotencyKey = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be 1–128 characters of letters, digits, . _ : -')
  .meta({ description: 'Makes retries safe: a repeated key answers with the first deposit and moves no money again' });
export const pageQuery = z
  .object({
    limit: wholeNumberQuery(200).meta({ description: 'Page size, 1–200 (default 50)' }),
    // Any other string is refused by the route as `invalid_cursor` (400).
    cursor: z.string().max(200).meta({ pattern: '^\\d{1,16}$' }).optional().meta({ description: "The previous page's nextCursor" }),
  })
  .strict();

export const errorResponse = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) });
export const userView = z.object({
  id: z.string(),
  email: z.string(),
  balanceMinor: z.number().int(),
  currency: z.string(),
  createdAt: z.string(),
  locale: z.enum(LOCALES).optional().meta({ description: "the member's dashboard language; absent until chosen" }),
  timeZone: z.string().optional().meta({ description: "the member's IANA time zone; absent until chosen" }),
  organisationId: z.string().optional().meta({ description: "the member's organisation (GET/PATCH /v1/me)" }),
  memberId: z.string().optional(),
  role: z.enum(['owner', 'admin', 'agent']).optional(),
});
/** The canonical IANA time zone names of the runtime, as a pattern (the parser also takes their aliases). */
const TIME_ZONE_PATTERN = `^(?:${['UTC', ...Intl.supportedValuesOf('timeZone')].map((tz) => tz.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`;
/** An IANA time zone name the runtime knows (`Europe/Moscow`, `America/Sao_Paulo`, `UTC`). */
const timeZone = z
  .string()
  .max(64)
  .meta({ pattern: TIME_ZONE_PATTERN })
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone such as Europe/Moscow');
export const preferencesBody = z
  .object({
    locale: z.enum(LOCALES).nullable().optional().meta({ description: 'en, ru or pt-BR; null forgets the choice' }),
    timeZone: timeZone.nullable().optional().meta({ description: 'an IANA time zone; null forgets the choice' }),
  })
  .strict();
export const loginView = z.object({
  accessToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().meta({ description: 'seconds' }),
  user: userView,
});
export const ledgerView = z.object({
  id: z.string(),
  type: z.enum(['deposit', 'charge', 'refund']),
  amountMinor: z.number().int(),
  balanceAfterMinor: z.number().int(),
  instanceId: z.string().optional(),
  period: z.object({ start: z.string(), end: z.string() }).optional(),
  memo: z.string(),
  createdAt: z.string(),
});
export const instanceView = z.object({
  id: z.string(),
  name: z.string(),
  engine: z.enum(['webjs', 'simulated']),
  provider: z.string(),
  createdAt: z.string(),
  paidUntil: z.string(),
  suspended: z.boolean().meta({ description: 'Suspended by billing for an unpaid period (a top-up resumes it)' }),
  suspendedAt: z.string().nullable(),
  stopped: z.boolean().meta({ description: 'Stopped by its tenant (POST …/stop); still billed' }),
  stoppedAt: z.string().nullable(),
  phase: z.string().meta({
    description:
      "`Stopped` (its tenant stopped it), `Suspended` (billing), else the runtime's: `Pending`, `Provisioning`, `Running`, `Failed`, `Terminating`, `NotFound`",
  }),
  sessionState: z.string().nullable(),
  message: z.string().optional(),
  rights: z
    .object({ canRead: z.boolean(), canWrite: z.boolean(), canManageChats: z.boolean() })
    .optional()
    .meta({ description: "The caller's rights on the instance (owners and admins: all)" }),
});
export const tokenView = z.object({
  id: z.string(),
  name: z.string(),
  permissions: permission,
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const pricingView = z.object({
  monthlyPriceMinor: z.number().int(),
  currency: z.string(),
  period: z.literal('P1M'),
  billing: z.string(),
});
