import { ChangeDetectionStrategy, Component, computed, inject, input, signal } from '@angular/core';
import { toApiError } from '../core/api-error';
import { valueOf } from '../shared/dom';
import { ContactsApi } from './contacts.service';
import { countryOptions, phoneCountries, type CountryOption } from './countries';

/**
 * The organisation's default country for local phone numbers (`/v1/contact-settings`): numbers typed or imported
 * without a country code are read in it. Owners and admins change it; other members see it.
 */
@Component({
  selector: 'app-default-country',
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './default-country.html',
  styleUrl: './contacts.css',
})
export class DefaultCountry {
  private readonly contacts = inject(ContactsApi);

  /** Whether the member is an owner or admin (only they may change it). */
  readonly admin = input(false);

  /** The stored setting ('' = none); null while loading. */
  readonly saved = signal<string | null>(null);
  /** The choice in the select ('' = none). */
  readonly chosen = signal('');
  readonly countries = signal<CountryOption[]>([]);
  readonly error = signal<string | null>(null);
  readonly notice = signal<string | null>(null);
  readonly busy = signal(false);

  readonly savedName = computed(() => {
    const code = this.saved();
    return code ? (this.countries().find((c) => c.code === code)?.name ?? code) : null;
  });
  readonly changed = computed(() => this.saved() !== null && this.chosen() !== this.saved());
  protected readonly valueOf = valueOf;

  constructor() {
    void this.load();
  }

  async load(): Promise<void> {
    try {
      const [settings, codes] = await Promise.all([this.contacts.settings(), phoneCountries()]);
      this.countries.set(countryOptions(codes));
      this.saved.set(settings.defaultCountry ?? '');
      this.chosen.set(settings.defaultCountry ?? '');
    } catch (e) {
      this.error.set(toApiError(e).message);
    }
  }

  async save(): Promise<void> {
    this.busy.set(true);
    this.error.set(null);
    this.notice.set(null);
    try {
      const r = await this.contacts.setSettings({ defaultCountry: this.chosen() || null });
      this.saved.set(r.defaultCountry ?? '');
      this.chosen.set(r.defaultCountry ?? '');
      this.notice.set($localize`:@@contacts.countrySaved:Default country saved.`);
    } catch (e) {
      this.error.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }
}
