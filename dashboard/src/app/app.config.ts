import { type ApplicationConfig, provideBrowserGlobalErrorListeners } from '@angular/core';
import { provideHttpClient, withFetch, withInterceptors, withNoXsrfProtection } from '@angular/common/http';
import { provideRouter, withComponentInputBinding } from '@angular/router';
import { routes } from './app.routes';
import { authInterceptor } from './core/auth-interceptor';

export const appConfig: ApplicationConfig = {
  providers: [
    provideBrowserGlobalErrorListeners(),
    provideRouter(routes, withComponentInputBinding()),
    // Bearer tokens, no cookies: Angular's XSRF cookie-to-header step has nothing to carry, and its document.cookie read
    // on each POST is main-thread time on the inbox's first load (issue 18, Lighthouse).
    provideHttpClient(withFetch(), withInterceptors([authInterceptor]), withNoXsrfProtection()),
  ],
};
