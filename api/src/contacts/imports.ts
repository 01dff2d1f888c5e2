/**
 * Imports of the customer's own contact table: upload (the file is kept in `contact_import_chunks`), preview (the
 * match report of {@link planImport}, nothing written) and commit (the plan carried out, audited as
 * `contacts.imported`). Imports are for owners and admins. The commit inserts new contacts in batches and claims their
 * keys; a key another writer claimed meanwhile (a sync running at the same time) sends that row through the one-by-one
 * {@link ContactMatcher} instead, so the book still ends with one contact per person. Updated contacts are rewritten
 * in batches (see `applyUpdates`): FerretDB v1 makes every update statement a collection scan.
 */
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import type { AuditLog } from '../audit.js';
import { AppError } from '../errors.js';
import { requireAdmin } from '../orgs/access.js';
import { isDuplicateKey } from '../store.js';
import type { ContactBook } from './book.js';
import { detectFormat, MAX_IMPORT_BYTES, parseTable, suggestMapping, type ParsedTable } from './import-parse.js';
import { indexBook, planImport, type ImportMapping, type ImportReport, type PlannedRow } from './import-plan.js';
import type { ContactMatcher } from './matcher.js';
import { keysOf } from './patch.js';
import type { Caller } from './rights.js';
import { type ContactCollections, type ContactDoc, type ContactImportDoc, type ContactKeyDoc } from './store.js';
import type { ContactTags } from './tags.js';

const CHUNK_BYTES = 1024 * 1024;
/** Inserts per insertMany (inserts match no existing document, so the 50-statement limit of updates does not apply). */
const INSERT_BATCH = 1000;
/** Updated contacts rewritten per `deleteMany` (one collection scan on FerretDB v1 each). */
const REWRITE_BATCH = 5000;

/** Swallows duplicate-key errors of an unordered insertMany (what exists already stays). */
function ignoreDuplicates(err: unknown): void {
  const errors = (err as { writeErrors?: Array<{ code?: number; err?: { code?: number } }> }).writeErrors;
  if (isDuplicateKey(err) || (errors?.length && errors.every((e) => (e.code ?? e.err?.code) === 11000))) return;
  throw err;
}

export interface ImportView {
  id: string;
  filename: string | null;
  format: 'csv' | 'json';
  bytes: number;
  columns: string[];
  rowCount: number;
  /** The first rows, for the mapping screen. */
  sample: string[][];
  suggestedMapping: Record<string, string>;
  status: 'uploaded' | 'committed';
  createdAt: string;
  committedAt: string | null;
  result: (ImportReport & { created: number; updated: number }) | null;
}

export class ContactImports {
  constructor(
    private readonly c: ContactCollections,
    private readonly book: ContactBook,
    private readonly tags: ContactTags,
    private readonly matcher: ContactMatcher,
    private readonly audit: AuditLog,
  ) {}

  /**
   * Keeps an uploaded file after checking it parses.
   * @throws AppError `role_required` (403), `import_too_large` (413), `invalid_file` (400).
   */
  async upload(auth: Caller, data: Buffer, filename: string | null, declared?: 'csv' | 'json'): Promise<ImportView> {
    requireAdmin(auth);
    if (data.length > MAX_IMPORT_BYTES) throw new AppError('import_too_large', undefined, { maxBytes: MAX_IMPORT_BYTES });
    const format = detectFormat(data, filename, declared);
    const table = parseTable(data, format);
    const doc: ContactImportDoc = {
      _id: 'imp_' + randomBytes(12).toString('hex'),
      orgId: auth.orgId,
      createdBy: auth.memberId,
      filename,
      format,
      bytes: data.length,
      chunks: Math.max(1, Math.ceil(data.length / CHUNK_BYTES)),
      columns: table.columns,
      rowCount: table.rows.length,
      status: 'uploaded',
      createdAt: new Date(),
    };
    for (let n = 0; n < doc.chunks; n++)
      await this.c.importChunks.insertOne({
        _id: `${doc._id}:${n}`,
        importId: doc._id,
        n,
        data: new mongoose.mongo.Binary(data.subarray(n * CHUNK_BYTES, (n + 1) * CHUNK_BYTES)),
      });
    await this.c.imports.insertOne(doc);
    return this.view(doc, table);
  }

