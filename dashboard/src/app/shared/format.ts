/**
 * Display helpers shared by the pages. Dates, numbers and relative times use `Intl` in the dashboard's language
 * and the member's time zone (core/i18n/display.ts); billing days are shown in UTC, where billing runs (00:00 UTC).
 */
import { displayLocale, displayTimeZone } from '../core/i18n/display';
import { dateTimeFormat, numberFormat, prepareFormatters, relativeTimeFormat } from './intl-cache';

function parse(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** An instant with date and time in the member's time zone ('1 dic 2026, 14:05' in pt-BR); '—' when absent. */
export function formatDate(iso: string | null | undefined, locale = displayLocale(), timeZone = displayTimeZone()): string {
  const d = parse(iso);
  if (!d) return iso || '—';
  return dateTimeFormat(locale, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone }).format(
    d,
  );
}

const DAY: Intl.DateTimeFormatOptions = { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' };
const RELATIVE: Intl.RelativeTimeFormatOptions = { numeric: 'auto' };

/** A billing day (period boundaries, paid until): the calendar day in UTC, where billing runs at 00:00; '—' when absent. */
export function formatDay(iso: string | null | undefined, locale = displayLocale()): string {
  const d = parse(iso);
  if (!d) return iso || '—';
  return dateTimeFormat(locale, DAY).format(d);
}

/** A plain number in the dashboard's language (12 345 in ru, 12.345 in pt-BR). */
export function formatNumber(n: number, locale: string = displayLocale(), fractionDigits?: number): string {
  return numberFormat(
    locale,
    fractionDigits === undefined ? {} : { minimumFractionDigits: fractionDigits, maximumFractionDigits: fractionDigits },
  ).format(n);
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600_000],
  ['month', 30 * 24 * 3600_000],
  ['day', 24 * 3600_000],
  ['hour', 3600_000],
  ['minute', 60_000],
  ['second', 1000],
];

/** How long ago or ahead an instant is, in the largest whole unit ('3 minutes ago', 'через 2 дня', 'há 5 segundos'). */
export function formatRelative(iso: string | null | undefined, now = Date.now(), locale = displayLocale()): string {
  const d = parse(iso);
  if (!d) return '';
  const diff = d.getTime() - now;
  const rtf = relativeTimeFormat(locale, RELATIVE);
  for (const [unit, ms] of UNITS) if (Math.abs(diff) >= ms || unit === 'second') return rtf.format(Math.trunc(diff / ms), unit);
  return '';
}

/**
 * Sets up, each in a task of its own, the formatters of {@link formatNumber}, {@link formatDay} and
 * {@link formatRelative} in the dashboard's language: a page calls it when it asks for its data, so that the
 * browser's one-time `Intl` set-up is not part of rendering the answer (issue 18, Lighthouse).
 */
export function prepareDisplayFormatters(locale: string = displayLocale()): void {
  prepareFormatters([() => numberFormat(locale), () => relativeTimeFormat(locale, RELATIVE), () => dateTimeFormat(locale, DAY)]);
}

/** The short name of the member's time zone as the dashboard's language writes it ('GMT-3', 'MSK'). */
export function timeZoneName(locale = displayLocale(), timeZone = displayTimeZone()): string {
  const part = new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: 'short' })
    .formatToParts(new Date())
    .find((p) => p.type === 'timeZoneName');
  return part?.value ?? timeZone;
}

/** A CSS modifier for a session state / phase badge. */
export function badgeClass(value: string | null | undefined): string {
  switch (value) {
    case 'WORKING':
    case 'Running':
      return 'badge ok';
    case 'SCAN_QR_CODE':
    case 'STARTING':
    case 'AUTHENTICATING':
    case 'DISCONNECTED':
    case 'Provisioning':
    case 'Pending':
      return 'badge warn';
    case 'FAILED':
    case 'Failed':
    case 'Suspended':
      return 'badge bad';
    default:
      return 'badge';
  }
}

export function pretty(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value, null, 2);
}

export function randomKey(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? crypto.randomUUID()
    : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}
