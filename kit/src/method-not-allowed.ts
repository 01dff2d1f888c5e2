/**
 * 405 for a known path asked with a method it does not take: the `Allow` header lists the methods it takes (GET
 * implies HEAD) and the body is the coded error `method_not_allowed` with `details: { method, allow }`. `OPTIONS` on
 * a known path answers 204 with the same `Allow` header.
 */
import type { Router } from 'express';
import { KitError } from './http-error.js';

/**
 * Registers, on `router`, one catch-all handler per path of `methodsByPath` (express paths → the methods served there,
 * lower case). Mount it after the routes themselves so that only requests no route answered reach it.
 */
export function mountMethodNotAllowed(router: Router, methodsByPath: Map<string, Set<string>>): void {
  // Paths without parameters first: `/tokens/verify` is its own path, not a value of `/tokens/:id`.
  const ordered = [...methodsByPath].sort(([a], [b]) => Number(a.includes(':')) - Number(b.includes(':')));
  for (const [path, methods] of ordered) {
    const allow = [...methods].flatMap((m) => (m === 'get' ? ['GET', 'HEAD'] : [m.toUpperCase()]));
    const header = [...allow, 'OPTIONS'].join(', ');
    router.all(path, (req, res, next) => {
      res.setHeader('allow', header);
      if (req.method === 'OPTIONS') return void res.status(204).end();
      next(
        new KitError('method_not_allowed', `${req.method} is not allowed on ${req.path}; use ${allow.join(', ')}.`, {
          method: req.method,
          allow,
        }),
      );
    });
  }
}

/** `{ path → methods }` of route-like definitions. */
export function methodsByPath(routes: Array<{ method: string; path: string }>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const r of routes) {
    const set = out.get(r.path) ?? new Set<string>();
    set.add(r.method.toLowerCase());
    out.set(r.path, set);
  }
  return out;
}
