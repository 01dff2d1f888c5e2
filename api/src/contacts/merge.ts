/**
 * Manual merge of two contacts (the same person under two numbers, say) and its undo. A merge keeps one contact: it
 * gains the other's phones, emails, tags, WhatsApp identities and attributes it lacked, and its empty name, company and
 * notes are filled from the other; the other is deleted, its keys and members' pins move to the kept one, and the kept
 * contact records what the merge added together with the other as it was. Unmerge restores the other (same id) and
 * takes from the kept contact what the merge added. Both are audited (`contact.merged`, `contact.unmerged`).
 */
import type { AuditLog } from '../audit.js';
import { AppError } from '../errors.js';
import type { ContactFavourites } from './favourites.js';
import { derive, keysOf } from './patch.js';
import { requireEdit, type Caller } from './rights.js';
import type { ContactCollections, ContactDoc, MergeRecord } from './store.js';

const minus = (a: string[], b: string[]): string[] => a.filter((x) => !b.includes(x));
const FILLABLE = ['name', 'company', 'notes', 'externalId'] as const;

export class ContactMerges {
  constructor(
    private readonly c: ContactCollections,
    private readonly favourites: ContactFavourites,
    private readonly audit: AuditLog,
  ) {}

  /**
   * Merges contact `otherId` into `keepId`.
   * @returns the kept contact.
   * @throws AppError `contact_not_found` (404), `right_required` (403: the caller must be allowed to edit both),
   *   `merge_with_itself` (422).
   */
  async merge(auth: Caller, keepId: string, otherId: string): Promise<ContactDoc> {
    if (keepId === otherId) throw new AppError('merge_with_itself');
    const keep = requireEdit(auth, await this.c.contacts.findOne({ _id: keepId, orgId: auth.orgId }));
    const other = requireEdit(auth, await this.c.contacts.findOne({ _id: otherId, orgId: auth.orgId }));
    const now = new Date();
    const keepWa = keep.identities.map((i) => i.waId);
    const added: MergeRecord['added'] = {
      phones: minus(other.phones, keep.phones),
      emails: minus(other.emails, keep.emails),
      tags: minus(other.tags, keep.tags),
      waIds: minus(
        other.identities.map((i) => i.waId),
        keepWa,
      ),
      attributes: Object.keys(other.attributes).filter((k) => !(k in keep.attributes)),
      filled: FILLABLE.filter((f) => keep[f] === null && other[f] !== null) as string[],
    };
    const next: ContactDoc = derive({
      ...keep,
      phones: [...keep.phones, ...added.phones].sort(),
      emails: [...keep.emails, ...added.emails].sort(),
      tags: [...keep.tags, ...added.tags].sort(),
      identities: [...keep.identities, ...other.identities.filter((i) => added.waIds.includes(i.waId))],
      attributes: { ...other.attributes, ...keep.attributes },
      sources: [...new Set([...keep.sources, ...other.sources])].sort(),
      merges: [...keep.merges, { contactId: other._id, at: now, by: auth.memberId, snapshot: other, added }],
      updatedAt: now,
    });
    for (const f of added.filled) (next as unknown as Record<string, unknown>)[f] = (other as unknown as Record<string, unknown>)[f];
    derive(next);
    await this.c.contacts.replaceOne({ _id: keep._id }, next);
    await this.c.keys.updateMany({ orgId: auth.orgId, contactId: other._id }, { $set: { contactId: keep._id } });
    await this.c.contacts.deleteOne({ _id: other._id });
    await this.favourites.move(auth.orgId, other._id, keep._id);
    await this.audit.record(auth.orgId, auth, 'contact.merged', { type: 'contact', id: keep._id }, { merged: other._id });
    return next;
  }

  /**
   * Undoes the merge of `mergedId` into `keepId`.
   * @returns both contacts, as they are now.
   * @throws AppError `contact_not_found` (404), `right_required` (403), `merge_not_found` (404).
   */
  async unmerge(auth: Caller, keepId: string, mergedId: string): Promise<{ kept: ContactDoc; restored: ContactDoc }> {
    const keep = requireEdit(auth, await this.c.contacts.findOne({ _id: keepId, orgId: auth.orgId }));
    const record = keep.merges.find((m) => m.contactId === mergedId);
    if (!record) throw new AppError('merge_not_found');
    const now = new Date();
    const a = record.added;
    const attributes = { ...keep.attributes };
    for (const k of a.attributes) delete attributes[k];
    const kept: ContactDoc = {
      ...keep,
      phones: minus(keep.phones, a.phones),
      emails: minus(keep.emails, a.emails),
      tags: minus(keep.tags, a.tags),
      identities: keep.identities.filter((i) => !a.waIds.includes(i.waId)),
      attributes,
      merges: keep.merges.filter((m) => m !== record),
      updatedAt: now,
    };
    for (const f of a.filled) (kept as unknown as Record<string, unknown>)[f] = null;
    derive(kept);
    const restored: ContactDoc = derive({ ...record.snapshot, updatedAt: now });
    await this.c.contacts.insertOne(restored);
    await this.c.contacts.replaceOne({ _id: keep._id }, kept);
    const moved = keysOf(restored).filter((k) => !keysOf(kept).includes(k));
    if (moved.length) await this.c.keys.updateMany({ _id: { $in: moved }, orgId: auth.orgId }, { $set: { contactId: restored._id } });
    await this.audit.record(auth.orgId, auth, 'contact.unmerged', { type: 'contact', id: keep._id }, { restored: restored._id });
    return { kept, restored };
  }
}
