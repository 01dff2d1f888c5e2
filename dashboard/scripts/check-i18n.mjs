#!/usr/bin/env node
/**
 * The dashboard's translation check (part of the root `npm run lint` and of `make test` through the e2e run).
 * Fails (exit 1, one line per problem) when:
 *  1. a template shows text a person reads without an `i18n` marker: a text node, a literal in an interpolation
 *     (`{{ busy ? 'Saving…' : 'Save' }}`), or a `title` / `placeholder` / `alt` / `aria-label` attribute (literal
 *     without `i18n-<attr>`, or a bound one with a string literal). Text inside <code>, <pre>, <kbd>, <samp> and
 *     any element marked `translate="no"` is not language and is skipped;
 *  2. the messages extracted by Angular (`ng extract-i18n`) differ from the committed source file
 *     src/locale/messages.json (run `npm run i18n:extract -w dashboard` and commit it), or a message has no
 *     custom id (`i18n="@@area.name"`, `$localize`:@@area.name:…``);
 *  3. a locale file src/locale/messages.<locale>.json lacks a message id, has one the source does not, or a
 *     translation whose placeholders (`{$NAME}`, ICU `{VAR_PLURAL, …}`, `{INTERPOLATION}`) differ from the source's.
 *  4. a style sheet uses a physical left/right property (`margin-left`, `left:`, `text-align: right`, …) instead of
 *     its logical one (`margin-inline-start`, `inset-inline-start`, `text-align: end`), so a right-to-left language
 *     later is a translation, not a redesign.
 * Usage: `node scripts/check-i18n.mjs [--templates-only]` (1 and 4 only, without the extraction build).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  parseTemplate,
  TmplAstBoundAttribute,
  TmplAstBoundText,
  TmplAstElement,
  TmplAstRecursiveVisitor,
  TmplAstText,
  TmplAstTextAttribute,
  tmplAstVisitAll,
} from '@angular/compiler';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const appDir = path.join(root, 'src', 'app');
const localeDir = path.join(root, 'src', 'locale');
export const LOCALES = ['ru', 'pt-BR'];
/** Attributes a person reads (or hears, from a screen reader). */
const READ_ATTRS = new Set(['title', 'placeholder', 'alt', 'aria-label', 'aria-description', 'aria-placeholder', 'aria-roledescription']);
/** Elements whose text is code, not language. */
const CODE_ELEMENTS = new Set(['code', 'pre', 'kbd', 'samp']);
const LETTERS = /\p{L}{2,}/u;

function walk(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** The templates of the app: `.html` files and inline `template:` literals of components (`.ts`, not specs). */
function templates() {
  const out = [];
  for (const file of walk(appDir)) {
    if (file.endsWith('.html')) out.push({ file, text: readFileSync(file, 'utf8'), line0: 0 });
    else if (file.endsWith('.ts') && !file.endsWith('.spec.ts') && !file.includes(`${path.sep}generated${path.sep}`)) {
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/\btemplate:\s*`((?:[^`\\]|\\.)*)`/g))
        out.push({ file, text: m[1], line0: src.slice(0, m.index).split('\n').length - 1 });
    }
  }
  return out;
}

/** String literals with words in an expression's source ('Save', "Log in"). */
function wordyLiterals(source) {
  // `// i18n(ph="name")` comments name placeholders; they are not shown.
  source = source.replace(/\/\/\s*i18n\([^)]*\)/g, '');
  return [...source.matchAll(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] ?? m[2]).filter((s) => LETTERS.test(s));
}

class UntranslatedFinder extends TmplAstRecursiveVisitor {
  problems = [];
  /** Depth of enclosing i18n blocks / skipped elements. */
  inI18n = 0;
  skipped = 0;
  constructor(where) {
    super();
    this.where = where;
  }
  report(node, what) {
    const line = this.where.line0 + node.sourceSpan.start.line + 1;
    this.problems.push(`${path.relative(root, this.where.file)}:${line}: ${what}`);
  }
  visitElement(el) {
    const skip = CODE_ELEMENTS.has(el.name) || el.attributes.some((a) => a.name === 'translate' && a.value === 'no');
    const i18n = !!el.i18n && !(el.i18n.constructor?.name ?? '').includes('Placeholder');
    for (const a of el.attributes) this.checkAttribute(a);
    for (const a of el.inputs) this.checkAttribute(a);
    if (skip) this.skipped++;
    if (i18n) this.inI18n++;
    tmplAstVisitAll(this, el.children);
    if (i18n) this.inI18n--;
    if (skip) this.skipped--;
  }
  checkAttribute(a) {
    const name = a instanceof TmplAstBoundAttribute ? a.name.replace(/^attr\./, '') : a.name;
    if (!READ_ATTRS.has(name) || this.skipped) return;
    if (a instanceof TmplAstTextAttribute) {
      if (LETTERS.test(a.value) && !a.i18n) this.report(a, `attribute ${name}="${a.value}" has no i18n-${name} marker`);
    } else if (a instanceof TmplAstBoundAttribute) {
      const src = a.value?.source ?? '';
      for (const lit of wordyLiterals(src))
        this.report(a, `[${a.name}] binds the untranslated literal '${lit}' (use $localize in the component)`);
    }
  }
  visitText(t) {
    if (this.inI18n || this.skipped) return;
    if (LETTERS.test(t.value)) this.report(t, `text "${t.value.trim().slice(0, 60)}" has no i18n marker`);
  }
  visitBoundText(t) {
    if (this.skipped) return;
    const src = t.value?.source ?? '';
    for (const lit of wordyLiterals(src)) this.report(t, `interpolation shows the untranslated literal '${lit}'`);
    if (this.inI18n) return;
    const outside = src.replace(/\{\{[\s\S]*?\}\}/g, ' ');
    if (LETTERS.test(outside)) this.report(t, `text "${outside.trim().slice(0, 60)}" has no i18n marker`);
  }
  visitIcu() {
    /* only inside i18n blocks */
  }
}

