import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { valueOf } from '../../shared/dom';
import { isLocale, LOCALE_NAMES, LOCALES } from './locales';
import { Preferences } from './preferences';

/** The language menu of the top bar: each language in its own name; choosing one saves it and reloads. */
@Component({
  selector: 'app-language-switch',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <label class="lang">
      <span class="visually-hidden" i18n="@@shell.language">Language</span>
      <select data-testid="language" (change)="choose(valueOf($event))">
        @for (l of locales; track l) {
          <option [value]="l" [selected]="l === prefs.locale()" [attr.lang]="l">{{ names[l] }}</option>
        }
      </select>
    </label>
  `,
})
export class LanguageSwitch {
  protected readonly prefs = inject(Preferences);
  protected readonly locales = LOCALES;
  protected readonly names = LOCALE_NAMES;
  protected readonly valueOf = valueOf;

  choose(value: string): void {
    if (isLocale(value)) void this.prefs.setLocale(value);
  }
}
