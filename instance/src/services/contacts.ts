/** Contacts: the users and groups the account knows, as stored from the engine's events. */
import { AppError } from '../errors.js';
import { findContactById, findContacts, type ContactFilter, type Page } from '../storage/queries.js';
import type { Store } from '../storage/store.js';
import { toContactView, type ContactView } from './views.js';

export class ContactsService {
  constructor(private readonly store: Store) {}

  /** Contacts matching `filter`, by id. @throws AppError `invalid_cursor`. */
  async list(filter: ContactFilter): Promise<Page<ContactView>> {
    const page = await findContacts(this.store, filter);
    return { items: page.items.map(toContactView), nextCursor: page.nextCursor };
  }

  /** One user or group. @throws AppError `contact_not_found`. */
  async get(id: string): Promise<ContactView> {
    const doc = await findContactById(this.store, id);
    if (!doc) throw new AppError('contact_not_found');
    return toContactView(doc);
  }
}