/** Problems of kind 1 (templates). */
export function checkTemplates() {
  const problems = [];
  for (const t of templates()) {
    const parsed = parseTemplate(t.text, t.file, { preserveWhitespaces: false });
    for (const e of parsed.errors ?? []) problems.push(`${path.relative(root, t.file)}: template parse error: ${e.msg}`);
    const finder = new UntranslatedFinder(t);
    tmplAstVisitAll(finder, parsed.nodes);
    problems.push(...finder.problems);
  }
  return problems;
}

const PHYSICAL =
  /(?:^|[\s;{])((?:margin|padding|border|inset|scroll-margin|scroll-padding)-(?:left|right)|left|right|(?:text-align|float|clear)\s*:\s*(?:left|right))\s*:?/;

/** Problems of kind 4 (physical left/right in style sheets under src/). */
export function checkStyles() {
  const problems = [];
  for (const file of walk(path.join(root, 'src')).filter((f) => f.endsWith('.css'))) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const m = PHYSICAL.exec(line.replace(/\/\*.*?\*\//g, ''));
        if (m)
          problems.push(`${path.relative(root, file)}:${i + 1}: "${m[1].trim()}" is physical; use the logical property (inline-start/end)`);
      });
  }
  return problems;
}

/** The placeholders of a message: `{$NAME}` markers, ICU variables and the ICU's inner `{INTERPOLATION…}`. */
export function placeholders(message) {
  const names = [...message.matchAll(/\{\$([A-Za-z0-9_]+)\}/g)].map((m) => `$${m[1]}`);
  names.push(...[...message.matchAll(/\{(VAR_[A-Z]+(?:_\d+)?), (plural|select)/g)].map((m) => `${m[1]}:${m[2]}`));
  names.push(...new Set([...message.matchAll(/\{(INTERPOLATION(?:_\d+)?)\}/g)].map((m) => m[1])));
  return names.sort();
}

/** Problems of kind 3 (locale files against the source messages). */
export function checkLocales(source) {
  const problems = [];
  for (const locale of LOCALES) {
    const file = path.join(localeDir, `messages.${locale}.json`);
    if (!existsSync(file)) {
      problems.push(`src/locale/messages.${locale}.json is missing`);
      continue;
    }
    const { translations = {} } = JSON.parse(readFileSync(file, 'utf8'));
    for (const [id, msg] of Object.entries(source)) {
      const t = translations[id];
      if (typeof t !== 'string' || !t.trim()) problems.push(`messages.${locale}.json lacks "${id}" (English: ${JSON.stringify(msg)})`);
      else if (placeholders(t).join() !== placeholders(msg).join())
        problems.push(
          `messages.${locale}.json "${id}": placeholders ${placeholders(t).join(' ') || 'none'} ≠ source ${placeholders(msg).join(' ') || 'none'}`,
        );
    }
    for (const id of Object.keys(translations))
      if (!(id in source)) problems.push(`messages.${locale}.json has "${id}", which no template or $localize uses`);
  }
  return problems;
}

/** Runs `ng extract-i18n` into a temporary folder; the extracted translations (id → English). */
function extract() {
  const out = mkdtempSync(path.join(os.tmpdir(), 'wacloud-i18n-'));
  try {
    const ng = createRequire(path.join(root, 'package.json')).resolve('@angular/cli/bin/ng.js');
    const r = spawnSync(process.execPath, [ng, 'extract-i18n', '--format=json', `--output-path=${out}`, '--progress=false'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NG_CLI_ANALYTICS: 'false' },
    });
    const warnings = /WARNING|Duplicate messages/i.test(r.stdout + r.stderr) ? (r.stdout + r.stderr).trim() : '';
    if (r.status !== 0) throw new Error(`ng extract-i18n failed:\n${r.stdout}\n${r.stderr}`);
    return { messages: JSON.parse(readFileSync(path.join(out, 'messages.json'), 'utf8')).translations, warnings };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function main() {
  const problems = [...checkTemplates(), ...checkStyles()];
  if (!process.argv.includes('--templates-only')) {
    const { messages, warnings } = extract();
    if (warnings) problems.push(`ng extract-i18n warned (e.g. one id with two texts):\n${warnings}`);
    const committed = JSON.parse(readFileSync(path.join(localeDir, 'messages.json'), 'utf8')).translations;
    for (const id of Object.keys(messages)) {
      if (/^\d+$/.test(id)) problems.push(`message ${JSON.stringify(messages[id])} has no custom id: add @@area.name to its i18n marker`);
      if (!(id in committed)) problems.push(`src/locale/messages.json lacks "${id}": run \`npm run i18n:extract -w dashboard\``);
      else if (committed[id] !== messages[id])
        problems.push(`src/locale/messages.json "${id}" is out of date: run \`npm run i18n:extract -w dashboard\``);
    }
    for (const id of Object.keys(committed))
      if (!(id in messages))
        problems.push(`src/locale/messages.json has "${id}", no longer used: run \`npm run i18n:extract -w dashboard\``);
    problems.push(...checkLocales(messages));
  }
  for (const p of problems) console.error(`i18n: ${p}`);
  console.log(
    `i18n: ${problems.length ? `${problems.length} problem(s)` : 'every template string is marked and every locale has every message'}`,
  );
  return problems.length ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main();
