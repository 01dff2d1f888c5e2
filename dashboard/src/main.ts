import { LOCALE_ID } from '@angular/core';
import { bootstrapApplication } from '@angular/platform-browser';
import { appConfig } from './app/app.config';
import { App } from './app/app';
import { routes } from './app/app.routes';
import { loadRuntimeConfig, RUNTIME_CONFIG } from './app/core/config';
import { loadLocale } from './app/core/i18n/load';
import { preloadRoute } from './app/core/route-preload';

// The api base URL is read at run time (config.json / window.__WACLOUD_API__), so one build serves every deployment;
// so are the translations (one build for every language): they load before the first `$localize` string runs.
// Between evaluating the bundles and bootstrapping, the page yields to the browser once (a task boundary: config.json is
// requested by index.html and often already here, so both would otherwise run as one long task — Lighthouse, issue 18).
const yieldToBrowser = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

// The opened page's lazy chunk is requested as soon as the translations are in (a chunk may evaluate `$localize` at its
// top level), while the app boots, not after it (issue 18, Lighthouse: the bootstrap task off the first render's path).
const localeThenPreload = loadLocale().then((locale) => {
  preloadRoute(routes, location.pathname);
  return locale;
});

Promise.all([loadRuntimeConfig(), localeThenPreload, yieldToBrowser()])
  .then(([config, locale]) =>
    bootstrapApplication(App, {
      ...appConfig,
      providers: [...appConfig.providers, { provide: RUNTIME_CONFIG, useValue: config }, { provide: LOCALE_ID, useValue: locale }],
    }),
  )
  .catch((err: unknown) => console.error(err));
