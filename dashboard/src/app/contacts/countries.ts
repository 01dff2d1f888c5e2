/**
 * The countries offered for the default country of local phone numbers: the ISO 3166-1 alpha-2 codes libphonenumber-js
 * knows (the api checks the setting with the same library), named in the dashboard's language by `Intl.DisplayNames`
 * and sorted by that name. libphonenumber-js's metadata is loaded only when the setting is shown (a lazy chunk).
 */
import { displayLocale } from '../core/i18n/display';

/** A country of the list: its code and its name in the dashboard's language. */
export interface CountryOption {
  code: string;
  name: string;
}

/**
 * `codes` as options named in `locale` (a name the runtime does not know: the code itself), sorted by name in that
 * locale; a code that is not two letters is left out.
 */
export function countryOptions(codes: readonly string[], locale: string = displayLocale()): CountryOption[] {
  let names: Intl.DisplayNames | undefined;
  try {
    names = new Intl.DisplayNames([locale], { type: 'region' });
  } catch {
    names = undefined;
  }
  const collator = new Intl.Collator(locale);
  return codes
    .filter((c) => /^[A-Z]{2}$/.test(c))
    .map((code) => {
      let name: string | undefined;
      try {
        name = names?.of(code);
      } catch {
        name = undefined;
      }
      return { code, name: name && name !== code ? name : code };
    })
    .sort((a, b) => collator.compare(a.name, b.name) || a.code.localeCompare(b.code));
}

/** The country codes libphonenumber-js knows, loaded on demand. */
export async function phoneCountries(): Promise<string[]> {
  const { getCountries } = await import('libphonenumber-js/min');
  return getCountries();
}
