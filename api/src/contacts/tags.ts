/**
 * The organisation's tag catalogue (`contact_tags`): a name (unique per organisation, case-insensitive) and a colour.
 * Any member who may create contacts creates tags; renaming and removing a tag takes an owner or admin (removing it
 * also takes it off every contact). Contacts hold tag ids.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';
import { requireAdmin } from '../orgs/access.js';
import { isDuplicateKey } from '../store.js';
import { requireCreate, type Caller } from './rights.js';
import type { ContactCollections, ContactTagDoc } from './store.js';

export interface TagView {
  id: string;
  name: string;
  color: string;
  createdAt: string;
}

/** Colours given to tags created without one (by imports), by name. */
const PALETTE = ['#1e88e5', '#43a047', '#fb8c00', '#8e24aa', '#e53935', '#00897b', '#6d4c41', '#546e7a'];

export const tagView = (t: ContactTagDoc): TagView => ({ id: t._id, name: t.name, color: t.color, createdAt: t.createdAt.toISOString() });

/** A tag name as stored: trimmed, inner whitespace collapsed. */
export const cleanTagName = (name: string): string => name.trim().replace(/\s+/g, ' ');

export class ContactTags {
  constructor(private readonly c: ContactCollections) {}

  /** The catalogue, by name. */
  async list(orgId: string): Promise<TagView[]> {
    const docs = await this.c.tags.find({ orgId }).toArray();
    return docs.sort((a, b) => a.key.localeCompare(b.key)).map(tagView);
  }

  /** The organisation's tags by id. */
  async byId(orgId: string): Promise<Map<string, ContactTagDoc>> {
    return new Map((await this.c.tags.find({ orgId }).toArray()).map((t) => [t._id, t]));
  }

  /** @throws AppError `tag_name_taken` (409), `right_required` (403). */
  async create(auth: Caller, name: string, color?: string): Promise<TagView> {
    requireCreate(auth);
    const clean = cleanTagName(name);
    const doc: ContactTagDoc = {
      _id: 'tag_' + randomBytes(8).toString('hex'),
      orgId: auth.orgId,
      name: clean,
      key: clean.toLowerCase(),
      color: color ?? PALETTE[[...clean].reduce((h, ch) => h + ch.charCodeAt(0), 0) % PALETTE.length]!,
      createdAt: new Date(),
    };
    try {
      await this.c.tags.insertOne(doc);
    } catch (err) {
      if (isDuplicateKey(err)) throw new AppError('tag_name_taken');
      throw err;
    }
    return tagView(doc);
  }

  /** @throws AppError `role_required` (403), `tag_not_found` (404), `tag_name_taken` (409). */
  async update(auth: Caller, id: string, patch: { name?: string | undefined; color?: string | undefined }): Promise<TagView> {
    requireAdmin(auth);
    const tag = await this.c.tags.findOne({ _id: id, orgId: auth.orgId });
    if (!tag) throw new AppError('tag_not_found');
    const set: Partial<ContactTagDoc> = {};
    if (patch.name !== undefined) {
      set.name = cleanTagName(patch.name);
      set.key = set.name.toLowerCase();
    }
    if (patch.color !== undefined) set.color = patch.color;
    try {
      if (Object.keys(set).length) await this.c.tags.updateOne({ _id: id }, { $set: set });
    } catch (err) {
      if (isDuplicateKey(err)) throw new AppError('tag_name_taken');
      throw err;
    }
    return tagView({ ...tag, ...set });
  }

  /** Removes the tag and takes it off every contact. @throws AppError `role_required` (403), `tag_not_found` (404). */
  async remove(auth: Caller, id: string): Promise<void> {
    requireAdmin(auth);
    const r = await this.c.tags.deleteOne({ _id: id, orgId: auth.orgId });
    if (!r.deletedCount) throw new AppError('tag_not_found');
    await this.c.contacts.updateMany({ orgId: auth.orgId, tags: id }, { $pull: { tags: id } });
  }

  /**
   * Ids of the tags named `names` (case-insensitive), creating the missing ones (imports).
   * @returns name key → tag id.
   */
  async ensure(orgId: string, names: Iterable<string>): Promise<Map<string, string>> {
    const wanted = new Map<string, string>();
    for (const n of names) {
      const clean = cleanTagName(n);
      if (clean) wanted.set(clean.toLowerCase(), clean);
    }
    const out = new Map<string, string>();
    for (const t of await this.c.tags.find({ orgId }).toArray()) if (wanted.has(t.key)) out.set(t.key, t._id);
    for (const [key, name] of wanted) {
      if (out.has(key)) continue;
      const doc: ContactTagDoc = {
        _id: 'tag_' + randomBytes(8).toString('hex'),
        orgId,
        name,
        key,
        color: PALETTE[[...name].reduce((h, ch) => h + ch.charCodeAt(0), 0) % PALETTE.length]!,
        createdAt: new Date(),
      };
      try {
        await this.c.tags.insertOne(doc);
        out.set(key, doc._id);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        const t = await this.c.tags.findOne({ orgId, key });
        if (t) out.set(key, t._id);
      }
    }
    return out;
  }

  /** @throws AppError `tag_not_found` (404) unless every id is a tag of `orgId`. */
  async requireAll(orgId: string, ids: string[]): Promise<void> {
    if (!ids.length) return;
    const found = await this.c.tags.countDocuments({ orgId, _id: { $in: [...new Set(ids)] } });
    if (found !== new Set(ids).size) throw new AppError('tag_not_found');
  }
}
