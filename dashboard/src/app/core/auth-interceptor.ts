import { HttpErrorResponse, type HttpInterceptorFn } from '@angular/common/http';
import { inject } from '@angular/core';
import { Router } from '@angular/router';
import { catchError, throwError } from 'rxjs';
import { RUNTIME_CONFIG } from './config';
import { SessionStore } from './session';

/** Public endpoints whose 401 means "wrong credentials", not "session ended". */
const NO_REDIRECT = ['/v1/auth/login', '/v1/auth/register'];

/** Adds `Authorization: Bearer <jwt>` to api calls; a 401 forgets the session and goes to the login page. */
export const authInterceptor: HttpInterceptorFn = (req, next) => {
  const session = inject(SessionStore);
  const router = inject(Router);
  const base = inject(RUNTIME_CONFIG).apiBaseUrl;
  const isApi = base ? req.url.startsWith(base) : req.url.startsWith('/');
  const token = isApi ? session.validToken() : null;
  const authed = token && !req.headers.has('authorization') ? req.clone({ setHeaders: { authorization: `Bearer ${token}` } }) : req;
  return next(authed).pipe(
    catchError((err: unknown) => {
      if (err instanceof HttpErrorResponse && err.status === 401 && isApi && !NO_REDIRECT.some((p) => req.url.endsWith(p))) {
        session.clear();
        const returnUrl = router.url && !router.url.startsWith('/login') ? router.url : undefined;
        void router.navigate(['/login'], { queryParams: returnUrl ? { returnUrl, expired: 1 } : { expired: 1 } });
      }
      return throwError(() => err);
    }),
  );
};
