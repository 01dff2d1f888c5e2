/**
 * The member's language and time zone: shown by the switch in the top bar and the profile, saved on the user by the
 * api (PATCH /v1/me) when signed in and in localStorage for the next visit. A new language takes effect by reloading
 * (the translations are loaded once, before the app starts).
 */
import { computed, inject, Injectable, signal } from '@angular/core';
import type { User } from '../../api/models';
import { ApiClient } from '../api';
import { SessionStore } from '../session';
import { displayLocale, displayTimeZone } from './display';
import { isLocale, LOCALE_KEY, TIME_ZONE_KEY, validTimeZone, type Locale } from './locales';

@Injectable({ providedIn: 'root' })
export class Preferences {
  private readonly api = inject(ApiClient);
  private readonly session = inject(SessionStore);
  private readonly storage: Storage | null = typeof localStorage === 'undefined' ? null : localStorage;
  /** Replaced in unit tests (jsdom cannot reload). */
  reload: () => void = () => location.reload();

  readonly locale = signal<Locale>(displayLocale());
  /**
   * Read lazily: the browser's own zone (`Intl.DateTimeFormat().resolvedOptions()`) loads the time-zone data, tens of
   * ms of the first render on a slow CPU (Lighthouse, issue 18), which the login page never needs.
   */
  readonly timeZone = computed(() => displayTimeZone());
  /** The time zone was chosen by the member (else it follows the browser). */
  readonly timeZoneSaved = signal<boolean>(!!validTimeZone(this.storage?.getItem(TIME_ZONE_KEY)));

  /**
   * Switches the language: saves it (on the user when signed in; a failed save still switches this browser) and
   * reloads the page in it. Nothing happens when it is already the language.
   */
  async setLocale(locale: Locale): Promise<void> {
    if (locale === this.locale()) return;
    this.storage?.setItem(LOCALE_KEY, locale);
    if (this.session.isLoggedIn()) await this.api.updateMe({ locale }).catch(() => undefined);
    this.reload();
  }

  /**
   * Saves the member's time zone (null = follow the browser) on the user and here, then reloads so every date shows in it.
   * @throws ApiError when the api refuses it (unknown zone).
   */
  async setTimeZone(timeZone: string | null): Promise<void> {
    if (this.session.isLoggedIn()) await this.api.updateMe({ timeZone });
    if (timeZone) this.storage?.setItem(TIME_ZONE_KEY, timeZone);
    else this.storage?.removeItem(TIME_ZONE_KEY);
    this.reload();
  }

  /**
   * Adopts the preferences saved on the user (after login, or when the profile loads on another browser): a
   * different language or time zone than this page's is stored and the page reloads in it.
   * @returns true when a reload was started.
   */
  adopt(user: Pick<User, 'locale' | 'timeZone'>): boolean {
    let changed = false;
    const saved = this.storage?.getItem(LOCALE_KEY);
    // Compared with what this browser saved (not with the page's language), so a language whose translations
    // failed to load (the page fell back to English) cannot reload the page in a loop.
    if (isLocale(user.locale) && user.locale !== saved) {
      this.storage?.setItem(LOCALE_KEY, user.locale);
      changed = user.locale !== this.locale();
    }
    const tz = validTimeZone(user.timeZone);
    if (tz && tz !== this.storage?.getItem(TIME_ZONE_KEY)) {
      this.storage?.setItem(TIME_ZONE_KEY, tz);
      changed = changed || tz !== this.timeZone();
    }
    // Chosen on the login page before signing in, never saved on the user: save it now.
    if (!user.locale && isLocale(saved)) void this.api.updateMe({ locale: saved }).catch(() => undefined);
    if (changed) this.reload();
    return changed;
  }
}
