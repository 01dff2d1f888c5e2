import { initialLocale, LOCALE_KEY, matchLocale, validTimeZone } from './locales';
import { direction } from './load';

describe('choosing the language', () => {
  it('takes the first browser language the dashboard ships, by exact tag or by language', () => {
    expect(matchLocale(['pt-BR', 'en'])).toBe('pt-BR');
    expect(matchLocale(['pt-PT'])).toBe('pt-BR');
    expect(matchLocale(['ru-UA', 'en-US'])).toBe('ru');
    expect(matchLocale(['de-DE', 'ru'])).toBe('ru');
    expect(matchLocale(['en-GB', 'ru'])).toBe('en');
    expect(matchLocale(['de', 'fr'])).toBe('en');
    expect(matchLocale([])).toBe('en');
  });

  it('prefers the saved choice over the browser, and ignores a saved value it does not ship', () => {
    const storage = (v: string | null) => ({ getItem: (k: string) => (k === LOCALE_KEY ? v : null) });
    expect(initialLocale(storage('ru'), ['pt-BR'])).toBe('ru');
    expect(initialLocale(storage('xx'), ['pt-BR'])).toBe('pt-BR');
    expect(initialLocale(null, ['ru-RU'])).toBe('ru');
  });

  it('accepts only real IANA time zones', () => {
    expect(validTimeZone('America/Sao_Paulo')).toBe('America/Sao_Paulo');
    expect(validTimeZone('Mars/Olympus')).toBeUndefined();
    expect(validTimeZone(undefined)).toBeUndefined();
  });

  it('knows the writing direction of a locale (an Arabic or Hebrew locale later is a translation)', () => {
    expect(direction('ru')).toBe('ltr');
    expect(direction('pt-BR')).toBe('ltr');
  });
});
