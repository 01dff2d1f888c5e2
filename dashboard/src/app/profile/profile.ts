import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { CurrentUser } from '../core/current-user';
import { toApiError } from '../core/api-error';
import { formatDate, formatRelative } from '../shared/format';
import type { User } from '../api/models';
import { formatMoney } from '../shared/money';
import { SignOut } from '../core/sign-out';
import { Preferences } from '../core/i18n/preferences';
import { LOCALE_NAMES, LOCALES, isLocale } from '../core/i18n/locales';
import { valueOf } from '../shared/dom';

/** The browser's list of IANA time zones (every modern browser has `Intl.supportedValuesOf`). */
function timeZones(current: string): string[] {
  const all = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return all.includes(current) ? all : [current, ...all];
}

@Component({
  selector: 'app-profile',
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './profile.html',
})
export class Profile {
  private readonly currentUser = inject(CurrentUser);
  protected readonly signOut = inject(SignOut);
  protected readonly prefs = inject(Preferences);
  readonly user = signal<User | null>(null);
  readonly error = signal<string | null>(null);
  readonly prefsError = signal<string | null>(null);
  protected readonly money = formatMoney;
  protected readonly date = formatDate;
  protected readonly ago = formatRelative;
  protected readonly locales = LOCALES;
  protected readonly names = LOCALE_NAMES;
  protected readonly zones = timeZones(this.prefs.timeZone());
  protected readonly valueOf = valueOf;

  constructor() {
    void this.load();
  }

  async load(): Promise<void> {
    this.error.set(null);
    try {
      const u = await this.currentUser.get();
      this.user.set(u);
      // Chosen on another browser: follow it here too.
      this.prefs.adopt(u);
    } catch (e) {
      this.error.set(toApiError(e).message);
    }
  }

  setLocale(value: string): void {
    if (isLocale(value)) void this.prefs.setLocale(value);
  }

  async setTimeZone(value: string): Promise<void> {
    this.prefsError.set(null);
    try {
      await this.prefs.setTimeZone(value || null);
    } catch (e) {
      this.prefsError.set(toApiError(e).message);
    }
  }
}
