/**
 * Runtime translation loading: before the app boots, picks the language, fetches its messages (a lazy chunk per
 * language, never part of the initial bundle) and Angular's locale data for plural rules, and hands the messages to
 * `$localize` (`loadTranslations`). English is the source language and loads nothing.
 */
import { registerLocaleData } from '@angular/common';
import { loadTranslations } from '@angular/localize';
import { setDisplay } from './display';
import { initialLocale, TIME_ZONE_KEY, validTimeZone, type Locale } from './locales';

/** Translations of one language: message id → message (Angular's JSON format, `{$PLACEHOLDER}` markers). */
interface MessagesFile {
  locale: string;
  translations: Record<string, string>;
}

async function messagesOf(locale: Locale): Promise<MessagesFile | null> {
  switch (locale) {
    case 'ru':
      return (await import('../../../locale/messages.ru.json')).default;
    case 'pt-BR':
      return (await import('../../../locale/messages.pt-BR.json')).default;
    default:
      return null;
  }
}

async function localeDataOf(locale: Locale): Promise<unknown[] | null> {
  switch (locale) {
    case 'ru':
      return (await import('@angular/common/locales/ru')).default;
    case 'pt-BR':
      return (await import('@angular/common/locales/pt')).default;
    default:
      return null;
  }
}

/**
 * Chooses the language (saved choice, else `navigator.languages`) and time zone (saved, else the browser's), loads
 * the translations, and sets `<html lang dir>`. Must run before any `$localize` string is evaluated.
 * @returns the chosen language (BCP 47); never throws (falls back to English when a chunk fails to load).
 */
export async function loadLocale(
  storage: Storage | null = typeof localStorage === 'undefined' ? null : localStorage,
  languages: readonly string[] = typeof navigator === 'undefined' ? [] : navigator.languages,
): Promise<Locale> {
  let locale = initialLocale(storage, languages);
  try {
    const [messages, data] = await Promise.all([messagesOf(locale), localeDataOf(locale)]);
    if (data) registerLocaleData(data, locale);
    if (messages) loadTranslations(messages.translations);
  } catch (err) {
    console.warn(`wacloud: the ${locale} translations did not load; showing English`, err);
    locale = 'en';
  }
  setDisplay(locale, validTimeZone(storage?.getItem(TIME_ZONE_KEY)));
  if (typeof document !== 'undefined') {
    document.documentElement.lang = locale;
    document.documentElement.dir = direction(locale);
  }
  return locale;
}

/** `rtl` for right-to-left scripts (Arabic, Hebrew), from the runtime's locale data; `ltr` otherwise. */
export function direction(locale: string): 'ltr' | 'rtl' {
  try {
    const l = new Intl.Locale(locale) as Intl.Locale & { getTextInfo?: () => { direction?: string }; textInfo?: { direction?: string } };
    return (l.getTextInfo?.() ?? l.textInfo)?.direction === 'rtl' ? 'rtl' : 'ltr';
  } catch {
    return 'ltr';
  }
}
