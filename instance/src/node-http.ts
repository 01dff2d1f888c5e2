/**
 * `node:http` and `node:https` loaded through CommonJS `require`, for the instance's runtime code. Node's ES-module
 * facade of a builtin reads every export when it is imported, and `node:http`'s lazy `WebSocket`, `CloseEvent` and
 * `MessageEvent` getters then load undici and http2, which the instance does not use idle: about +12 MiB RSS
 * (instance/README.md, "Memory"; `test/node-flags.test.ts` checks). Import `http` / `https` from here, never
 * `from 'node:http'` (type-only imports are fine: they are erased). `https` (and with it `tls`) is loaded at its first
 * use: an idle instance never uses it (`lazy-builtins.ts`).
 */
import type * as Http from 'node:http';
import type * as Https from 'node:https';
import { createRequire } from 'node:module';
import { lazyModule } from './lazy-builtins.js';

const require = createRequire(import.meta.url);

/** `require('node:http')`. */
export const http = require('node:http') as typeof Http;
/** `require('node:https')`, loaded at the first use of any of its exports ({@link lazyModule}). */
export const https = lazyModule(() => require('node:https') as typeof Https);
