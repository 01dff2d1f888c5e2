/**
 * The contact book's collections and indexes (issue 16, docs/team.md §5):
 * - `contacts`: one document per person of an organisation ({@link ContactDoc});
 * - `contact_keys`: who owns a normalised phone number or a WhatsApp id inside an organisation. `_id` =
 *   `<orgId>|p|<E.164>` or `<orgId>|w|<wa id>`: claiming one is a unique insert, the one write FerretDB v1 makes atomic,
 *   so two instances (or an instance and an import) reporting the same person at once end in one contact;
 * - `contact_tags`: the organisation's tag catalogue; `contact_favourites`: each member's pinned contacts;
 * - `contact_imports` and `contact_import_chunks`: uploaded files (kept as ≤ 1 MB chunks) and their reports;
 *   `contact_import_staged`: left by commits of an earlier version, which rewrote contacts (see `ContactImports.recover`).
 * No transactions and no `$lookup` (FerretDB v1): every write is a single-document insert or update, bulk writes go
 * in chunks of {@link WRITE_CHUNK} statements.
 */
import type mongoose from 'mongoose';

/** Statements per bulk write command: FerretDB v1 hangs on update commands of ≥ 100 statements. */
export const WRITE_CHUNK = 50;

/** A WhatsApp identity linked to a contact: one chat id on one instance. */
export interface ContactIdentity {
  instanceId: string;
  /** WhatsApp id: `<digits>@c.us` or `<digits>@lid`. */
  waId: string;
  /** The name saved on the phone of the instance, if any. */
  name?: string | undefined;
  /** The name the person set on WhatsApp. */
  pushname?: string | undefined;
  /** E.164 of the identity, when WhatsApp tells it. */
  phone?: string | undefined;
  syncedAt: Date;
}

/** Where a contact came from first: WhatsApp (an instance's sync), an import, or a member's hand. */
export type ContactSource = 'whatsapp' | 'import' | 'manual';

/** What a manual merge added to the kept contact, and the merged contact as it was: enough to undo it. */
export interface MergeRecord {
  contactId: string;
  at: Date;
  by: string | null;
  /** The merged contact before the merge (restored by unmerge). */
  snapshot: ContactDoc;
  /** What the merge added to the kept contact (removed again by unmerge). */
  added: { phones: string[]; emails: string[]; tags: string[]; waIds: string[]; attributes: string[]; filled: string[] };
}

export interface ContactDoc {
  /** `ct_` + 24 hex. */
  _id: string;
  orgId: string;
  /** A name given by a member or an import (wins over WhatsApp's names); null: none. */
  name: string | null;
  /** E.164, normalised with libphonenumber-js; sorted, unique. */
  phones: string[];
  /** Lower-cased; sorted, unique. */
  emails: string[];
  company: string | null;
  notes: string | null;
  attributes: Record<string, string>;
  /** Tag ids (`contact_tags`); sorted, unique. */
  tags: string[];
  /** The customer's own id for the person (imports upsert by it). */
  externalId: string | null;
  /** Every source the contact was seen in; `source` is the first. */
  sources: ContactSource[];
  source: ContactSource;
  /** Sorted by instance id, then WhatsApp id. */
  identities: ContactIdentity[];
  /** The instances of `identities`, sorted, unique; the rights filter. */
  instanceIds: string[];
  /** `instanceIds`, or `['-']` when none: one `$in` answers "readable instances or none". */
  access: string[];
  /** Lower-cased display name, for sorting and `q`. */
  sortName: string;
  merges: MergeRecord[];
  createdAt: Date;
  updatedAt: Date;
}

/** Owner of a phone or WhatsApp id inside an organisation. */
export interface ContactKeyDoc {
  /** `<orgId>|p|<E.164>` or `<orgId>|w|<wa id>`. */
  _id: string;
  orgId: string;
  contactId: string;
}

export interface ContactTagDoc {
  /** `tag_` + 16 hex. */
  _id: string;
  orgId: string;
  name: string;
  /** Lower-cased name: unique per organisation. */
  key: string;
  /** `#rrggbb`. */
  color: string;
  createdAt: Date;
}

export interface ContactFavouriteDoc {
  /** `<memberId>|<contactId>`. */
  _id: string;
  orgId: string;
  memberId: string;
  contactId: string;
  createdAt: Date;
}

export interface ContactImportDoc {
  /** `imp_` + 24 hex. */
  _id: string;
  orgId: string;
  createdBy: string;
  filename: string | null;
  format: 'csv' | 'json';
  bytes: number;
  chunks: number;
  columns: string[];
  rowCount: number;
  status: 'uploaded' | 'committed';
  createdAt: Date;
  committedAt?: Date | undefined;
  /** The commit's report. */
  result?: Record<string, unknown> | undefined;
}

export interface ContactImportChunkDoc {
  /** `<import id>:<n>`. */
  _id: string;
  importId: string;
  n: number;
  data: mongoose.mongo.Binary;
}

/** A contact a commit of an earlier version was rewriting: restored at start if missing (`imports.ts`). */
export interface ContactStagedDoc {
  /** The contact's id. */
  _id: string;
  importId: string;
  doc: ContactDoc;
}

export interface ContactCollections {
  contacts: mongoose.mongo.Collection<ContactDoc>;
  keys: mongoose.mongo.Collection<ContactKeyDoc>;
  tags: mongoose.mongo.Collection<ContactTagDoc>;
  favourites: mongoose.mongo.Collection<ContactFavouriteDoc>;
  imports: mongoose.mongo.Collection<ContactImportDoc>;
  importChunks: mongoose.mongo.Collection<ContactImportChunkDoc>;
  staged: mongoose.mongo.Collection<ContactStagedDoc>;
}

/** The collections on `db`, with their indexes created (idempotent). */
export async function openContactCollections(db: mongoose.mongo.Db): Promise<ContactCollections> {
  const c: ContactCollections = {
    contacts: db.collection<ContactDoc>('contacts'),
    keys: db.collection<ContactKeyDoc>('contact_keys'),
    tags: db.collection<ContactTagDoc>('contact_tags'),
    favourites: db.collection<ContactFavouriteDoc>('contact_favourites'),
    imports: db.collection<ContactImportDoc>('contact_imports'),
    importChunks: db.collection<ContactImportChunkDoc>('contact_import_chunks'),
    staged: db.collection<ContactStagedDoc>('contact_import_staged'),
  };
  await c.contacts.createIndex({ orgId: 1, sortName: 1, _id: 1 });
  await c.contacts.createIndex({ orgId: 1, phones: 1 });
  await c.contacts.createIndex({ orgId: 1, tags: 1 });
  await c.contacts.createIndex({ orgId: 1, externalId: 1 });
  await c.contacts.createIndex({ orgId: 1, 'identities.waId': 1 });
  await c.keys.createIndex({ orgId: 1, contactId: 1 });
  await c.tags.createIndex({ orgId: 1, key: 1 }, { unique: true });
  await c.favourites.createIndex({ orgId: 1, memberId: 1 });
  await c.imports.createIndex({ orgId: 1, createdAt: -1 });
  await c.importChunks.createIndex({ importId: 1, n: 1 });
  return c;
}
