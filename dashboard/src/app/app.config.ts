import { APP_BOOTSTRAP_LISTENER, type ApplicationConfig, inject, provideBrowserGlobalErrorListeners } from '@angular/core';
import { provideHttpClient, withFetch, withInterceptors, withNoXsrfProtection } from '@angular/common/http';
import { provideRouter, Router, withComponentInputBinding, withDisabledInitialNavigation } from '@angular/router';
import { routes } from './app.routes';
import { authInterceptor } from './core/auth-interceptor';

export const appConfig: ApplicationConfig = {
  providers: [
    provideBrowserGlobalErrorListeners(),
    provideRouter(routes, withComponentInputBinding(), withDisabledInitialNavigation()),
    // The first navigation (matching, guards, the page's chunk) starts in the task after the bootstrap's, which renders
    // the top bar: two shorter tasks instead of one long one on a cold load (issue 18, Lighthouse).
    {
      provide: APP_BOOTSTRAP_LISTENER,
      multi: true,
      useFactory: () => {
        const router = inject(Router);
        return () => setTimeout(() => router.initialNavigation(), 0);
      },
    },
    // Bearer tokens, no cookies: Angular's XSRF cookie-to-header step has nothing to carry, and its document.cookie read
    // on each POST is main-thread time on the inbox's first load (issue 18, Lighthouse).
    provideHttpClient(withFetch(), withInterceptors([authInterceptor]), withNoXsrfProtection()),
  ],
};
