/**
 * What an import would do, row by row, without writing: the preview's match report, and the plan the commit carries
 * out. Each row is normalised (phones to E.164 with the organisation's default country, emails, tag names), then
 * matched: by external id, else by any of its phones, to the book as it is now. A match whose fields the row would not
 * change is `unchanged` — which makes re-importing the same file a no-op. Rows that cannot be imported are reported
 * with their row number (1 = the first data row; CSV: the line is that + 1) and skipped; a row repeating an earlier
 * row's phone, external id or contact is a duplicate, reported and skipped.
 */
import { AppError } from '../errors.js';
import { normaliseEmail, normalisePhone, sortedSet } from './normalise.js';
import { applyPatch, emptyContact, type ContactPatch, type MutableField } from './patch.js';
import type { ParsedTable } from './import-parse.js';
import type { ContactDoc } from './store.js';
import { cleanTagName } from './tags.js';

/** Which column feeds which field; phone and email may take several columns. */
export interface ImportMapping {
  name?: string | undefined;
  phone?: string | string[] | undefined;
  email?: string | string[] | undefined;
  company?: string | undefined;
  notes?: string | undefined;
  tags?: string | undefined;
  externalId?: string | undefined;
  /** Custom attribute name → column. */
  attributes?: Record<string, string> | undefined;
}

export type RowProblem = 'invalid_phone' | 'country_required' | 'invalid_email' | 'missing_key' | 'phone_in_use' | 'too_long';

export interface RowError {
  row: number;
  code: RowProblem;
  column?: string;
  value?: string;
  message: string;
}

export interface DuplicateRow {
  row: number;
  /** The earlier row it repeats. */
  firstRow: number;
  /** What it repeats: `phone:+…`, `externalId:…` or `contact:ct_…`. */
  key: string;
}

export interface PlannedRow {
  row: number;
  kind: 'new' | 'update' | 'unchanged';
  doc: ContactDoc;
  changed: MutableField[];
  matchedWhatsApp: boolean;
  /** The row's facts (what `ContactMatcher.upsert` applies when the bulk path cannot place the row). */
  patch: ContactPatch;
}

export interface ImportReport {
  rows: number;
  new: number;
  updates: number;
  unchanged: number;
  /** Rows matched to a contact that has WhatsApp identities (synced from an instance). */
  matchedWhatsApp: number;
  invalidCount: number;
  /** The first 1 000 invalid rows. */
  invalid: RowError[];
  duplicateCount: number;
  /** The first 1 000 duplicate rows. */
  duplicates: DuplicateRow[];
  /** Tag names the commit creates in the catalogue. */
  tagsToCreate: string[];
}

const MAX_LISTED = 1000;
const MAX_CELL = 2000;
const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * Checks that every mapped column exists in the file.
 * @throws AppError `unknown_column` (422, details `{ field, column, columns }`); `match_column_required` (422) when neither
 *   a phone nor an external id column is mapped.
 */
export function checkMapping(m: ImportMapping, columns: string[]): void {
  const pairs: Array<[string, string]> = [
    ...(m.name ? [['name', m.name] as [string, string]] : []),
    ...list(m.phone).map((c) => ['phone', c] as [string, string]),
    ...list(m.email).map((c) => ['email', c] as [string, string]),
    ...(['company', 'notes', 'tags', 'externalId'] as const).filter((f) => m[f]).map((f) => [f, m[f]!] as [string, string]),
    ...Object.entries(m.attributes ?? {}).map(([k, c]) => [`attributes.${k}`, c] as [string, string]),
  ];
  for (const [field, column] of pairs)
    if (!columns.includes(column))
      throw new AppError('unknown_column', `The mapping of "${field}" names "${column}", which is not a column of the file.`, {
        field,
        column,
        columns,
      });
  if (!list(m.phone).length && !m.externalId) throw new AppError('match_column_required');
}

