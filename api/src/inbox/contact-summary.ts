/**
 * The contact of each listed conversation (docs/team.md §3, issue 16 §4): the book's display name and the contact's
 * tags with their names and colours, so the inbox's list shows who writes without one request per row.
 *
 * For a page of conversations, point reads only, in parallel: each user chat's `contact_keys` claim
 * (`<orgId>|w|<waId>` → contactId), each contact found by its `_id`, and one read of `contact_tags` (the tags of the
 * contacts found) — never a read that filters the book itself. A single `find` by `{orgId, 'identities.waId': {$in}}`
 * would be one round trip on MongoDB, but the embedded server (FerretDB, docs/embedded-database.md) does not push
 * nested paths down: it would decode every contact of the organisation per listed page (seconds at the 100,000
 * contacts of an imported CRM), where `_id` lookups are index reads. A conversation's contact is the one
 * `GET /v1/contacts/by-chat` gives for its (instance, chat):
 * the contact with that WhatsApp id linked to that instance. The caller reads the conversation's instance, so it sees
 * that contact (contacts/rights.ts); groups and chats not in the book have none (null).
 */
import { z } from 'zod';
import type mongoose from 'mongoose';
import { displayName, waKey } from '../contacts/normalise.js';
import type { ContactDoc, ContactKeyDoc, ContactTagDoc } from '../contacts/store.js';

/** A tag of a listed conversation's contact. */
export interface TagSummary {
  id: string;
  name: string;
  /** `#rrggbb`. */
  color: string;
}

/** The contact of a listed conversation. */
export interface ContactSummary {
  id: string;
  /** The book's name, else a name WhatsApp knows, else its first phone (as `GET /v1/contacts` shows it). */
  displayName: string;
  /** In the catalogue's order of names. */
  tags: TagSummary[];
}

export const contactSummarySchema = z
  .object({
    id: z.string().meta({ description: 'The contact (GET /v1/contacts/{id})' }),
    displayName: z.string().meta({ description: 'name, else a WhatsApp name, else the first phone' }),
    tags: z
      .array(z.object({ id: z.string(), name: z.string(), color: z.string().meta({ description: '#rrggbb' }) }))
      .meta({ description: 'The contact’s tags, by name' }),
  })
  .meta({ description: 'The contact of the chat in the contact book' });

type Listed = { instanceId: string; chatId: string; isGroup: boolean };
type ContactFields = Pick<ContactDoc, '_id' | 'name' | 'phones' | 'emails' | 'tags' | 'identities' | 'instanceIds'>;

export class ContactSummaries {
  private readonly contacts: mongoose.mongo.Collection<ContactDoc>;
  private readonly keys: mongoose.mongo.Collection<ContactKeyDoc>;
  private readonly tags: mongoose.mongo.Collection<ContactTagDoc>;

  /** Reads the contact book's collections on `db` (created and indexed by the contacts module). */
  constructor(db: mongoose.mongo.Db) {
    this.contacts = db.collection<ContactDoc>('contacts');
    this.keys = db.collection<ContactKeyDoc>('contact_keys');
    this.tags = db.collection<ContactTagDoc>('contact_tags');
  }

  /**
   * Each conversation of `items` (of organisation `orgId`) with its `contact` (null: none), in the same order.
   * Reads by `_id` only: one per user chat, one per contact found, one of the tags (none for a page without user chats).
   */
  async attach<T extends Listed>(orgId: string, items: T[]): Promise<Array<T & { contact: ContactSummary | null }>> {
    const chatIds = [...new Set(items.filter((c) => !c.isGroup).map((c) => c.chatId))];
    const claims = await Promise.all(
      chatIds.map((waId) => this.keys.findOne({ _id: waKey(orgId, waId) }, { projection: { contactId: 1 } })),
    );
    const contactIds = [...new Set(claims.flatMap((k) => (k ? [k.contactId] : [])))];
    const projection = { _id: 1, name: 1, phones: 1, emails: 1, tags: 1, identities: 1, instanceIds: 1 };
    const found = (await Promise.all(contactIds.map((id) => this.contacts.findOne({ _id: id }, { projection })))).flatMap((c) =>
      c ? [c] : [],
    );
    const tagIds = [...new Set(found.flatMap((c) => c.tags))];
    const tags = tagIds.length
      ? await this.tags.find({ orgId, _id: { $in: tagIds } }, { projection: { _id: 1, name: 1, color: 1 } }).toArray()
      : [];
    const tagById = new Map(tags.map((t) => [t._id, { id: t._id, name: t.name, color: t.color }]));
    // A WhatsApp id belongs to one contact of the organisation (its `contact_keys` entry).
    const byWaId = new Map<string, ContactFields>();
    for (const c of found as ContactFields[]) for (const i of c.identities) byWaId.set(i.waId, c);
    return items.map((item) => {
      const c = item.isGroup ? undefined : byWaId.get(item.chatId);
      return { ...item, contact: c && c.instanceIds.includes(item.instanceId) ? summary(c, tagById) : null };
    });
  }
}

function summary(c: ContactFields, tagById: ReadonlyMap<string, TagSummary>): ContactSummary {
  const tags = c.tags.flatMap((id) => (tagById.has(id) ? [tagById.get(id)!] : []));
  tags.sort((a, b) => a.name.localeCompare(b.name));
  return { id: c._id, displayName: displayName(c), tags };
}
