import { ChangeDetectionStrategy, Component, computed, effect, inject } from '@angular/core';
import { RouterLink, RouterLinkActive, RouterOutlet } from '@angular/router';
import { CurrentUser } from './core/current-user';
import { SessionStore } from './core/session';
import { SignOut } from './core/sign-out';
import { LanguageSwitch } from './core/i18n/language-switch';

@Component({
  selector: 'app-root',
  imports: [RouterOutlet, RouterLink, RouterLinkActive, LanguageSwitch],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <a class="skip" href="#main" i18n="@@shell.skip">Skip to content</a>
    <header class="topbar">
      <a class="brand" routerLink="/instances" translate="no" aria-label="wacloud home" i18n-aria-label="@@shell.home"
        >wa<span>cloud</span></a
      >
      @if (session.isLoggedIn()) {
        <nav aria-label="Main" i18n-aria-label="Name of the main navigation@@shell.nav">
          <a routerLink="/instances" routerLinkActive="active" ariaCurrentWhenActive="page" i18n="@@nav.instances">Instances</a>
          <a routerLink="/inbox" routerLinkActive="active" ariaCurrentWhenActive="page" i18n="@@nav.inbox">Inbox</a>
          @if (admin()) {
            <a routerLink="/overview" routerLinkActive="active" ariaCurrentWhenActive="page" i18n="@@nav.overview">Overview</a>
          }
          <a routerLink="/wallet" routerLinkActive="active" ariaCurrentWhenActive="page" i18n="@@nav.wallet">Wallet</a>
          <a routerLink="/team" routerLinkActive="active" ariaCurrentWhenActive="page" i18n="@@nav.team">Team</a>
          <a routerLink="/contacts" routerLinkActive="active" ariaCurrentWhenActive="page" i18n="@@nav.contacts">Contacts</a>
          <a routerLink="/profile" routerLinkActive="active" ariaCurrentWhenActive="page" i18n="@@nav.profile">Profile</a>
        </nav>
      }
      <app-language-switch />
      @if (session.isLoggedIn()) {
        <button type="button" class="link signout" (click)="signOut.run()" [disabled]="signOut.busy()" i18n="@@shell.signOut">
          Sign out
        </button>
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
  private readonly user = inject(CurrentUser);
  /**
   * Whether the signed-in member is an owner or admin (the Overview link): the role remembered with the session, so
   * the link is there from the first render (no layout shift of the top bar when it arrives), refreshed by `GET /v1/me`.
   */
  protected readonly admin = computed(() => {
    const role = this.session.session()?.role;
    return role === 'owner' || role === 'admin';
  });

  constructor() {
    // In a task after the bootstrap's (the first request through HttpClient costs main-thread time of its own: one
    // long task less on a cold load; issue 18, Lighthouse). The answer refreshes the remembered role (CurrentUser) and
    // is shared with the page opened with the top bar.
    effect((onCleanup) => {
      if (!this.session.token()) return;
      const timer = setTimeout(() => this.user.get().catch(() => undefined), 0);
      onCleanup(() => clearTimeout(timer));
    });
  }
}
