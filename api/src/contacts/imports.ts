/**
 * Imports of the customer's own contact table: upload (the file is kept in `contact_import_chunks`), preview (the
 * match report of `readRows` and `matchRows`, nothing written) and commit (the plan carried out, audited as
 * `contacts.imported`). Imports are for owners and admins. The commit reads the book once, inserts new contacts in
 * large unordered batches and claims their keys; a key another writer claimed meanwhile (a sync running at the same
 * time) sends that row through the one-by-one {@link ContactMatcher} instead, so the book still ends with one contact
 * per person. Matched contacts get real updates (`$set` of the changed fields, see `applyUpdates`), guarded by the
 * `updatedAt` the plan read: a contact changed meanwhile goes through the matcher too.
 */
import { forEachInParallel } from '@wacloud/kit';
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import type { AuditLog } from '../audit.js';
import { AppError } from '../errors.js';
import { requireAdmin } from '../orgs/access.js';
import { isDuplicateKey } from '../store.js';
import type { ContactBook } from './book.js';
import { detectFormat, MAX_IMPORT_BYTES, parseTable, suggestMapping, type ParsedTable } from './import-parse.js';
import {
  indexBook,
  matchRows,
  readRows,
  type BookIndex,
  type ImportMapping,
  type ImportReport,
  type PlannedRow,
  type ReadRow,
} from './import-plan.js';
import type { ContactMatcher } from './matcher.js';
import { keysOf, setOf } from './patch.js';
import { sortedSet } from './normalise.js';
import type { Caller } from './rights.js';
import type { ContactCollections, ContactImportDoc, ContactKeyDoc } from './store.js';
import type { ContactTags } from './tags.js';

const CHUNK_BYTES = 1024 * 1024;
/** Inserts per insertMany (inserts match no existing document: a stock FerretDB's limit on update commands does not apply). */
const INSERT_BATCH = 1000;
/**
 * Update statements per `update` command. Each is an `updateMany` by `_id` (and the `updatedAt` read): a stock FerretDB
 * v1 holds a PostgreSQL connection for every `updateOne` statement that matched until the whole command ends (its pool
 * has 50, hence "never answers 50 matching updates"), while a multi-update reads its match to the end and frees the
 * connection at once — so long commands are safe there too (docs/embedded-database.md).
 */
const UPDATE_BATCH = 100;
/**
 * Write commands (insert batches, update commands) in flight at once: two keep both of the database server's CPUs busy
 * where one command at a time leaves it waiting for the next (25,000 inserts on the embedded default: 1.9 s one batch at
 * a time, 1.25 s two at a time; 10,000 updates: two 2.0 s, four 1.8 s — BENCHMARKS.md, contacts import).
 */
const WRITE_CONCURRENCY = 2;
/**
 * The book's two `_id` ranges, read at once. Contact ids are `ct_` + random hex (`newContactId`), so `ct_8` halves
 * them; an id of any other form still falls in exactly one range. One cursor keeps the embedded server on one CPU
 * (50,000 contacts: 4.3 s in one range, 2.8 s in two).
 */
