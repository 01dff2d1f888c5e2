/**
 * Normalisation of what identifies a person: phone numbers to E.164 (libphonenumber-js; local numbers read with the
 * organisation's default country), emails, WhatsApp ids, display and sort names, and the key ids of `contact_keys`.
 */
import { parsePhoneNumberFromString, isSupportedCountry, type CountryCode } from 'libphonenumber-js';

/** Why a phone number was refused. */
export type PhoneProblem = 'invalid_phone' | 'country_required';

/**
 * A phone number as typed by a person (an import, a form) in E.164. International forms (`+…`, `00…`) need no
 * country; local ones are read in `defaultCountry`. The number must be valid for its country (libphonenumber-js's
 * metadata).
 * @returns `{ phone }` or `{ problem }`.
 */
export function normalisePhone(input: string, defaultCountry?: string | null): { phone: string } | { problem: PhoneProblem } {
  let raw = input.trim();
  if (!/\d/.test(raw) || raw.length > 40) return { problem: 'invalid_phone' };
  if (raw.startsWith('00')) raw = '+' + raw.slice(2);
  const country = defaultCountry && isSupportedCountry(defaultCountry) ? (defaultCountry as CountryCode) : undefined;
  const valid = (text: string, c?: CountryCode): string | undefined => {
    const parsed = parsePhoneNumberFromString(text, c);
    return parsed?.isValid() ? parsed.number : undefined;
  };
  if (raw.startsWith('+')) {
    const phone = valid(raw);
    return phone ? { phone } : { problem: 'invalid_phone' };
  }
  // A local number, read in the default country; bare digits may also be an international number without its plus
  // (how WhatsApp and many exports write them).
  const local = country ? valid(raw, country) : undefined;
  if (local) return { phone: local };
  const bare = /^\d{10,15}$/.test(raw) ? valid('+' + raw) : undefined;
  if (bare) return { phone: bare };
  return { problem: country ? 'invalid_phone' : 'country_required' };
}

/**
 * The E.164 number of a WhatsApp user id (`<digits>@c.us`), or of the `number` an instance reports for it. WhatsApp
 * only knows numbers that exist, so any possible length is taken (fictional test ranges included).
 * @returns undefined for groups, `@lid` ids without a number, and impossible numbers.
 */
export function phoneOfWhatsApp(waId: string, number?: string): string | undefined {
  const digits = number?.replace(/\D/g, '') || (waId.endsWith('@c.us') ? waId.slice(0, -5) : '');
  if (!/^\d{6,15}$/.test(digits)) return undefined;
  const parsed = parsePhoneNumberFromString('+' + digits);
  return parsed?.isPossible() ? parsed.number : undefined;
}

/** A lower-cased email, or undefined when it does not look like one. */
export function normaliseEmail(input: string): string | undefined {
  const e = input.trim().toLowerCase();
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e) && e.length <= 254 ? e : undefined;
}

/** Whether `c` is an ISO 3166-1 alpha-2 code libphonenumber-js knows. */
export function isCountry(c: string): boolean {
  return isSupportedCountry(c);
}

/**
 * The E.164 strings starting with the digits of `prefix` (`+55 11`, `5511` → `+5511`), as an anchored `$regex` on
 * `phones` (an index prefix scan on MongoDB). Not a `$gte`/`$lt` range: FerretDB on PostgreSQL does not match ranges
 * against array elements. Undefined when it has no digit.
 */
export function phonePrefixMatch(prefix: string): { $regex: string } | undefined {
  const digits = prefix.replace(/\D/g, '').slice(0, 15);
  if (!digits) return undefined;
  return { $regex: '^\\+' + digits };
}

/** Sorted, de-duplicated copy. */
export function sortedSet<T extends string>(values: Iterable<T>): T[] {
  return [...new Set(values)].sort();
}

/** Key id of a phone in `contact_keys`. */
export const phoneKey = (orgId: string, phone: string): string => `${orgId}|p|${phone}`;
/** Key id of a WhatsApp id in `contact_keys`. */
export const waKey = (orgId: string, waId: string): string => `${orgId}|w|${waId}`;

/** The name shown for a contact: its own name, else a WhatsApp name, else its first phone. */
export function displayName(c: {
  name: string | null;
  identities: Array<{ name?: string | undefined; pushname?: string | undefined }>;
  phones: string[];
  emails: string[];
}): string {
  return (
    c.name ?? c.identities.find((i) => i.name)?.name ?? c.identities.find((i) => i.pushname)?.pushname ?? c.phones[0] ?? c.emails[0] ?? ''
  );
}
