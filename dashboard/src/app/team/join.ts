import { ChangeDetectionStrategy, Component, inject, input, signal } from '@angular/core';
import { Router } from '@angular/router';
import { toApiError } from '../core/api-error';
import { SessionStore } from '../core/session';
import { valueOf } from '../shared/dom';
import { TeamApi } from './team-api';

/**
 * The invitation link's page (`/join?token=…`): the invitee chooses a password (a new account) or enters its own (an
 * existing one), and is signed in as a member of the inviting organisation.
 */
@Component({
  selector: 'app-join',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <section class="card narrow" aria-labelledby="join-title">
      <h1 id="join-title" i18n="@@join.title">Join a team</h1>
      @if (!token()) {
        <p class="error" role="alert" i18n="@@join.noToken">This link has no invitation in it; ask for a new one.</p>
      } @else {
        <p i18n="@@join.help">New here: choose a password. Already have an account with the invited email: enter its password.</p>
        <form (submit)="$event.preventDefault(); submit()" novalidate>
          <label for="join-password" i18n="@@field.password">Password</label>
          <input
            id="join-password"
            name="password"
            type="password"
            autocomplete="new-password"
            required
            minlength="8"
            [value]="password()"
            (input)="password.set(valueOf($event))"
            [attr.aria-invalid]="error() ? true : null"
          />
          @if (error()) {
            <p class="error" role="alert">{{ error() }}</p>
          }
          <button type="submit" class="primary" [disabled]="busy()" i18n="@@join.submit">Join</button>
        </form>
      }
    </section>
  `,
})
export class Join {
  private readonly team = inject(TeamApi);
  private readonly session = inject(SessionStore);
  private readonly router = inject(Router);

  /** Query parameter (router input binding). */
  readonly token = input<string | undefined>();
  readonly password = signal('');
  readonly busy = signal(false);
  readonly error = signal<string | null>(null);
  protected readonly valueOf = valueOf;

  async submit(): Promise<void> {
    if (this.password().length < 8) {
      this.error.set($localize`:@@join.short:The password needs at least 8 characters.`);
      return;
    }
    this.busy.set(true);
    this.error.set(null);
    try {
      this.session.start(await this.team.accept(this.token()!, this.password()));
      await this.router.navigateByUrl('/instances');
    } catch (e) {
      this.error.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }
}
