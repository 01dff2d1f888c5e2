import { inject, Injectable, signal } from '@angular/core';
import { Router } from '@angular/router';
import { ApiClient } from './api';
import { SessionStore } from './session';

/** Logout: POST /v1/auth/logout (best effort), then forget the token and go to the login page. */
@Injectable({ providedIn: 'root' })
export class SignOut {
  private readonly api = inject(ApiClient);
  private readonly session = inject(SessionStore);
  private readonly router = inject(Router);
  readonly busy = signal(false);

  async run(): Promise<void> {
    this.busy.set(true);
    try {
      if (this.session.validToken()) await this.api.logout().catch(() => undefined);
    } finally {
      this.session.clear();
      this.busy.set(false);
      await this.router.navigate(['/login']);
    }
  }
}
