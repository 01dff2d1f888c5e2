import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { ApiClient } from '../core/api';
import { toApiError } from '../core/api-error';
import { formatDate } from '../shared/format';
import type { User } from '../api/models';
import { formatMoney } from '../shared/money';
import { SignOut } from '../core/sign-out';

@Component({
  selector: 'app-profile',
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <h1>Profile</h1>
    @if (error(); as e) {
      <p class="error" role="alert">
        Could not load the profile: {{ e }} <button type="button" class="link" (click)="load()">Retry</button>
      </p>
    } @else if (user(); as u) {
      <section class="card narrow">
        <dl class="facts stacked">
          <div>
            <dt>Email</dt>
            <dd data-testid="profile-email">{{ u.email }}</dd>
          </div>
          <div>
            <dt>Balance</dt>
            <dd data-testid="profile-balance">{{ money(u.balanceMinor, u.currency) }} <a routerLink="/wallet">Top up</a></dd>
          </div>
          <div>
            <dt>Member since</dt>
            <dd>{{ date(u.createdAt) }}</dd>
          </div>
          <div>
            <dt>Account id</dt>
            <dd>
              <code>{{ u.id }}</code>
            </dd>
          </div>
        </dl>
        <button type="button" class="danger-outline" (click)="signOut.run()" [disabled]="signOut.busy()">Sign out</button>
      </section>
    } @else {
      <p class="muted" role="status">Loading the profile…</p>
    }
  `,
})
export class Profile {
  private readonly api = inject(ApiClient);
  protected readonly signOut = inject(SignOut);
  readonly user = signal<User | null>(null);
  readonly error = signal<string | null>(null);
  protected readonly money = formatMoney;
  protected readonly date = formatDate;

  constructor() {
    void this.load();
  }

  async load(): Promise<void> {
    this.error.set(null);
    try {
      this.user.set(await this.api.me());
    } catch (e) {
      this.error.set(toApiError(e).message);
    }
  }
}
