/**
 * Reading an uploaded table: CSV (csv-parse; UTF-8 with or without a BOM; the delimiter — comma, semicolon or tab —
 * guessed from the header line) or JSON (an array of objects, or `{ "contacts": [...] }`). The result is a header and
 * rows of strings. A file that cannot be read at all is a 422 `invalid_file` saying where; a row with more or fewer
 * cells than the header is kept (missing cells are empty, extra ones ignored) and judged later, row by row.
 */
import { parse } from 'csv-parse/sync';
import { AppError } from '../errors.js';

/** Largest upload, bytes. */
export const MAX_IMPORT_BYTES = 10 * 1024 * 1024;

export interface ParsedTable {
  format: 'csv' | 'json';
  columns: string[];
  /** One array of cells per data row, aligned with `columns`. */
  rows: string[][];
}

/** Which format `data` is, from the file name, else from its first character. */
export function detectFormat(data: Buffer, filename?: string | null, declared?: string | null): 'csv' | 'json' {
  if (declared === 'csv' || declared === 'json') return declared;
  if (filename && /\.json$/i.test(filename)) return 'json';
  if (filename && /\.(csv|tsv|txt)$/i.test(filename)) return 'csv';
  const head = data
    .subarray(0, 64)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  return head.startsWith('[') || head.startsWith('{') ? 'json' : 'csv';
}

/** UTF-8 text of `data` without its BOM. @throws AppError `invalid_file` for bytes that are not UTF-8. */
function utf8(data: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data).replace(/^\uFEFF/, '');
  } catch {
    throw new AppError('invalid_file', 'The file is not UTF-8 text; save it as "CSV UTF-8".');
  }
}

/**
 * Parses an uploaded file.
 * @throws AppError `invalid_file` (400): not UTF-8, malformed CSV (the message has the line), JSON that is not an
 *   array of objects, no header or no column; `import_too_large` (413) over {@link MAX_IMPORT_BYTES}.
 */
export function parseTable(data: Buffer, format: 'csv' | 'json'): ParsedTable {
  if (data.length > MAX_IMPORT_BYTES) throw new AppError('import_too_large', undefined, { maxBytes: MAX_IMPORT_BYTES });
  const text = utf8(data);
  if (!text.trim()) throw new AppError('invalid_file', 'The file is empty.');
  return format === 'json' ? parseJson(text) : parseCsv(text);
}

function parseCsv(text: string): ParsedTable {
  const firstLine = text.slice(0, text.search(/\r?\n|$/));
  const counts = [',', ';', '\t'].map((d) => [d, firstLine.split(d).length] as const);
  const delimiter = counts.reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  let records: string[][];
  try {
    records = parse(text, { delimiter, relax_column_count: true, skip_empty_lines: true, trim: true }) as string[][];
  } catch (err) {
    const e = err as { message?: string; lines?: number };
    throw new AppError('invalid_file', `The CSV is malformed: ${String(e.message ?? err).slice(0, 300)}`, {
      ...(e.lines ? { line: e.lines } : {}),
    });
  }
  const [header, ...rows] = records;
  const columns = (header ?? []).map((h) => h.trim());
  if (!columns.length || columns.every((c) => !c)) throw new AppError('invalid_file', 'The CSV has no header line.');
  const dup = columns.find((c, i) => c && columns.indexOf(c) !== i);
  if (dup) throw new AppError('invalid_file', `The column "${dup}" appears twice in the header.`, { column: dup });
  return { format: 'csv', columns, rows: rows.map((r) => columns.map((_, i) => r[i] ?? '')) };
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(cell).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v).trim();
}

function parseJson(text: string): ParsedTable {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new AppError('invalid_file', `The JSON is malformed: ${(err as Error).message.slice(0, 300)}`);
  }
  const list = Array.isArray(v) ? v : (v as { contacts?: unknown } | null)?.contacts;
  if (!Array.isArray(list)) throw new AppError('invalid_file', 'The JSON must be an array of objects (or {"contacts": [...]}).');
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const o of list)
    if (o && typeof o === 'object' && !Array.isArray(o))
      for (const k of Object.keys(o))
        if (!seen.has(k)) {
          seen.add(k);
          columns.push(k);
        }
  if (!columns.length) throw new AppError('invalid_file', 'The JSON has no object with a field.');
  const rows = list.map((o) => {
    const rec = o && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>) : {};
    return columns.map((c) => cell(rec[c]));
  });
  return { format: 'json', columns, rows };
}

/** What each field is called in usual headers (lower-case, without spaces, dashes and underscores). */
const GUESSES: Record<string, string[]> = {
  name: ['name', 'fullname', 'nome', 'nombre', 'contact', 'contactname', 'displayname'],
  phone: ['phone', 'phonenumber', 'mobile', 'cell', 'whatsapp', 'telefone', 'telefono', 'celular', 'tel', 'number', 'msisdn'],
  email: ['email', 'mail', 'emailaddress', 'correo'],
  company: ['company', 'organisation', 'organization', 'empresa', 'companyname'],
  notes: ['notes', 'note', 'comment', 'comments', 'observacoes', 'notas'],
  tags: ['tags', 'tag', 'labels', 'label', 'etiquetas', 'groups'],
  externalId: ['id', 'externalid', 'customerid', 'clientid', 'crmid', 'ref', 'reference'],
};

/** A mapping guessed from the header (fields whose usual names appear). */
export function suggestMapping(columns: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const col of columns) {
    const k = col.toLowerCase().replace(/[\s_-]+/g, '');
    for (const [field, names] of Object.entries(GUESSES)) if (!out[field] && names.includes(k)) out[field] = col;
  }
  return out;
}
