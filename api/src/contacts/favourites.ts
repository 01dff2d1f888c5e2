/**
 * Each member's pinned contacts (`contact_favourites`, `_id` = `<memberId>|<contactId>`: pinning twice is one pin).
 * Pinned contacts head the member's contact lists.
 */
import { isDuplicateKey } from '../store.js';
import type { Caller } from './rights.js';
import type { ContactCollections } from './store.js';

export class ContactFavourites {
  constructor(private readonly c: ContactCollections) {}

  /** Pins `contactId` for the caller (idempotent; the caller checked it sees the contact). */
  async pin(auth: Caller, contactId: string): Promise<void> {
    try {
      await this.c.favourites.insertOne({
        _id: `${auth.memberId}|${contactId}`,
        orgId: auth.orgId,
        memberId: auth.memberId,
        contactId,
        createdAt: new Date(),
      });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }

  /** Unpins (idempotent). */
  async unpin(auth: Caller, contactId: string): Promise<void> {
    await this.c.favourites.deleteOne({ _id: `${auth.memberId}|${contactId}` });
  }

  /** The caller's pinned contact ids. */
  async ids(auth: Caller): Promise<Set<string>> {
    const docs = await this.c.favourites.find({ orgId: auth.orgId, memberId: auth.memberId }, { projection: { contactId: 1 } }).toArray();
    return new Set(docs.map((d) => d.contactId));
  }

  /** Moves the pins of contact `from` to `to` (a merge), for every member. */
  async move(orgId: string, from: string, to: string): Promise<void> {
    const pins = await this.c.favourites.find({ orgId, contactId: from }).toArray();
    for (const p of pins) {
      await this.c.favourites.insertOne({ ...p, _id: `${p.memberId}|${to}`, contactId: to }).catch((err: unknown) => {
        if (!isDuplicateKey(err)) throw err;
      });
      await this.c.favourites.deleteOne({ _id: p._id });
    }
  }
}
