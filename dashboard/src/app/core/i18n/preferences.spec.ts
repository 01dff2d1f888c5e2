import { TestBed } from '@angular/core/testing';
import { ApiClient } from '../api';
import { SessionStore } from '../session';
import { LOCALE_KEY, TIME_ZONE_KEY } from './locales';
import { Preferences } from './preferences';

function setup(loggedIn: boolean) {
  const api = { updateMe: vi.fn(async () => ({})) };
  TestBed.configureTestingModule({ providers: [{ provide: ApiClient, useValue: api }] });
  if (loggedIn)
    TestBed.inject(SessionStore).start({
      accessToken: 'jwt',
      tokenType: 'Bearer',
      expiresIn: 3600,
      user: { id: 'u', email: 'a@b.c', balanceMinor: 0, currency: 'USD', createdAt: '' },
    });
  const prefs = TestBed.inject(Preferences);
  const reload = vi.fn();
  prefs.reload = reload;
  return { prefs, api, reload };
}

describe('Preferences (the language switch, remembered per member)', () => {
  beforeEach(() => localStorage.clear());

  it('saves a new language on the member and in this browser, then reloads into it', async () => {
    const { prefs, api, reload } = setup(true);
    await prefs.setLocale('ru');
    expect(api.updateMe).toHaveBeenCalledWith({ locale: 'ru' });
    expect(localStorage.getItem(LOCALE_KEY)).toBe('ru');
    expect(reload).toHaveBeenCalledTimes(1);
  });

  it('before signing in, remembers the language in this browser only', async () => {
    const { prefs, api, reload } = setup(false);
    await prefs.setLocale('pt-BR');
    expect(api.updateMe).not.toHaveBeenCalled();
    expect(localStorage.getItem(LOCALE_KEY)).toBe('pt-BR');
    expect(reload).toHaveBeenCalled();
  });

  it('adopts the language and time zone saved on the member (another browser) and reloads once', () => {
    const { prefs, reload } = setup(true);
    expect(prefs.adopt({ locale: 'pt-BR', timeZone: 'America/Sao_Paulo' })).toBe(true);
    expect(localStorage.getItem(LOCALE_KEY)).toBe('pt-BR');
    expect(localStorage.getItem(TIME_ZONE_KEY)).toBe('America/Sao_Paulo');
    expect(reload).toHaveBeenCalledTimes(1);
    expect(prefs.adopt({ locale: 'en' })).toBe(false);
  });

  it('does not reload again when the page fell back to English because the saved language did not load', () => {
    localStorage.setItem(LOCALE_KEY, 'ru');
    const { prefs, reload } = setup(true);
    expect(prefs.locale()).toBe('en');
    expect(prefs.adopt({ locale: 'ru' })).toBe(false);
    expect(reload).not.toHaveBeenCalled();
  });

  it('saves on the member a language chosen before signing in', () => {
    localStorage.setItem(LOCALE_KEY, 'ru');
    const { prefs, api } = setup(true);
    prefs.adopt({});
    expect(api.updateMe).toHaveBeenCalledWith({ locale: 'ru' });
  });

  it('saves the time zone on the member; null goes back to the browser zone', async () => {
    const { prefs, api } = setup(true);
    await prefs.setTimeZone('Europe/Moscow');
    expect(api.updateMe).toHaveBeenCalledWith({ timeZone: 'Europe/Moscow' });
    expect(localStorage.getItem(TIME_ZONE_KEY)).toBe('Europe/Moscow');
    await prefs.setTimeZone(null);
    expect(localStorage.getItem(TIME_ZONE_KEY)).toBeNull();
  });
});