/** A cell without a spreadsheet's formula guard (`'=…`, what our export writes) and without surrounding spaces. */
const unguard = (v: string): string => (/^'[=+\-@]/.test(v) ? v.slice(1) : v).trim();

/** The book as the plan sees it: contacts by id, phone and external id. */
export interface BookIndex {
  byId: Map<string, ContactDoc>;
  byPhone: Map<string, string>;
  byExternalId: Map<string, string>;
}

/** Indexes `docs` (every contact of the organisation). */
export function indexBook(docs: ContactDoc[]): BookIndex {
  const idx: BookIndex = { byId: new Map(), byPhone: new Map(), byExternalId: new Map() };
  for (const d of docs) {
    idx.byId.set(d._id, d);
    for (const p of d.phones) if (!idx.byPhone.has(p)) idx.byPhone.set(p, d._id);
    if (d.externalId && !idx.byExternalId.has(d.externalId)) idx.byExternalId.set(d.externalId, d._id);
  }
  return idx;
}

/** A row as read from the file: its facts (tags as names), or why it cannot be imported. */
export type ReadRow = { row: number; error: RowError } | { row: number; patch: ContactPatch; tagNames: string[] };

/**
 * Reads the rows of `table` with `mapping`: phones normalised to E.164 with `country`, emails, tag names, cell limits.
 * The costly half of planning (libphonenumber-js per phone), done once per commit however often the rows are matched.
 * @param from, to the table's rows `[from, to)` to read (default: all); `row` numbers stay the table's (1-based).
 * @throws AppError `unknown_column`, `match_column_required` (422): see {@link checkMapping}.
 */
export function readRows(table: ParsedTable, mapping: ImportMapping, country: string | null, from = 0, to = table.rows.length): ReadRow[] {
  checkMapping(mapping, table.columns);
  const col = (c: string | undefined): number => (c === undefined ? -1 : table.columns.indexOf(c));
  const phoneCols = list(mapping.phone).map(col);
  const emailCols = list(mapping.email).map(col);
  const nameCol = col(mapping.name);
  const companyCol = col(mapping.company);
  const notesCol = col(mapping.notes);
  const tagsCol = col(mapping.tags);
  const extCol = col(mapping.externalId);
  const attrCols = Object.entries(mapping.attributes ?? {}).map(([k, c]) => [k, col(c)] as const);
  const allCols = [nameCol, companyCol, notesCol, tagsCol, extCol, ...phoneCols, ...emailCols, ...attrCols.map(([, c]) => c)];
  return table.rows.slice(from, to).map((cells, i): ReadRow => {
    const row = from + i + 1;
    const bad = (error: Omit<RowError, 'row'>): ReadRow => ({ row, error: { row, ...error } });
    const get = (c: number): string => (c < 0 ? '' : unguard(cells[c] ?? ''));
    const long = allCols.find((c) => get(c).length > MAX_CELL);
    if (long !== undefined)
      return bad({ code: 'too_long', column: table.columns[long]!, message: `A cell is longer than ${MAX_CELL} characters.` });
    const phones: string[] = [];
    for (const c of phoneCols) {
      for (const raw of get(c)
        .split(/[;,/|]/)
        .map((s) => s.trim())
        .filter(Boolean)) {
        const r = normalisePhone(raw, country);
        if ('problem' in r)
          return bad({
            code: r.problem,
            column: table.columns[c]!,
            value: raw.slice(0, 100),
            message: r.problem === 'country_required' ? 'A local number and no default country is set.' : 'Not a valid phone number.',
          });
        phones.push(r.phone);
      }
    }
    const emails: string[] = [];
    for (const c of emailCols) {
      for (const raw of get(c)
        .split(/[;,\s]+/)
        .filter(Boolean)) {
        const e = normaliseEmail(raw);
        if (!e)
          return bad({ code: 'invalid_email', column: table.columns[c]!, value: raw.slice(0, 100), message: 'Not an email address.' });
        emails.push(e);
      }
    }
    const externalId = get(extCol) || undefined;
    if (!phones.length && !externalId)
      return bad({ code: 'missing_key', message: 'The row has neither a phone number nor an external id.' });
    const attributes: Record<string, string> = {};
    for (const [k, c] of attrCols) if (get(c)) attributes[k] = get(c);
    return {
      row,
      tagNames: get(tagsCol).split(/[;,|]/).map(cleanTagName).filter(Boolean),
      patch: {
        source: 'import',
        name: get(nameCol) || undefined,
        phones: sortedSet(phones),
        emails: sortedSet(emails),
        company: get(companyCol) || undefined,
        notes: get(notesCol) || undefined,
        attributes,
        tags: [],
        externalId,
      },
    };
  });
}

/**
 * Matches rows read by {@link readRows} to the book `idx` (pure; cheap next to reading them).
 * @param tagIds tag name key (lower-case) → tag id; names missing from it are planned as `new:<key>` and listed in
 *   `tagsToCreate`.
 */
export function matchRows(
  orgId: string,
  rows: ReadRow[],
  idx: BookIndex,
  tagIds: Map<string, string>,
  now: Date,
): { report: ImportReport; planned: PlannedRow[] } {
  const report: ImportReport = {
    rows: rows.length,
    new: 0,
    updates: 0,
    unchanged: 0,
    matchedWhatsApp: 0,
    invalidCount: 0,
    invalid: [],
    duplicateCount: 0,
    duplicates: [],
    tagsToCreate: [],
  };
  const toCreate = new Map<string, string>();
  const firstByKey = new Map<string, number>();
  const planned: PlannedRow[] = [];
  const bad = (e: RowError) => {
    report.invalidCount++;
    if (report.invalid.length < MAX_LISTED) report.invalid.push(e);
  };

  for (const r of rows) {
    if ('error' in r) {
      bad(r.error);
      continue;
    }
    const { row } = r;
    const phones = r.patch.phones ?? [];
    const externalId = r.patch.externalId;
    const tags: string[] = [];
    for (const n of r.tagNames) {
      const key = n.toLowerCase();
      let id = tagIds.get(key);
      if (!id) {
        id = `new:${key}`;
        if (!toCreate.has(key)) toCreate.set(key, n);
      }
      tags.push(id);
    }
    const patch: ContactPatch = { ...r.patch, tags: sortedSet(tags) };

    // Match: external id first, then phones; a conflict between them is the row's error.
    const byExt = externalId ? idx.byExternalId.get(externalId) : undefined;
    const byPhone = phones.map((p) => idx.byPhone.get(p)).find(Boolean);
    if (byExt && byPhone && byExt !== byPhone) {
      bad({ row, code: 'phone_in_use', message: `The phone belongs to another contact (${byPhone}) than the external id (${byExt}).` });
      continue;
    }
    const targetId = byExt ?? byPhone;
    const keys = [
      ...phones.map((p) => `phone:${p}`),
      ...(externalId ? [`externalId:${externalId}`] : []),
      ...(targetId ? [`contact:${targetId}`] : []),
    ];
    const dupKey = keys.find((k) => firstByKey.has(k));
    if (dupKey) {
      report.duplicateCount++;
      if (report.duplicates.length < MAX_LISTED) report.duplicates.push({ row, firstRow: firstByKey.get(dupKey)!, key: dupKey });
      continue;
    }
    for (const k of keys) firstByKey.set(k, row);

    const existing = targetId ? idx.byId.get(targetId) : undefined;
    if (!existing) {
      const { doc } = applyPatch(emptyContact(orgId, 'import', now), patch);
      report.new++;
      planned.push({ row, kind: 'new', doc, changed: [], matchedWhatsApp: false, patch });
      continue;
    }
    const { doc, changed } = applyPatch(existing, patch);
    const matchedWhatsApp = existing.identities.length > 0;
    if (matchedWhatsApp) report.matchedWhatsApp++;
    if (changed.length) report.updates++;
    else report.unchanged++;
    planned.push({ row, kind: changed.length ? 'update' : 'unchanged', doc, changed, matchedWhatsApp, patch });
  }
  report.tagsToCreate = [...toCreate.values()];
  return { report, planned };
}
