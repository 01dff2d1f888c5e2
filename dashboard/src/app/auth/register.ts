import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { Router, RouterLink } from '@angular/router';
import { ApiClient } from '../core/api';
import { toApiError } from '../core/api-error';
import { valueOf } from '../shared/dom';
import { SessionStore } from '../core/session';
import { Preferences } from '../core/i18n/preferences';

export const MIN_PASSWORD = 8;

@Component({
  selector: 'app-register',
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <section class="card narrow" aria-labelledby="register-title">
      <h1 id="register-title" i18n="@@register.title">Create an account</h1>
      <form (submit)="$event.preventDefault(); submit()" novalidate>
        <label for="reg-email" i18n="@@field.email">Email</label>
        <input
          id="reg-email"
          name="email"
          type="email"
          autocomplete="email"
          required
          [value]="email()"
          (input)="email.set(valueOf($event))"
        />
        <label for="reg-password" i18n="@@register.password"
          >Password
          <span class="hint"
            >(at least
            {{
              min // i18n(ph="min")
            }}
            characters)</span
          ></label
        >
        <input
          id="reg-password"
          name="password"
          type="password"
          autocomplete="new-password"
          required
          [value]="password()"
          (input)="password.set(valueOf($event))"
        />
        <label for="reg-confirm" i18n="@@register.confirm">Repeat the password</label>
        <input
          id="reg-confirm"
          name="confirm"
          type="password"
          autocomplete="new-password"
          required
          [value]="confirm()"
          (input)="confirm.set(valueOf($event))"
        />
        @if (error()) {
          <p class="error" role="alert">{{ error() }}</p>
        }
        <button type="submit" class="primary" [disabled]="busy()">
          @if (busy()) {
            <ng-container i18n="@@register.busy">Creating…</ng-container>
          } @else {
            <ng-container i18n="@@register.submit">Create account</ng-container>
          }
        </button>
      </form>
      <p i18n="@@register.haveAccount">Already registered? <a routerLink="/login">Log in</a>.</p>
    </section>
  `,
})
export class Register {
  private readonly api = inject(ApiClient);
  private readonly session = inject(SessionStore);
  private readonly router = inject(Router);
  private readonly prefs = inject(Preferences);

  readonly email = signal('');
  readonly password = signal('');
  readonly confirm = signal('');
  readonly busy = signal(false);
  readonly error = signal<string | null>(null);
  protected readonly min = MIN_PASSWORD;
  protected readonly valueOf = valueOf;

  /** The first problem with the form, or null. */
  readonly problem = computed(() => {
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(this.email().trim())) return $localize`:@@register.badEmail:Enter a valid email address.`;
    if (this.password().length < MIN_PASSWORD)
      return $localize`:@@register.shortPassword:The password needs at least ${MIN_PASSWORD}:min: characters.`;
    if (this.password() !== this.confirm()) return $localize`:@@register.mismatch:The passwords do not match.`;
    return null;
  });

  async submit(): Promise<void> {
    const problem = this.problem();
    if (problem) {
      this.error.set(problem);
      return;
    }
    this.busy.set(true);
    this.error.set(null);
    try {
      await this.api.register(this.email().trim(), this.password());
      const login = await this.api.login(this.email().trim(), this.password());
      this.session.start(login);
      await this.router.navigateByUrl('/instances');
      // Saves the language chosen before registering (or the one the browser asked for) on the new member.
      this.prefs.adopt(login.user);
    } catch (e) {
      this.error.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }
}
