import type { Routes } from '@angular/router';

/**
 * The lazy loader (`loadComponent` / `loadChildren`) of the route configuration that `pathname` lands on, following a
 * plain redirect (`'' → 'instances'`); null when none matches (or only the `**` fallback does). Matching is by
 * segments: a `:param` segment matches any one segment; a route with children matches a prefix, its children the rest.
 */
export function routeLoader(routes: Routes, pathname: string): (() => unknown) | null {
  const segments = pathname.split(/[?#]/, 1)[0].split('/').filter(Boolean);
  return match(routes, routes, segments, 0);
}

function match(all: Routes, routes: Routes, segments: string[], redirects: number): (() => unknown) | null {
  for (const route of routes) {
    if (route.path === '**' || route.path === undefined) continue;
    const pattern = route.path.split('/').filter(Boolean);
    if (pattern.length > segments.length || !pattern.every((p, i) => p.startsWith(':') || p === segments[i])) continue;
    const rest = segments.slice(pattern.length);
    if (typeof route.redirectTo === 'string') {
      if (rest.length || redirects > 3 || route.redirectTo.includes(':')) continue;
      return match(all, all, route.redirectTo.split('/').filter(Boolean), redirects + 1);
    }
    if (route.children) {
      const found = match(all, route.children, rest, redirects);
      if (found) return found;
      continue;
    }
    if (route.loadChildren) return route.loadChildren as () => unknown;
    if (rest.length === 0 && route.loadComponent) return route.loadComponent as () => unknown;
  }
  return null;
}

/**
 * Starts fetching the lazy chunk of the page the browser opened, before the app boots: the router asks for the same
 * module after bootstrap and gets it from the module map, so the chunk's request no longer waits for the bootstrap
 * work (one round trip and the bootstrap task off the first render of a deep link; issue 18, Lighthouse). A failure
 * is left to the router, which loads and reports it again.
 */
export function preloadRoute(routes: Routes, pathname: string): void {
  const load = routeLoader(routes, pathname);
  if (!load) return;
  try {
    void Promise.resolve(load()).catch(() => undefined);
  } catch {
    /* the router loads it again */
  }
}
