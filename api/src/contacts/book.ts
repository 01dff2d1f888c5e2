/**
 * The contact book: list (filters, favourites first, cursor), one contact with its conversations across instances,
 * manual create / edit / delete, the contact of an instance's chat (the inbox's contact card), and the organisation's
 * default country for local numbers (`contactSettings.defaultCountry` on the organisation document).
 */
import { AppError } from '../errors.js';
import { requireAdmin } from '../orgs/access.js';
import type { ApiStore, OrganisationDoc } from '../store.js';
import type { ContactFavourites } from './favourites.js';
import type { ContactMatcher } from './matcher.js';
import { displayName, normaliseEmail, normalisePhone, phoneKey, phonePrefixMatch, sortedSet, waKey } from './normalise.js';
import { derive, keysOf } from './patch.js';
import { canEdit, requireCreate, requireEdit, requireSee, visibleFilter, type Caller } from './rights.js';
import type { ContactCollections, ContactDoc } from './store.js';
import type { ContactTags } from './tags.js';

export interface ContactView {
  id: string;
  /** Display name: the contact's own, else a WhatsApp name, else its first phone. */
  displayName: string;
  name: string | null;
  phones: string[];
  emails: string[];
  company: string | null;
  notes: string | null;
  attributes: Record<string, string>;
  /** Tag ids (`GET /v1/contact-tags` has their names and colours). */
  tags: string[];
  externalId: string | null;
  source: string;
  sources: string[];
  identities: Array<{ instanceId: string; waId: string; name?: string; pushname?: string; phone?: string; syncedAt: string }>;
  instanceIds: string[];
  favourite: boolean;
  canEdit: boolean;
  merged: Array<{ contactId: string; displayName: string; at: string }>;
  createdAt: string;
  updatedAt: string;
}

export interface ListQuery {
  q?: string | undefined;
  phone?: string | undefined;
  tag?: string | undefined;
  instanceId?: string | undefined;
  favourites?: boolean | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** Fields a member sets by hand (create, edit). */
export interface ContactInput {
  name?: string | null | undefined;
  phones?: string[] | undefined;
  emails?: string[] | undefined;
  company?: string | null | undefined;
  notes?: string | null | undefined;
  attributes?: Record<string, string> | undefined;
  tags?: string[] | undefined;
  externalId?: string | null | undefined;
}

/** The list filter for `q`, `phone`, `tag`, `instanceId` on top of what the caller sees. */
export function listFilter(auth: Caller, q: ListQuery): Record<string, unknown> {
  const f: Record<string, unknown> = visibleFilter(auth);
  // A phone filter without digits matches nothing (`$in: []`; no sentinel string: PostgreSQL-backed stores refuse NUL).
  if (q.phone !== undefined) f.phones = phonePrefixMatch(q.phone) ?? { $in: [] };
  if (q.tag) f.tags = q.tag;
  if (q.instanceId) f.instanceIds = q.instanceId;
  if (q.q) {
    const text = q.q.trim().toLowerCase();
    const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const range = /^\+?[\d\s()-]{3,}$/.test(text) ? phonePrefixMatch(text) : undefined;
    f.$or = [{ sortName: { $regex: escaped } }, { emails: { $regex: escaped } }, ...(range ? [{ phones: range }] : [])];
  }
  return f;
}

const encodeCursor = (c: ContactDoc): string => Buffer.from(JSON.stringify([c.sortName, c._id])).toString('base64url');
function decodeCursor(cursor: string): [string, string] {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    /* refused below */
  }
  throw new AppError('unknown_cursor');
}

export class ContactBook {
  constructor(
    private readonly store: ApiStore,
    private readonly c: ContactCollections,
    private readonly matcher: ContactMatcher,
    private readonly tags: ContactTags,
    private readonly favourites: ContactFavourites,
  ) {}