  /** @throws AppError `role_required` (403), `import_not_found` (404). */
  async get(auth: Caller, id: string): Promise<ImportView> {
    requireAdmin(auth);
    const doc = await this.doc(auth, id);
    return this.view(doc, await this.table(doc));
  }

  /**
   * The match report of importing with `mapping`; nothing is written.
   * @throws AppError `role_required` (403), `import_not_found` (404), `unknown_column`, `match_column_required` (422).
   */
  async preview(auth: Caller, id: string, mapping: ImportMapping): Promise<ImportReport> {
    requireAdmin(auth);
    const doc = await this.doc(auth, id);
    const table = await this.table(doc);
    const country = await this.book.defaultCountry(auth.orgId);
    const idx = indexBook(await this.c.contacts.find({ orgId: auth.orgId }).toArray());
    const tagIds = new Map((await this.c.tags.find({ orgId: auth.orgId }).toArray()).map((t) => [t.key, t._id]));
    return planImport(auth.orgId, table, mapping, country, idx, tagIds, new Date()).report;
  }

  /**
   * Imports with `mapping`: creates the missing tags, inserts the new contacts, updates the matched ones. Committing
   * again (or the same file uploaded again) changes nothing: every row is then `unchanged`.
   * @returns the report with `created` and `updated` (what was written).
   * @throws AppError like {@link preview}.
   */
  async commit(auth: Caller, id: string, mapping: ImportMapping): Promise<ImportReport & { created: number; updated: number }> {
    requireAdmin(auth);
    const doc = await this.doc(auth, id);
    const table = await this.table(doc);
    const country = await this.book.defaultCountry(auth.orgId);
    const now = new Date();
    await this.recover();
    const catalogue = async () => new Map((await this.c.tags.find({ orgId: auth.orgId }).toArray()).map((t) => [t.key, t._id]));
    // A first pass checks the mapping and finds the tag names the catalogue lacks.
    const first = planImport(auth.orgId, table, mapping, country, indexBook([]), await catalogue(), now);
    if (first.report.tagsToCreate.length) await this.tags.ensure(auth.orgId, first.report.tagsToCreate);
    const tagIds = await catalogue();
    const idx = indexBook(await this.c.contacts.find({ orgId: auth.orgId }).toArray());
    const { report, planned } = planImport(auth.orgId, table, mapping, country, idx, tagIds, now);
    const created = await this.insertNew(
      auth.orgId,
      planned.filter((p) => p.kind === 'new'),
      now,
    );
    const updated = await this.applyUpdates(
      doc._id,
      planned.filter((p) => p.kind === 'update'),
      now,
    );
    const result = { ...report, tagsToCreate: first.report.tagsToCreate, created, updated };
    await this.c.imports.updateOne({ _id: doc._id }, { $set: { status: 'committed', committedAt: new Date(), result } });
    await this.audit.record(
      auth.orgId,
      auth,
      'contacts.imported',
      { type: 'contact_import', id: doc._id },
      {
        rows: report.rows,
        created,
        updated,
        unchanged: report.unchanged,
        invalid: report.invalidCount,
        duplicates: report.duplicateCount,
      },
    );
    return result;
  }

  /** Inserts planned new contacts and claims their keys; rows losing a key go through the matcher. @returns contacts created. */
  private async insertNew(orgId: string, rows: PlannedRow[], now: Date): Promise<number> {
    let created = 0;
    for (let i = 0; i < rows.length; i += INSERT_BATCH) {
      const batch = rows.slice(i, i + INSERT_BATCH).map((r) => r.doc);
      await this.c.contacts.insertMany(batch, { ordered: false });
      const keys: ContactKeyDoc[] = batch.flatMap((d) => keysOf(d).map((_id) => ({ _id, orgId, contactId: d._id })));
      const lost = new Set<string>();
      try {
        await this.c.keys.insertMany(keys, { ordered: false });
      } catch (err) {
        const errors = (err as { writeErrors?: Array<{ index: number; code?: number; err?: { code?: number } }> }).writeErrors;
        if (!errors?.length || !errors.every((e) => (e.code ?? e.err?.code) === 11000)) {
          if (!isDuplicateKey(err)) throw err;
        }
        for (const e of errors ?? []) lost.add(keys[e.index]!.contactId);
      }
      created += batch.length - lost.size;
      for (const d of batch.filter((x) => lost.has(x._id))) {
        // Another writer owns one of its keys: undo this insert and match the row like a sync would.
        await this.c.contacts.deleteOne({ _id: d._id });
        await this.c.keys.deleteMany({ orgId, contactId: d._id });
        const r = await this.matcher.upsert(orgId, toPatch(d), now);
        if (r.outcome === 'created') created++;
      }
    }
    return created;
  }

