/**
 * The display settings every formatter reads: the language and the member's time zone. Set once before the app
 * starts (`loadLocale`); a change of language reloads the page, so they never change while components are alive.
 */
import { SOURCE_LOCALE, type Locale } from './locales';

let locale: Locale = SOURCE_LOCALE;
let timeZone: string | undefined;

/** Sets the language and the time zone (undefined = the browser's). */
export function setDisplay(l: Locale, tz?: string): void {
  locale = l;
  timeZone = tz;
}

/** The dashboard's language (BCP 47). */
export function displayLocale(): Locale {
  return locale;
}

/** The member's IANA time zone: the saved one, else the browser's. */
export function displayTimeZone(): string {
  return timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
}
