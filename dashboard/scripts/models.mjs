#!/usr/bin/env node
/**
 * The dashboard's api models, generated from the api's OpenAPI document:
 *   src/app/api/openapi.json  the document, as `node api/dist/openapi.js` prints it (no database or server needed)
 *   src/app/api/schema.ts     TypeScript types of every operation: `operations[operationId]` with `path`, `query`,
 *                             `body` and `responses[status]` (the JSON body; `void` when there is none)
 * Usage: `npm run models -w dashboard` rewrites both (after `npm run build` at the root);
 *        `npm run models:check -w dashboard` builds the api (tsc -b) and exits 1 when the committed files differ from
 *        a fresh generation (run by the root `npm run lint`).
 * Types come from a small JSON Schema → TypeScript printer below; it throws on a schema keyword it does not know, so
 * a new kind of schema in the api is noticed here rather than typed wrongly.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dashboard = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repo = path.resolve(dashboard, '..');
const outDir = path.join(dashboard, 'src', 'app', 'api');
const files = { document: path.join(outDir, 'openapi.json'), schema: path.join(outDir, 'schema.ts') };
const check = process.argv.includes('--check');

// Keywords that only constrain values (validation), not the TypeScript type.
const IGNORED = new Set(['description', 'title', 'pattern', 'format', 'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minItems', 'maxItems', 'default', 'examples', 'contentMediaType']);
const TYPED = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'anyOf', 'oneOf', 'allOf']);

const literal = (v) => (typeof v === 'string' ? `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : JSON.stringify(v));
const key = (k) => (/^[A-Za-z_$][\w$]*$/.test(k) || /^\d+$/.test(k) ? k : literal(k));
const doc = (text, indent) => (text ? `${indent}/** ${String(text).replace(/\*\//g, '*\\/').replace(/\n/g, ' ')} */\n` : '');
const union = (parts) => ([...new Set(parts)].length === 1 ? parts[0] : [...new Set(parts)].join(' | '));

/** TypeScript type of a JSON Schema (draft 2020-12 as zod emits it); `indent` is the current line's indentation. */
function tsType(schema, indent, where) {
  if (schema === true || (schema && Object.keys(schema).every((k) => IGNORED.has(k)))) return 'unknown';
  if (schema === false) return 'never';
  for (const k of Object.keys(schema)) if (!IGNORED.has(k) && !TYPED.has(k)) throw new Error(`models: unsupported JSON Schema keyword "${k}" at ${where}`);
  if ('const' in schema) return literal(schema.const);
  if (schema.enum) return union(schema.enum.map(literal));
  if (schema.anyOf || schema.oneOf) return union((schema.anyOf ?? schema.oneOf).map((s, i) => wrap(tsType(s, indent, `${where}/anyOf/${i}`))));
  if (schema.allOf) return schema.allOf.map((s, i) => wrap(tsType(s, indent, `${where}/allOf/${i}`))).join(' & ');
  const types = Array.isArray(schema.type) ? schema.type : [schema.type ?? (schema.properties ? 'object' : undefined)];
  return union(
    types.map((t) => {
      switch (t) {
        case 'string':
          return 'string';
        case 'number':
        case 'integer':
          return 'number';
        case 'boolean':
          return 'boolean';
        case 'null':
          return 'null';
        case 'array':
          return `${wrap(schema.items ? tsType(schema.items, indent, `${where}/items`) : 'unknown')}[]`;
        case 'object':
          return objectType(schema, indent, where);
        default:
          throw new Error(`models: unsupported type ${JSON.stringify(t)} at ${where}`);
      }
    }),
  );
}

const wrap = (t) => (/[|&]/.test(t) && !/^\{[\s\S]*\}$/.test(t) ? `(${t})` : t);

function objectType(schema, indent, where) {
  const inner = `${indent}  `;
  const required = new Set(schema.required ?? []);
  const lines = Object.entries(schema.properties ?? {}).map(
    ([k, s]) => `${doc(s.description, inner)}${inner}${key(k)}${required.has(k) ? '' : '?'}: ${tsType(s, inner, `${where}/${k}`)};\n`,
  );
  if (schema.additionalProperties && schema.additionalProperties !== false) {
    lines.push(`${inner}[key: string]: ${schema.additionalProperties === true ? 'unknown' : tsType(schema.additionalProperties, inner, `${where}/additionalProperties`)};\n`);
  }
  if (!lines.length) return 'Record<string, never>';
  // Small objects without descriptions on one line, as a person would write them.
  const oneLine = `{ ${lines.map((l) => l.trim().replace(/;$/, '')).join('; ')} }`;
  if (!lines.some((l) => l.includes('/**') || l.trimEnd().split('\n').length > 1) && indent.length + oneLine.length <= 110) return oneLine;
  return `{\n${lines.join('')}${indent}}`;
}

/** The TypeScript module of the document: `operations` by operationId, `paths` by path and method. */
function printSchema(document) {
  const ops = [];
  const paths = [];
  for (const [p, methods] of Object.entries(document.paths)) {
    const refs = [];
    for (const [method, op] of Object.entries(methods)) {
      const where = `${method.toUpperCase()} ${p}`;
      const i = '    ';
      const parts = [];
      for (const place of ['path', 'query']) {
        const params = op.parameters.filter((x) => x.in === place);
        if (params.length) {
          const body = params.map((x) => `${doc(x.description, `${i}  `)}${i}  ${key(x.name)}${x.required ? '' : '?'}: ${tsType(x.schema, `${i}  `, `${where} ${place} ${x.name}`)};\n`).join('');
          parts.push(`${i}${place}: {\n${body}${i}};\n`);
        }
      }
      const body = op.requestBody?.content?.['application/json']?.schema;
      if (body) parts.push(`${i}body: ${tsType(body, i, `${where} body`)};\n`);
      const responses = Object.entries(op.responses).map(([status, r]) => {
        const [type, content] = Object.entries(r.content ?? {})[0] ?? [];
        const t = !content ? 'void' : type === 'application/json' ? tsType(content.schema, `${i}  `, `${where} ${status}`) : 'Blob';
        return `${doc(r.description, `${i}  `)}${i}  ${status}: ${t};\n`;
      });
      parts.push(`${i}responses: {\n${responses.join('')}${i}};\n`);
      ops.push(`${doc(`${where}: ${op.summary}`, '  ')}  ${key(op.operationId)}: {\n${parts.join('')}  };\n`);
      refs.push(`    ${method}: operations[${literal(op.operationId)}];\n`);
    }
    paths.push(`  ${literal(p)}: {\n${refs.join('')}  };\n`);
  }
  return (
    `// Generated by dashboard/scripts/models.mjs from openapi.json (${document.info.title} ${document.info.version}). Do not edit:\n` +
    '// change the api, then run `npm run models -w dashboard`.\n\n' +
    '/** Every operation of the api by operationId: path and query parameters, JSON body, responses by status. */\n' +
    `export interface operations {\n${ops.join('')}}\n\n` +
    '/** The operations by path and method. */\n' +
    `export interface paths {\n${paths.join('')}}\n`
  );
}

function generate() {
  const main = path.join(repo, 'api', 'dist', 'openapi.js');
  if (!existsSync(main)) throw new Error(`models: ${main} is missing; run \`npm run build\` at the repository root first`);
  const text = execFileSync(process.execPath, [main], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  return { document: text, schema: printSchema(JSON.parse(text)) };
}

try {
  if (check) execFileSync(process.execPath, [path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', path.join(repo, 'api')], { stdio: 'inherit' });
  const fresh = generate();
  if (check) {
    const stale = Object.keys(files).filter((k) => !existsSync(files[k]) || readFileSync(files[k], 'utf8') !== fresh[k]);
    if (stale.length) {
      console.error(`models: ${stale.map((k) => path.relative(repo, files[k])).join(', ')} differ from the api's OpenAPI document; run \`npm run models -w dashboard\` and commit the result`);
      process.exit(1);
    }
    console.log('models: the dashboard models match the api');
  } else {
    mkdirSync(outDir, { recursive: true });
    for (const k of Object.keys(files)) writeFileSync(files[k], fresh[k]);
    console.log(`models: wrote ${Object.values(files).map((f) => path.relative(repo, f)).join(', ')}`);
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