  /** The view of `c` for `auth`. */
  view(auth: Caller, c: ContactDoc, favourite: boolean): ContactView {
    return {
      id: c._id,
      displayName: displayName(c),
      name: c.name,
      phones: c.phones,
      emails: c.emails,
      company: c.company,
      notes: c.notes,
      attributes: c.attributes,
      tags: c.tags,
      externalId: c.externalId,
      source: c.source,
      sources: c.sources,
      identities: c.identities.map((i) => ({
        instanceId: i.instanceId,
        waId: i.waId,
        ...(i.name ? { name: i.name } : {}),
        ...(i.pushname ? { pushname: i.pushname } : {}),
        ...(i.phone ? { phone: i.phone } : {}),
        syncedAt: new Date(i.syncedAt).toISOString(),
      })),
      instanceIds: c.instanceIds,
      favourite,
      canEdit: canEdit(auth, c),
      merged: c.merges.map((m) => ({ contactId: m.contactId, displayName: displayName(m.snapshot), at: m.at.toISOString() })),
      createdAt: c.createdAt.toISOString(),
      updatedAt: c.updatedAt.toISOString(),
    };
  }

  /**
   * A page of the contacts the caller sees, by display name; on the first page the caller's pinned contacts that match
   * come first (`favourite: true`), and they are not repeated after.
   * @throws AppError `unknown_cursor` (422): a cursor this list did not issue.
   */
  async list(auth: Caller, q: ListQuery): Promise<{ items: ContactView[]; nextCursor: string | null }> {
    const limit = q.limit ?? 50;
    const filter = listFilter(auth, q);
    const pinned = await this.favourites.ids(auth);
    const items: ContactView[] = [];
    if (pinned.size && !q.cursor) {
      const favs = await this.c.contacts
        .find({ ...filter, _id: { $in: [...pinned] } })
        .sort({ sortName: 1, _id: 1 })
        .toArray();
      items.push(...favs.map((d) => this.view(auth, d, true)));
    }
    if (q.favourites) return { items, nextCursor: null };
    const main: Record<string, unknown> = { ...filter };
    if (pinned.size) main._id = { $nin: [...pinned] };
    if (q.cursor) {
      const [name, id] = decodeCursor(q.cursor);
      const after = { $or: [{ sortName: { $gt: name } }, { sortName: name, _id: { $gt: id } }] };
      if (main.$or) {
        main.$and = [{ $or: main.$or }, after];
        delete main.$or;
      } else Object.assign(main, after);
    }
    const docs = await this.c.contacts
      .find(main)
      .sort({ sortName: 1, _id: 1 })
      .limit(limit + 1)
      .toArray();
    const page = docs.slice(0, limit);
    items.push(...page.map((d) => this.view(auth, d, false)));
    return { items, nextCursor: docs.length > limit ? encodeCursor(page[page.length - 1]!) : null };
  }

  /** @throws AppError `contact_not_found` (404). */
  async doc(auth: Caller, id: string): Promise<ContactDoc> {
    return requireSee(auth, await this.c.contacts.findOne({ _id: id, orgId: auth.orgId }));
  }

  /**
   * One contact with its conversations on the instances the caller sees.
   * @throws AppError `contact_not_found` (404).
   */
  async get(auth: Caller, id: string): Promise<ContactView & { conversations: ConversationRef[] }> {
    const d = await this.doc(auth, id);
    const pinned = await this.favourites.ids(auth);
    return { ...this.view(auth, d, pinned.has(d._id)), conversations: await this.conversations(auth, d) };
  }

  /** The conversations (`conversations`, docs/team.md §3) with the contact's identities, on instances the caller sees. */
  private async conversations(auth: Caller, d: ContactDoc): Promise<ConversationRef[]> {
    if (!d.identities.length) return [];
    const coll = this.store.connection.db!.collection<ConversationDoc>('conversations');
    const docs = await coll
      .find({ orgId: auth.orgId, chatId: { $in: d.identities.map((i) => i.waId) } })
      .limit(100)
      .toArray();
    const visible = docs.filter((x) => requireSeeSafe(auth, x.instanceId) && d.instanceIds.includes(x.instanceId));
    return visible.map((x) => ({
      id: x._id,
      instanceId: x.instanceId,
      chatId: x.chatId,
      status: x.status ?? null,
      lastActivityAt: x.lastActivityAt ? new Date(x.lastActivityAt).toISOString() : null,
    }));
  }

