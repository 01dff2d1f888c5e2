/**
 * The built dashboard served by the api (embedded mode, `DASHBOARD_DIR`): the files of the Angular production build,
 * compressed (gzip or Brotli, as the browser accepts: the initial JavaScript is ~300 kB raw, ~100 kB gzipped), with
 * the cache policy of the dashboard image's nginx (dashboard/nginx.conf): content-hashed bundles
 * (`main-<hash>.js`, `chunk-<hash>.js`, `styles-<hash>.css`) cached for a year as immutable, `config.json` never
 * stored (run-time settings), `index.html` and everything else revalidated on every load (`no-cache`, answered 304
 * from its ETag). Every other GET that accepts HTML and is not an API path gets `index.html` (client-side routes).
 */
import path from 'node:path';
import compression from 'compression';
import express, { type RequestHandler, type Response } from 'express';

/** A file name carrying the build's content hash: `name-<8+ base64url chars>.<js|css|…>`. */
const HASHED = /-[A-Za-z0-9_-]{8,}\.(?:js|mjs|css|woff2?|png|svg|jpg|webp)$/;

/** Cache-Control for a served file of the build, by its path. */
export function dashboardCacheControl(filePath: string): string {
  const name = path.basename(filePath);
  if (HASHED.test(name)) return 'public, max-age=31536000, immutable';
  if (name === 'config.json') return 'no-store';
  return 'no-cache';
}

/** The request handlers serving the build in `dir` (to run after the API routes). */
export function dashboardStatic(dir: string): RequestHandler[] {
  const root = path.resolve(dir);
  const index = path.join(root, 'index.html');
  const setHeaders = (res: Response, filePath: string) => res.setHeader('Cache-Control', dashboardCacheControl(filePath));
  const staticFiles = express.static(root, { index: 'index.html', setHeaders });
  const api = (p: string) => p.startsWith('/v1/');
  const compress = compression();
  return [
    // Compression for the build's files only (the API's own answers are not touched here).
    (req, res, next) => (api(req.path) ? next() : compress(req, res, next)),
    staticFiles,
    (req, res, next) =>
      req.method === 'GET' && !api(req.path) && req.accepts('html')
        ? res.sendFile(index, { headers: { 'Cache-Control': 'no-cache' } })
        : next(),
  ];
}
