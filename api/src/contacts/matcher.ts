/**
 * Matching facts about a person to the organisation's book, one at a time (a synced WhatsApp contact, a manual
 * contact, an import row that the bulk path could not place): by external id, then by normalised phone, then by
 * WhatsApp id. A match is updated with {@link applyPatch}; no match creates a contact, inserted first and then claiming
 * its keys (`contact_keys`, unique inserts): when another writer claimed one of them meanwhile, the new contact is
 * removed again and the facts go to the winner, so concurrent reports of one person end in one contact.
 * Without transactions (FerretDB v1) an update is read-modify-write: two writers changing one contact at the same
 * moment may lose one's identity change, which the next periodic pull puts back.
 */
import { isDuplicateKey } from '../store.js';
import { applyPatch, emptyContact, keysOf, setOf, type ContactPatch } from './patch.js';
import { phoneKey, waKey } from './normalise.js';
import type { ContactCollections, ContactDoc, ContactKeyDoc } from './store.js';

export type UpsertOutcome = 'created' | 'updated' | 'unchanged';

export class ContactMatcher {
  constructor(private readonly c: ContactCollections) {}

  /**
   * The contact `p` belongs to, if any: by external id, else by any of its phones, else by its WhatsApp id.
   * Stale keys (their contact is gone) are removed on the way.
   */
  async find(orgId: string, p: ContactPatch): Promise<ContactDoc | null> {
    if (p.externalId) {
      const byExt = await this.c.contacts.findOne({ orgId, externalId: p.externalId });
      if (byExt) return byExt;
    }
    const ids = [...(p.phones ?? []).map((ph) => phoneKey(orgId, ph))];
    if (p.identity?.phone) ids.push(phoneKey(orgId, p.identity.phone));
    if (p.identity) ids.push(waKey(orgId, p.identity.waId));
    for (const id of ids) {
      const key = await this.c.keys.findOne({ _id: id });
      if (!key) continue;
      const doc = await this.c.contacts.findOne({ _id: key.contactId, orgId });
      if (doc) return doc;
      await this.c.keys.deleteOne({ _id: id, contactId: key.contactId });
    }
    return null;
  }

  /**
   * Applies `p` to its contact, or creates one.
   * @returns the contact as stored and what happened.
   */
  async upsert(orgId: string, p: ContactPatch, now = new Date()): Promise<{ doc: ContactDoc; outcome: UpsertOutcome }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const found = await this.find(orgId, p);
      if (found) {
        const { doc, changed } = applyPatch(found, p);
        if (!changed.length) return { doc: found, outcome: 'unchanged' };
        await this.c.contacts.updateOne({ _id: found._id }, { $set: setOf(doc, changed, now) });
        await this.claimKeys(doc);
        return { doc: { ...doc, updatedAt: now }, outcome: 'updated' };
      }
      const { doc } = applyPatch(emptyContact(orgId, p.source, now), p);
      await this.c.contacts.insertOne(doc);
      if (await this.claimKeys(doc, true)) return { doc, outcome: 'created' };
      await this.c.contacts.deleteOne({ _id: doc._id }); // lost a race for a key: go to the winner
      await this.c.keys.deleteMany({ contactId: doc._id, orgId });
    }
    throw new Error('contact keys kept changing; retry');
  }

  /**
   * Inserts the keys `doc` owns that nobody owns yet.
   * @param strict when true, a key owned by another contact makes the claim fail (false returned).
   */
  async claimKeys(doc: Pick<ContactDoc, '_id' | 'orgId' | 'phones' | 'identities'>, strict = false): Promise<boolean> {
    for (const _id of keysOf(doc)) {
      const key: ContactKeyDoc = { _id, orgId: doc.orgId, contactId: doc._id };
      try {
        await this.c.keys.insertOne(key);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        if (!strict) continue;
        const owner = await this.c.keys.findOne({ _id });
        if (owner && owner.contactId !== doc._id) {
          const alive = await this.c.contacts.countDocuments({ _id: owner.contactId }, { limit: 1 });
          if (alive) return false;
          await this.c.keys.updateOne({ _id, contactId: owner.contactId }, { $set: { contactId: doc._id } });
        }
      }
    }
    return true;
  }
}