  /**
   * Stores the new versions of updated contacts. FerretDB v1 scans the whole collection for every update statement
   * (measured: ~1 s per `updateOne` by `_id` at 20 000 contacts), so a batch is rewritten instead: its new versions
   * are staged (`contact_import_staged`, inserts), the old ones removed with one `deleteMany` (one scan per batch),
   * the new ones inserted, the staging removed. A crash in between is repaired by {@link recover} (the staged versions
   * of missing contacts are inserted); a sync meeting a staged contact waits for it (`matcher.ts`).
   * @returns contacts updated.
   */
  private async applyUpdates(importId: string, rows: PlannedRow[], now: Date): Promise<number> {
    for (let i = 0; i < rows.length; i += REWRITE_BATCH) {
      const docs = rows.slice(i, i + REWRITE_BATCH).map((r) => ({ ...r.doc, updatedAt: now }));
      const ids = docs.map((d) => d._id);
      await this.c.staged.insertMany(
        docs.map((doc) => ({ _id: doc._id, importId, doc })),
        { ordered: false },
      );
      await this.c.contacts.deleteMany({ _id: { $in: ids } });
      await this.c.contacts.insertMany(docs, { ordered: false }).catch(ignoreDuplicates);
      const keys = rows
        .slice(i, i + REWRITE_BATCH)
        .flatMap((r) =>
          r.changed.includes('phones') ? keysOf(r.doc).map((_id) => ({ _id, orgId: r.doc.orgId, contactId: r.doc._id })) : [],
        );
      if (keys.length) await this.c.keys.insertMany(keys, { ordered: false }).catch(ignoreDuplicates);
    }
    if (rows.length) await this.c.staged.deleteMany({ importId });
    return rows.length;
  }

  /** Inserts the staged versions of contacts a crashed commit removed but did not store again, then clears the staging. */
  async recover(): Promise<number> {
    const staged = await this.c.staged.find({}).toArray();
    let restored = 0;
    for (const s of staged) {
      try {
        await this.c.contacts.insertOne(s.doc);
        restored++;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      await this.c.staged.deleteOne({ _id: s._id });
    }
    return restored;
  }

  private async doc(auth: Caller, id: string): Promise<ContactImportDoc> {
    const doc = await this.c.imports.findOne({ _id: id, orgId: auth.orgId });
    if (!doc) throw new AppError('import_not_found');
    return doc;
  }

  private async table(doc: ContactImportDoc): Promise<ParsedTable> {
    const chunks = await this.c.importChunks.find({ importId: doc._id }).toArray();
    chunks.sort((a, b) => a.n - b.n);
    return parseTable(Buffer.concat(chunks.map((ch) => Buffer.from(ch.data.buffer))), doc.format);
  }

  private view(doc: ContactImportDoc, table: ParsedTable): ImportView {
    return {
      id: doc._id,
      filename: doc.filename,
      format: doc.format,
      bytes: doc.bytes,
      columns: doc.columns,
      rowCount: doc.rowCount,
      sample: table.rows.slice(0, 5),
      suggestedMapping: suggestMapping(doc.columns),
      status: doc.status,
      createdAt: doc.createdAt.toISOString(),
      committedAt: doc.committedAt ? doc.committedAt.toISOString() : null,
      result: (doc.result as unknown as ImportView['result']) ?? null,
    };
  }
}

/** The facts of a planned new contact, for the matcher. */
function toPatch(d: ContactDoc) {
  return {
    source: 'import' as const,
    name: d.name ?? undefined,
    phones: d.phones,
    emails: d.emails,
    company: d.company ?? undefined,
    notes: d.notes ?? undefined,
    attributes: d.attributes,
    tags: d.tags,
    externalId: d.externalId ?? undefined,
  };
}
