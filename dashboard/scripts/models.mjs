#!/usr/bin/env node
/**
 * The dashboard's api models, generated from the api's OpenAPI document:
 *   src/app/api/openapi.json         the document, as `node api/dist/openapi.js` prints it (no database or server needed)
 *   src/app/api/generated/           its TypeScript types, written by @hey-api/openapi-ts (types plugin only):
 *                                    `<Op>Data` (body, path, query), `<Op>Responses` and `<Op>Errors` by status, per operationId
 * Usage: `npm run models -w dashboard` rewrites them (after `npm run build` at the root);
 *        `npm run models:check -w dashboard` builds the api (tsc -b), generates into a temporary folder and exits 1
 *        when the committed files differ (run by the root `npm run lint`).
 */
import { createClient } from '@hey-api/openapi-ts';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dashboard = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repo = path.resolve(dashboard, '..');
const apiDir = path.join(dashboard, 'src', 'app', 'api');
const check = process.argv.includes('--check');

/** Prints the api's OpenAPI document (JSON text); throws when the api is not built. */
function printDocument() {
  const main = path.join(repo, 'api', 'dist', 'openapi.js');
  if (!existsSync(main)) throw new Error(`models: ${main} is missing; run \`npm run build\` at the repository root first`);
  return execFileSync(process.execPath, [main], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
}

/** Writes `document`'s types into `dir` (emptied first): types.gen.ts and index.ts. */
async function generateTypes(document, dir) {
  await createClient({
    input: JSON.parse(document),
    output: { path: dir, tsConfigPath: path.join(dashboard, 'tsconfig.json') },
    plugins: ['@hey-api/typescript'],
    logs: { level: 'silent', file: false },
  });
}

/** The files of a folder by name, with their text. */
const read = (dir) => Object.fromEntries(existsSync(dir) ? readdirSync(dir).map((f) => [f, readFileSync(path.join(dir, f), 'utf8')]) : []);

try {
  const documentFile = path.join(apiDir, 'openapi.json');
  const generatedDir = path.join(apiDir, 'generated');
  if (!check) {
    const document = printDocument();
    writeFileSync(documentFile, document);
    await generateTypes(document, generatedDir);
    console.log(`models: wrote ${path.relative(repo, documentFile)} and ${path.relative(repo, generatedDir)}/`);
  } else {
    execFileSync(process.execPath, [path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', path.join(repo, 'api')], { stdio: 'inherit' });
    const document = printDocument();
    const tmp = mkdtempSync(path.join(tmpdir(), 'dashboard-models-'));
    let fresh;
    try {
      await generateTypes(document, tmp);
      fresh = read(tmp);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    const committed = read(generatedDir);
    const stale = [...new Set([...Object.keys(fresh), ...Object.keys(committed)])].filter((f) => fresh[f] !== committed[f]).map((f) => path.join(generatedDir, f));
    if (!existsSync(documentFile) || readFileSync(documentFile, 'utf8') !== document) stale.unshift(documentFile);
    if (stale.length) {
      console.error(`models: ${stale.map((f) => path.relative(repo, f)).join(', ')} differ from the api's OpenAPI document; run \`npm run models -w dashboard\` and commit the result`);
      process.exit(1);
    }
    console.log('models: the dashboard models match the api');
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
