/**
 * WhatsApp Web offline for the memory bench: a stand-in of the page at https://web.whatsapp.com/ that the real
 * whatsapp-web.js serves from its own web-version cache. The engine gives whatsapp-web.js
 * `webVersionCache: { type: 'local', path: '<DATA_DIR>/wwebjs-cache' }`; when `<that path>/<webVersion>.html` exists,
 * whatsapp-web.js turns on request interception and answers the navigation to WhatsApp Web with that file, so no
 * request leaves the machine. The file defines only what whatsapp-web.js 1.34 reads up to its first QR
 * (`Client.inject`: `window.Debug.VERSION`, `ExposeAuthStore`'s modules, the socket state `UNPAIRED`, the
 * registration keys and `Conn.ref`), in the Backbone-like shapes of the engine tests' stand-in
 * (`test/contract/webjs-stand-in/wa-web.ts`). WhatsApp's own bundle (megabytes of JavaScript) is not in it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The WhatsApp Web version whatsapp-web.js asks for by default (its `DefaultOptions.webVersion`). */
export function defaultWebVersion(): string {
  const require = createRequire(import.meta.url);
  const constants = require(require.resolve('whatsapp-web.js/src/util/Constants.js')) as { DefaultOptions: { webVersion: string } };
  return constants.DefaultOptions.webVersion;
}

/**
 * Writes the stand-in page where the engine's whatsapp-web.js looks for its cached WhatsApp Web
 * (`<dataDir>/wwebjs-cache/<version>.html`). @returns the file written.
 */
export function installStandInWaWeb(dataDir: string, version = defaultWebVersion()): string {
  const dir = path.join(dataDir, 'wwebjs-cache');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${version}.html`);
  writeFileSync(file, standInHtml(version));
  return file;
}

/** The page (HTML with one inline script), for WhatsApp Web `version`. */
export function standInHtml(version: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>WhatsApp</title></head><body>
<div id="app">stand-in WhatsApp Web ${version}</div>
<script>(${pageScript.toString()})(${JSON.stringify(version)});</script>
</body></html>`;
}

/** Runs in the page: `window.Debug` and `window.require` with the modules whatsapp-web.js reads before the QR. */
/* eslint-disable @typescript-eslint/no-explicit-any -- page code, WhatsApp Web's untyped globals */
function pageScript(version: string): void {
  const w = globalThis as any;
  class Events {
    private handlers = new Map<string, Array<(...a: any[]) => void>>();
    on(name: string, fn: (...a: any[]) => void): this {
      this.handlers.set(name, [...(this.handlers.get(name) ?? []), fn]);
      return this;
    }
    off(name: string, fn: (...a: any[]) => void): this {
      this.handlers.set(
        name,
        (this.handlers.get(name) ?? []).filter((f) => f !== fn),
      );
      return this;
    }
    trigger(name: string, ...args: any[]): void {
      for (const fn of this.handlers.get(name) ?? []) fn(...args);
    }
  }
  const key = (seed: number) => Uint8Array.from({ length: 32 }, (_, i) => (seed * 31 + i * 7) & 255);
  const Socket = Object.assign(new Events(), { state: 'UNPAIRED', hasSynced: false, logout: () => undefined });
  const Conn = Object.assign(new Events(), { ref: `2@stand-in-ref-${Date.now()}`, serialize: () => ({ pushname: 'stand-in' }) });
  const Cmd = Object.assign(new Events(), { refreshQR: () => undefined });
  const modules: Record<string, unknown> = {
    WAWebSocketModel: { Socket },
    WAWebCmd: { Cmd },
    WAWebConnModel: { Conn },
    WAWebOfflineHandler: { OfflineMessageHandler: { getOfflineDeliveryProgress: () => 100 } },
    WAWebAltDeviceLinkingApi: {},
    WABase64: { encodeB64: (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)) },
    WAWebCompanionRegClientUtils: { DEVICE_PLATFORM: 'Chrome' },
    WAWebAdvSignatureApi: {},
    WAWebUserPrefsInfoStore: { waNoiseInfo: { get: async () => ({ staticKeyPair: { pubKey: key(1) } }) } },
    WAWebSignalStoreApi: { waSignalStore: { getRegistrationInfo: async () => ({ identityKeyPair: { pubKey: key(2) } }) } },
    WAWebUserPrefsMultiDevice: { getADVSecretKey: () => 'c3RhbmQtaW4tYWR2LXNlY3JldA==' },
  };
  w.Debug = { VERSION: version };
  w.require = (name: string) => {
    if (!(name in modules)) throw new Error(`stand-in WhatsApp Web has no module ${name}`);
    return modules[name];
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */
