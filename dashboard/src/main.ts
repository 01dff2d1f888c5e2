import { bootstrapApplication } from '@angular/platform-browser';
import { appConfig } from './app/app.config';
import { App } from './app/app';
import { loadRuntimeConfig, RUNTIME_CONFIG } from './app/core/config';

// The api base URL is read at run time (config.json / window.__WACLOUD_API__), so one build serves every deployment.
loadRuntimeConfig()
  .then((config) =>
    bootstrapApplication(App, { ...appConfig, providers: [...appConfig.providers, { provide: RUNTIME_CONFIG, useValue: config }] }),
  )
  .catch((err: unknown) => console.error(err));