  /**
   * The contact of chat `chatId` on instance `instanceId` (the inbox's contact card).
   * @throws AppError `contact_not_found` (404): no contact, or the caller cannot see it.
   */
  async byChat(auth: Caller, instanceId: string, chatId: string): Promise<ContactView & { conversations: ConversationRef[] }> {
    // By the WhatsApp id's claim, then the contact by _id: index reads on every server (a filter on the nested
    // `identities.waId` decodes the organisation's whole book on FerretDB, docs/embedded-database.md).
    const key = await this.c.keys.findOne({ _id: waKey(auth.orgId, chatId) });
    const d = key ? await this.c.contacts.findOne({ _id: key.contactId }) : null;
    if (!d || d.orgId !== auth.orgId || !d.instanceIds.includes(instanceId) || !d.identities.some((i) => i.waId === chatId))
      throw new AppError('contact_not_found');
    return this.get(auth, d._id);
  }

  /** Normalises hand-typed fields. @throws AppError `invalid_contact` (422, details `[{in, field, problem}]`). */
  async normaliseInput(orgId: string, input: ContactInput): Promise<ContactInput> {
    const country = await this.defaultCountry(orgId);
    const problems: Array<{ in: 'body'; field: string; problem: string }> = [];
    const phones = (input.phones ?? []).map((p, i) => {
      const r = normalisePhone(p, country);
      if ('problem' in r) problems.push({ in: 'body', field: `phones.${i}`, problem: r.problem });
      return 'phone' in r ? r.phone : '';
    });
    const emails = (input.emails ?? []).map((e, i) => {
      const r = normaliseEmail(e);
      if (!r) problems.push({ in: 'body', field: `emails.${i}`, problem: 'invalid_email' });
      return r ?? '';
    });
    if (problems.length)
      throw new AppError('invalid_contact', `Invalid body field "${problems[0]!.field}": ${problems[0]!.problem}`, problems);
    if (input.tags) await this.tags.requireAll(orgId, input.tags);
    return {
      ...input,
      ...(input.phones ? { phones: sortedSet(phones) } : {}),
      ...(input.emails ? { emails: sortedSet(emails) } : {}),
      ...(input.tags ? { tags: sortedSet(input.tags) } : {}),
    };
  }

  /**
   * Creates a contact by hand — or, when one of its phones or its external id is a contact already, adds to that one
   * (one person, one contact).
   * @throws AppError `right_required` (403), `invalid_contact` (422), `tag_not_found` (404).
   */
  async create(auth: Caller, input: ContactInput): Promise<ContactView> {
    requireCreate(auth);
    const n = await this.normaliseInput(auth.orgId, input);
    const { doc } = await this.matcher.upsert(auth.orgId, {
      source: 'manual',
      name: n.name ?? undefined,
      phones: n.phones,
      emails: n.emails,
      company: n.company ?? undefined,
      notes: n.notes ?? undefined,
      attributes: n.attributes,
      tags: n.tags,
      externalId: n.externalId ?? undefined,
    });
    return this.view(auth, doc, (await this.favourites.ids(auth)).has(doc._id));
  }

  /**
   * Edits a contact: given fields replace the stored ones (null clears). A phone owned by another contact is refused.
   * @throws AppError `contact_not_found` (404), `right_required` (403), `invalid_contact` (422), `phone_in_use` (409).
   */
  async update(auth: Caller, id: string, input: ContactInput): Promise<ContactView> {
    const d = requireEdit(auth, await this.c.contacts.findOne({ _id: id, orgId: auth.orgId }));
    const n = await this.normaliseInput(auth.orgId, input);
    const next: ContactDoc = { ...d, updatedAt: new Date() };
    if (n.name !== undefined) next.name = n.name || null;
    if (n.company !== undefined) next.company = n.company || null;
    if (n.notes !== undefined) next.notes = n.notes || null;
    if (n.externalId !== undefined) next.externalId = n.externalId || null;
    if (n.attributes !== undefined) next.attributes = n.attributes;
    if (n.emails !== undefined) next.emails = n.emails;
    if (n.tags !== undefined) next.tags = n.tags;
    if (n.phones !== undefined) {
      const whatsapp = d.identities.map((i) => i.phone).filter((p): p is string => Boolean(p));
      next.phones = sortedSet([...n.phones, ...whatsapp]); // numbers WhatsApp reports stay
      for (const p of next.phones.filter((x) => !d.phones.includes(x))) {
        const owner = await this.c.keys.findOne({ _id: phoneKey(auth.orgId, p) });
        if (owner && owner.contactId !== d._id && (await this.c.contacts.countDocuments({ _id: owner.contactId }, { limit: 1 })))
          throw new AppError('phone_in_use', `${p} belongs to contact ${owner.contactId}; merge the two instead.`, {
            contactId: owner.contactId,
          });
      }
    }
    derive(next);
    await this.c.contacts.replaceOne({ _id: d._id }, next);
    const dropped = keysOf(d).filter((k) => !keysOf(next).includes(k));
    if (dropped.length) await this.c.keys.deleteMany({ _id: { $in: dropped }, contactId: d._id });
    await this.matcher.claimKeys(next);
    return this.view(auth, next, (await this.favourites.ids(auth)).has(d._id));
  }