export const BOOK_RANGES = [{ $lt: 'ct_8' }, { $gte: 'ct_8' }] as const;
/** Rows read (phones parsed) between two turns of the event loop, so that the book's read goes on meanwhile. */
const READ_SLICE = 2000;

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
    const { read, idx } = await this.readWithBook(auth.orgId, doc, mapping);
    return matchRows(auth.orgId, read, idx, await this.catalogue(auth.orgId), new Date()).report;
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
    const now = new Date();
    const { read, idx } = await this.readWithBook(auth.orgId, doc, mapping);
    const { report, planned } = matchRows(auth.orgId, read, idx, await this.catalogue(auth.orgId), now);
    const { tagsToCreate } = report;
    if (tagsToCreate.length) resolveNewTags(planned, await this.tags.ensure(auth.orgId, tagsToCreate));
    const created = await this.insertNew(
      auth.orgId,
      planned.filter((p) => p.kind === 'new'),
      now,
    );
    const updated = await this.applyUpdates(
      auth.orgId,
      planned.filter((p) => p.kind === 'update'),
      now,
    );
    const result = { ...report, tagsToCreate, created, updated };
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

  /**
   * Inserts planned new contacts and claims their keys, {@link INSERT_BATCH} a command, {@link WRITE_CONCURRENCY} batches
   * at a time; rows losing a key go through the matcher. @returns contacts created.
   */
  private async insertNew(orgId: string, rows: PlannedRow[], now: Date): Promise<number> {
    let created = 0;
    const tasks: Array<() => Promise<void>> = [];
    for (let i = 0; i < rows.length; i += INSERT_BATCH) {
      const part = rows.slice(i, i + INSERT_BATCH);
      tasks.push(async () => {
        const batch = part.map((r) => r.doc);
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
        for (const r of part.filter((x) => lost.has(x.doc._id))) {
          // Another writer owns one of its keys: undo this insert and match the row like a sync would.
          await this.c.contacts.deleteOne({ _id: r.doc._id });
          await this.c.keys.deleteMany({ orgId, contactId: r.doc._id });
          if ((await this.matcher.upsert(orgId, r.patch, now)).outcome === 'created') created++;
        }
      });
    }
    await forEachInParallel(tasks, WRITE_CONCURRENCY, (task) => task());
    return created;
  }

  /**
   * Updates the matched contacts: per contact one `updateMany` statement by `_id` and the `updatedAt` the plan read,
   * `$set` of the changed fields (see {@link UPDATE_BATCH}), {@link WRITE_CONCURRENCY} commands at a time. A command
   * matching fewer contacts than it names had a contact changed (or merged away) since the read: each of its contacts
   * not carrying this commit's `updatedAt` is patched again through the {@link ContactMatcher}, on its current version.
   * New phone keys of updated contacts are then claimed (a phone another contact owns stays that contact's key).
   * @returns contacts updated.
   */
  private async applyUpdates(orgId: string, rows: PlannedRow[], now: Date): Promise<number> {
    const retry: PlannedRow[] = [];
    const tasks: Array<() => Promise<void>> = [];
    for (let i = 0; i < rows.length; i += UPDATE_BATCH) {
      const part = rows.slice(i, i + UPDATE_BATCH);
      tasks.push(async () => {
        const res = await this.c.contacts.bulkWrite(
          part.map((r) => ({
            updateMany: { filter: { _id: r.doc._id, updatedAt: r.doc.updatedAt }, update: { $set: setOf(r.doc, r.changed, now) } },
          })),
          { ordered: false },
        );
        if (res.matchedCount === part.length) return;
        for (const r of part) {
          const cur = await this.c.contacts.findOne({ _id: r.doc._id }, { projection: { updatedAt: 1 } });
          if (cur?.updatedAt.getTime() !== now.getTime()) retry.push(r);
        }
      });
    }
    await forEachInParallel(tasks, WRITE_CONCURRENCY, (task) => task());
    let updated = rows.length - retry.length;
    for (const r of retry) if ((await this.matcher.upsert(orgId, r.patch, now)).outcome !== 'unchanged') updated++;
    const keys = rows.flatMap((r) =>
      r.changed.includes('phones') ? keysOf(r.doc).map((_id) => ({ _id, orgId, contactId: r.doc._id })) : [],
    );
    for (let i = 0; i < keys.length; i += INSERT_BATCH)
      await this.c.keys.insertMany(keys.slice(i, i + INSERT_BATCH), { ordered: false }).catch(ignoreDuplicates);
    return updated;
  }

  /**
   * Inserts the staged versions of contacts that a commit of an earlier version (which rewrote updated contacts by
   * delete and insert, staged in `contact_import_staged`) removed but did not store again, then clears the staging.
   * Commits no longer stage anything; this runs once when the api starts.
   */
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

  /**
   * The upload's rows read with `mapping` ({@link readRows}) and the organisation's book, indexed. The book is read
   * while the file is fetched and its rows are read: in the {@link BOOK_RANGES} at once, the rows in slices of
   * {@link READ_SLICE} between which the event loop turns (the driver's next batches are asked for meanwhile).
   * @throws AppError `unknown_column`, `match_column_required` (422).
   */
  private async readWithBook(orgId: string, doc: ContactImportDoc, mapping: ImportMapping): Promise<{ read: ReadRow[]; idx: BookIndex }> {
    // A failed read of the file or its rows must not leave a book read's rejection unhandled.
    const book = Promise.all(BOOK_RANGES.map((_id) => this.c.contacts.find({ orgId, _id }).toArray()));
    book.catch(() => undefined);
    const table = await this.table(doc);
    const country = await this.book.defaultCountry(orgId);
    const read: ReadRow[] = [];
    // At least once: an empty table's mapping is still checked.
    for (let i = 0; i < table.rows.length || i === 0; i += READ_SLICE) {
      read.push(...readRows(table, mapping, country, i, Math.min(i + READ_SLICE, table.rows.length)));
      await new Promise<void>((r) => setImmediate(r));
    }
    return { read, idx: indexBook((await book).flat()) };
  }

  /** The organisation's tags: name key → id. */
  private async catalogue(orgId: string): Promise<Map<string, string>> {
    return new Map((await this.c.tags.find({ orgId }).toArray()).map((t) => [t.key, t._id]));
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

/** Replaces the `new:<key>` placeholders of tags the commit just created (`ensure`: key → id) in the planned rows. */
function resolveNewTags(planned: PlannedRow[], created: Map<string, string>): void {
  const real = (ids: string[]): string[] =>
    ids.some((t) => t.startsWith('new:')) ? sortedSet(ids.map((t) => (t.startsWith('new:') ? (created.get(t.slice(4)) ?? t) : t))) : ids;
  for (const p of planned) {
    p.doc.tags = real(p.doc.tags);
    p.patch = { ...p.patch, tags: real(p.patch.tags ?? []) };
  }
}
