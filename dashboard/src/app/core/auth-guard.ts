import { inject } from '@angular/core';
import { Router, type CanActivateFn } from '@angular/router';
import { SessionStore } from './session';

/** Pages that need a session; without one, the login page (coming back afterwards). */
export const authGuard: CanActivateFn = (_route, state) => {
  if (inject(SessionStore).validToken()) return true;
  return inject(Router).createUrlTree(['/login'], { queryParams: { returnUrl: state.url } });
};

/** Login/registration: a signed-in user goes to the instances. */
export const guestGuard: CanActivateFn = () => (inject(SessionStore).validToken() ? inject(Router).createUrlTree(['/instances']) : true);
