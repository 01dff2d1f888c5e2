import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { RouterLink, RouterLinkActive, RouterOutlet } from '@angular/router';
import { SessionStore } from './core/session';
import { SignOut } from './core/sign-out';

@Component({
  selector: 'app-root',
  imports: [RouterOutlet, RouterLink, RouterLinkActive],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <a class="skip" href="#main">Skip to content</a>
    <header class="topbar">
      <a class="brand" routerLink="/instances" aria-label="wacloud home">wa<span>cloud</span></a>
      @if (session.isLoggedIn()) {
        <nav aria-label="Main">
          <a routerLink="/instances" routerLinkActive="active" ariaCurrentWhenActive="page">Instances</a>
          <a routerLink="/wallet" routerLinkActive="active" ariaCurrentWhenActive="page">Wallet</a>
          <a routerLink="/profile" routerLinkActive="active" ariaCurrentWhenActive="page">Profile</a>
        </nav>
        <button type="button" class="link signout" (click)="signOut.run()" [disabled]="signOut.busy()">Sign out</button>
      }
    </header>
    <main id="main" tabindex="-1">
      <router-outlet />
    </main>
  `,
})
export class App {
  protected readonly session = inject(SessionStore);
  protected readonly signOut = inject(SignOut);
}
