import { InjectionToken } from '@angular/core';

/** Runtime configuration: `config.json` next to index.html, or `window.__WACLOUD_API__`; default: the same origin. */
export interface RuntimeConfig {
  /** Base URL of the api without a trailing slash, e.g. `https://api.example.com`; empty = same origin. */
  apiBaseUrl: string;
}

export const RUNTIME_CONFIG = new InjectionToken<RuntimeConfig>('RUNTIME_CONFIG', {
  providedIn: 'root',
  factory: () => ({ apiBaseUrl: '' }),
});

declare global {
  interface Window {
    __WACLOUD_API__?: string;
    /** The `config.json` request index.html starts with the page, before the bundles arrive (taken once). */
    __WACLOUD_CONFIG__?: Promise<Response | null>;
  }
}

export function normalizeBase(url: string | undefined | null): string {
  return (url ?? '').trim().replace(/\/+$/, '');
}

/**
 * Reads the runtime configuration; never fails (falls back to the same origin). Uses the request index.html started
 * (`window.__WACLOUD_CONFIG__`, one round trip earlier than after the bundles), else fetches `config.json`.
 */
export async function loadRuntimeConfig(
  fetchFn: typeof fetch = fetch,
  win: Pick<Window, '__WACLOUD_API__' | '__WACLOUD_CONFIG__'> = window,
): Promise<RuntimeConfig> {
  if (typeof win.__WACLOUD_API__ === 'string') return { apiBaseUrl: normalizeBase(win.__WACLOUD_API__) };
  const early = win.__WACLOUD_CONFIG__;
  win.__WACLOUD_CONFIG__ = undefined;
  try {
    const res = (await early) ?? (await fetchFn('config.json', { headers: { accept: 'application/json' }, cache: 'no-store' }));
    if (!res.ok) return { apiBaseUrl: '' };
    const json = (await res.json()) as Partial<RuntimeConfig>;
    return { apiBaseUrl: normalizeBase(typeof json.apiBaseUrl === 'string' ? json.apiBaseUrl : '') };
  } catch {
    return { apiBaseUrl: '' };
  }
}

/** `http(s)://…` base (or same origin) → the `ws(s)://…` URL of `path`. */
export function toWebSocketUrl(base: string, path: string, origin: string): string {
  const u = new URL(base ? base + path : path, origin);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}