  /**
   * Deletes a contact (its keys and pins too); a synced one comes back at the next sync.
   * @throws AppError `contact_not_found` (404), `right_required` (403).
   */
  async remove(auth: Caller, id: string): Promise<void> {
    const d = requireEdit(auth, await this.c.contacts.findOne({ _id: id, orgId: auth.orgId }));
    await this.c.contacts.deleteOne({ _id: d._id });
    await this.c.keys.deleteMany({ orgId: auth.orgId, contactId: d._id });
    await this.c.favourites.deleteMany({ orgId: auth.orgId, contactId: d._id });
  }

  /**
   * Adds and removes tags on many contacts; contacts the caller cannot edit are skipped and counted.
   * @throws AppError `tag_not_found` (404).
   */
  async bulkTag(auth: Caller, ids: string[], add: string[], remove: string[]): Promise<{ updated: number; skipped: number }> {
    await this.tags.requireAll(auth.orgId, [...add, ...remove]);
    const docs = await this.c.contacts.find({ orgId: auth.orgId, _id: { $in: [...new Set(ids)] } }).toArray();
    const editable = docs.filter((d) => canEdit(auth, d)).map((d) => d._id);
    const now = new Date();
    for (let i = 0; i < editable.length; i += 50) {
      const chunk = editable.slice(i, i + 50);
      if (add.length)
        await this.c.contacts.updateMany({ _id: { $in: chunk } }, { $addToSet: { tags: { $each: add } }, $set: { updatedAt: now } });
      if (remove.length)
        await this.c.contacts.updateMany({ _id: { $in: chunk } }, { $pullAll: { tags: remove }, $set: { updatedAt: now } });
    }
    return { updated: editable.length, skipped: new Set(ids).size - editable.length };
  }

  /** The organisation's default country for local numbers (ISO 3166-1 alpha-2), or null. */
  async defaultCountry(orgId: string): Promise<string | null> {
    const org = await this.store.organisations.findOne({ _id: orgId }, { projection: { contactSettings: 1 } });
    return (org as { contactSettings?: { defaultCountry?: string | null } } | null)?.contactSettings?.defaultCountry ?? null;
  }

  /** Sets it (owners and admins). @throws AppError `role_required` (403). */
  async setDefaultCountry(auth: Caller, country: string | null): Promise<{ defaultCountry: string | null }> {
    requireAdmin(auth);
    await this.store.organisations.updateOne(
      { _id: auth.orgId },
      { $set: { contactSettings: { defaultCountry: country } } as Partial<OrganisationDoc> },
    );
    return { defaultCountry: country };
  }
}

export interface ConversationRef {
  id: string;
  instanceId: string;
  chatId: string;
  status: string | null;
  lastActivityAt: string | null;
}

interface ConversationDoc {
  _id: string;
  orgId: string;
  instanceId: string;
  chatId: string;
  status?: string;
  lastActivityAt?: Date;
}

/** Whether the caller reads instance `id` (owners and admins read all). */
function requireSeeSafe(auth: Caller, id: string): boolean {
  return auth.role !== 'agent' || Boolean(auth.rights[id]?.canRead);
}
