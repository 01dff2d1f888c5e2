/** Money is integer minor units on the wire (e.g. 1500 = 15.00 USD), shown in the dashboard's language. */
import { displayLocale } from '../core/i18n/display';
import { numberFormat, prepareFormatters } from './intl-cache';

const digitsOf = new Map<string, number>();

/** Number of minor-unit digits of an ISO 4217 currency (USD 2, JPY 0, KWD 3). */
export function currencyDigits(currency: string): number {
  let digits = digitsOf.get(currency);
  if (digits === undefined) {
    try {
      digits = numberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      digits = 2;
    }
    digitsOf.set(currency, digits);
  }
  return digits;
}

/** 1500, 'USD' → '$15.00' in en, '15,00 $' in ru, 'US$ 15,00' in pt-BR (the dashboard's language unless given). */
export function formatMoney(minor: number, currency: string, locale: string = displayLocale()): string {
  const digits = currencyDigits(currency);
  const major = minor / 10 ** digits;
  try {
    return numberFormat(locale, {
      style: 'currency',
      currency,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(major);
  } catch {
    return `${major.toFixed(digits)} ${currency}`;
  }
}

/** Sets up (in tasks of their own, see shared/intl-cache.ts) the formatters of {@link formatMoney} for `currency`. */
export function prepareMoneyFormatter(currency: string, locale: string = displayLocale()): void {
  prepareFormatters([() => formatMoney(0, currency, locale)]);
}

/**
 * A major-unit amount typed by a person ('15', '15.5', '15,50') → minor units (1550), or null when it is not a
 * positive amount with at most the currency's number of decimals.
 */
export function parseMajorToMinor(input: string, currency: string): number | null {
  const digits = currencyDigits(currency);
  const s = input.trim().replace(',', '.');
  const m = /^(\d{1,12})(?:\.(\d*))?$/.exec(s);
  if (!m) return null;
  const frac = m[2] ?? '';
  if (frac.length > digits) return null;
  const minor = Number(m[1]) * 10 ** digits + Number(frac.padEnd(digits, '0') || '0');
  return Number.isSafeInteger(minor) && minor > 0 ? minor : null;
}
