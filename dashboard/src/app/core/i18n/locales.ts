/**
 * The dashboard's languages and how one is chosen: the member's saved choice (kept on the user by the api and
 * mirrored in localStorage so the next visit starts in it), else the browser's preferred languages, else English.
 */

/** BCP 47 tags of the languages the dashboard ships, in menu order. `en` is the source language. */
export const LOCALES = ['en', 'ru', 'pt-BR'] as const;
export type Locale = (typeof LOCALES)[number];
export const SOURCE_LOCALE: Locale = 'en';

/** Each language's own name, as its speakers write it (never translated). */
export const LOCALE_NAMES: Record<Locale, string> = { en: 'English', ru: 'Русский', 'pt-BR': 'Português (Brasil)' };

/** localStorage keys of the chosen language and time zone. */
export const LOCALE_KEY = 'wacloud.locale';
export const TIME_ZONE_KEY = 'wacloud.timeZone';

export function isLocale(v: unknown): v is Locale {
  return typeof v === 'string' && (LOCALES as readonly string[]).includes(v);
}

/**
 * The first supported language among `tags` (browser order, e.g. `navigator.languages`): an exact match or the same
 * language (`pt-PT` → `pt-BR`, `ru-UA` → `ru`, `en-GB` → `en`); `en` when none matches.
 */
export function matchLocale(tags: readonly string[]): Locale {
  for (const tag of tags) {
    const exact = LOCALES.find((l) => l.toLowerCase() === tag.toLowerCase());
    if (exact) return exact;
    const lang = tag.toLowerCase().split('-')[0];
    const same = LOCALES.find((l) => l.toLowerCase().split('-')[0] === lang);
    if (same) return same;
  }
  return SOURCE_LOCALE;
}

/** A valid IANA time zone name, or undefined. */
export function validTimeZone(tz: unknown): string | undefined {
  if (typeof tz !== 'string' || !tz) return undefined;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return tz;
  } catch {
    return undefined;
  }
}

/** The language to start in: the saved choice, else the browser's languages. */
export function initialLocale(storage: Pick<Storage, 'getItem'> | null, languages: readonly string[]): Locale {
  const saved = storage?.getItem(LOCALE_KEY);
  return isLocale(saved) ? saved : matchLocale(languages);
}
