#!/usr/bin/env node
/**
 * The dashboard's models, generated from two OpenAPI documents, each printed by its service without a database or server:
 *   api       src/app/api/openapi.json           `node api/dist/openapi.js`: the api's document
 *             src/app/api/generated/api/         its TypeScript types
 *   instance  src/app/api/instance-openapi.json  `node instance/dist/openapi.js`: the instance's public API (reached
 *                                                through the api's gateway at /v1/instances/{id}/api/<path>)
 *             src/app/api/generated/instance/    its TypeScript types
 * The types are written by @hey-api/openapi-ts (types plugin only): `<Op>Data` (body, path, query), `<Op>Responses`
 * and `<Op>Errors` by status, per operationId.
 * Usage: `npm run models -w dashboard` rewrites them (after `npm run build` at the root);
 *        `npm run models:check -w dashboard` builds the api and the instance (tsc -b), generates into a temporary
 *        folder and exits 1 when the committed files differ (run by the root `npm run lint`).
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

/** The generated model sets: the workspace whose `dist/openapi.js` prints the document, and where it goes. */
const sources = [
  { workspace: 'api', documentFile: path.join(apiDir, 'openapi.json'), generatedDir: path.join(apiDir, 'generated', 'api') },
  {
    workspace: 'instance',
    documentFile: path.join(apiDir, 'instance-openapi.json'),
    generatedDir: path.join(apiDir, 'generated', 'instance'),
  },
];

/** Prints a workspace's OpenAPI document (JSON text); throws when the workspace is not built. */
function printDocument(workspace) {
  const main = path.join(repo, workspace, 'dist', 'openapi.js');
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

/** The committed files of `source` that differ from what its document generates now (paths). */
async function staleFiles({ workspace, documentFile, generatedDir }) {
  const document = printDocument(workspace);
  const tmp = mkdtempSync(path.join(tmpdir(), 'dashboard-models-'));
  let fresh;
  try {
    await generateTypes(document, tmp);
    fresh = read(tmp);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const committed = read(generatedDir);
  const stale = [...new Set([...Object.keys(fresh), ...Object.keys(committed)])]
    .filter((f) => fresh[f] !== committed[f])
    .map((f) => path.join(generatedDir, f));
  if (!existsSync(documentFile) || readFileSync(documentFile, 'utf8') !== document) stale.unshift(documentFile);
  return stale;
}

try {
  if (!check) {
    for (const { workspace, documentFile, generatedDir } of sources) {
      const document = printDocument(workspace);
      writeFileSync(documentFile, document);
      await generateTypes(document, generatedDir);
      console.log(`models: wrote ${path.relative(repo, documentFile)} and ${path.relative(repo, generatedDir)}/`);
    }
  } else {
    const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [tsc, '-b', ...sources.map((s) => path.join(repo, s.workspace))], { stdio: 'inherit' });
    const stale = [];
    for (const source of sources) stale.push(...(await staleFiles(source)));
    if (stale.length) {
      console.error(
        `models: ${stale.map((f) => path.relative(repo, f)).join(', ')} differ from the OpenAPI documents of ${sources.map((s) => s.workspace).join(' and ')}; run \`npm run models -w dashboard\` and commit the result`,
      );
      process.exit(1);
    }
    console.log(`models: the dashboard models match ${sources.map((s) => s.workspace).join(' and ')}`);
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
