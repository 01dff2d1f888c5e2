import { ChangeDetectionStrategy, Component, inject, input, signal } from '@angular/core';
import { Router, RouterLink } from '@angular/router';
import { ApiClient } from '../core/api';
import { toApiError } from '../core/api-error';
import { valueOf } from '../shared/dom';
import { SessionStore } from '../core/session';
import { Preferences } from '../core/i18n/preferences';

@Component({
  selector: 'app-login',
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <section class="card narrow" aria-labelledby="login-title">
      <h1 id="login-title" i18n="@@login.title">Log in</h1>
      @if (expired()) {
        <p class="notice" role="status" i18n="@@login.expired">Your session has ended. Log in again.</p>
      }
      <form (submit)="$event.preventDefault(); submit()" novalidate>
        <label for="login-email" i18n="@@field.email">Email</label>
        <input
          id="login-email"
          name="email"
          type="email"
          autocomplete="username"
          required
          [value]="email()"
          (input)="email.set(valueOf($event))"
        />
        <label for="login-password" i18n="@@field.password">Password</label>
        <input
          id="login-password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          [value]="password()"
          (input)="password.set(valueOf($event))"
        />
        @if (error()) {
          <p class="error" role="alert">{{ error() }}</p>
        }
        <button type="submit" class="primary" [disabled]="busy()">
          @if (busy()) {
            <ng-container i18n="@@login.busy">Logging in…</ng-container>
          } @else {
            <ng-container i18n="@@login.submit">Log in</ng-container>
          }
        </button>
      </form>
      <p i18n="@@login.noAccount">No account yet? <a routerLink="/register">Create one</a>.</p>
    </section>
  `,
})
export class Login {
  private readonly api = inject(ApiClient);
  private readonly session = inject(SessionStore);
  private readonly router = inject(Router);
  private readonly prefs = inject(Preferences);

  /** Query parameters (router input binding). */
  readonly returnUrl = input<string | undefined>();
  readonly expired = input<string | undefined>();

  readonly email = signal('');
  readonly password = signal('');
  readonly busy = signal(false);
  readonly error = signal<string | null>(null);
  protected readonly valueOf = valueOf;

  async submit(): Promise<void> {
    if (!this.email().trim() || !this.password()) {
      this.error.set($localize`:@@login.missing:Enter your email and password.`);
      return;
    }
    this.busy.set(true);
    this.error.set(null);
    try {
      const res = await this.api.login(this.email().trim(), this.password());
      this.session.start(res);
      const back = this.returnUrl();
      await this.router.navigateByUrl(back && back.startsWith('/') && !back.startsWith('//') ? back : '/instances');
      // The member's saved language / time zone: reloads into it when this browser shows another.
      this.prefs.adopt(res.user);
    } catch (e) {
      this.error.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }
}
