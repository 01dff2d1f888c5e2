import { ChangeDetectionStrategy, Component, computed, effect, inject, input, signal, untracked } from '@angular/core';
import { Router, RouterLink } from '@angular/router';
import { toApiError } from '../core/api-error';
import { valueOf } from '../shared/dom';
import { formatDate } from '../shared/format';
import { ContactsApi, type ContactDetail, type ContactInput, type ContactTag } from './contacts.service';
import { colourFor, displayName, identityLabel, linesOf, tagChips } from './contact-view';

/**
 * Adds a contact (`/contacts/new`, `?phone=` fills the first phone) or edits one (`/contacts/:id`): name, phones and
 * e-mails (one per line), company, notes, tags from the catalogue (a new tag is created on the spot), favourite;
 * its WhatsApp identities are shown, not edited; the contacts merged into it are listed, each with "Unmerge" (it
 * comes back as a contact of its own). Saving goes back to the list.
 */
@Component({
  selector: 'app-contact-edit',
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './contact-edit.html',
  styleUrl: './contacts.css',
})
export class ContactEdit {
  private readonly contacts = inject(ContactsApi);
  private readonly router = inject(Router);

  /** The contact's id from the route; absent on `/contacts/new`. */
  readonly id = input<string | undefined>();
  /** `?phone=`: a phone to start a new contact with (the contact card's "Add to contacts"). */
  readonly phone = input<string | undefined>();

  readonly contact = signal<ContactDetail | null>(null);
  readonly tags = signal<ContactTag[]>([]);
  readonly name = signal('');
  readonly phones = signal('');
  readonly emails = signal('');
  readonly company = signal('');
  readonly notes = signal('');
  readonly chosenTags = signal<string[]>([]);
  readonly newTag = signal('');
  readonly error = signal<string | null>(null);
  readonly busy = signal(false);
  readonly loading = signal(false);
  /** The contact an unmerge just brought back (a link to it), or null. */
  readonly restored = signal<{ id: string; name: string } | null>(null);

  readonly isNew = computed(() => !this.id());
  readonly chips = computed(() => tagChips(this.chosenTags(), this.tags()));
  protected readonly valueOf = valueOf;
  protected readonly identityLabel = identityLabel;
  protected readonly displayName = displayName;
  protected readonly formatDate = formatDate;

  constructor() {
    void this.loadTags();
    effect(() => {
      const id = this.id();
      const phone = this.phone();
      untracked(() => {
        this.restored.set(null);
        if (id) void this.load(id);
        else this.phones.set(phone ?? '');
      });
    });
  }

  async loadTags(): Promise<void> {
    try {
      this.tags.set(await this.contacts.tags());
    } catch (e) {
      this.error.set(toApiError(e).message);
    }
  }

  async load(id: string): Promise<void> {
    this.loading.set(true);
    try {
      const c = await this.contacts.get(id);
      this.contact.set(c);
      this.name.set(c.name ?? '');
      this.phones.set(c.phones.join('\n'));
      this.emails.set(c.emails.join('\n'));
      this.company.set(c.company ?? '');
      this.notes.set(c.notes ?? '');
      this.chosenTags.set([...c.tags]);
    } catch (e) {
      this.error.set(toApiError(e).message);
    } finally {
      this.loading.set(false);
    }
  }

  hasTag(t: ContactTag): boolean {
    return this.chosenTags().includes(t.id);
  }

  toggleTag(t: ContactTag): void {
    this.chosenTags.update((ids) => (ids.includes(t.id) ? ids.filter((x) => x !== t.id) : [...ids, t.id]));
  }

  /** Creates the typed tag in the catalogue (or picks the existing one of that name) and ticks it. */
  async addTag(): Promise<void> {
    const name = this.newTag().trim();
    if (!name) return;
    const existing = this.tags().find((t) => t.name.toLowerCase() === name.toLowerCase());
    if (existing) {
      if (!this.hasTag(existing)) this.toggleTag(existing);
      this.newTag.set('');
      return;
    }
    this.error.set(null);
    try {
      const tag = await this.contacts.createTag(name, colourFor(name));
      this.tags.update((list) => [...list, tag].sort((a, b) => a.name.localeCompare(b.name)));
      this.chosenTags.update((ids) => [...ids, tag.id]);
      this.newTag.set('');
    } catch (e) {
      this.error.set(toApiError(e).message);
    }
  }

  /** The form as the api takes it. */
  body(): ContactInput {
    return {
      name: this.name().trim() || null,
      phones: linesOf(this.phones()),
      emails: linesOf(this.emails()),
      company: this.company().trim() || null,
      notes: this.notes().trim() || null,
      tags: this.chosenTags(),
    };
  }

  async save(): Promise<void> {
    this.busy.set(true);
    this.error.set(null);
    try {
      const id = this.id();
      if (id) await this.contacts.update(id, this.body());
      else await this.contacts.create(this.body());
      await this.router.navigateByUrl('/contacts');
    } catch (e) {
      this.error.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }

  /**
   * Undoes the merge of `mergedId` into this contact: it comes back with its id, phones, tags and WhatsApp identities;
   * this contact is shown again as the api now has it.
   */
  async unmerge(mergedId: string): Promise<void> {
    const c = this.contact();
    if (!c) return;
    this.busy.set(true);
    this.error.set(null);
    this.restored.set(null);
    try {
      const r = await this.contacts.unmerge(c.id, mergedId);
      await this.load(c.id);
      this.restored.set({ id: r.restored.id, name: displayName(r.restored) });
    } catch (e) {
      this.error.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }

  unmergeLabel(m: { contactId: string; displayName: string; at: string }): string {
    return $localize`:@@contacts.unmergeLabel:Unmerge ${m.displayName}:name:, merged on ${formatDate(m.at)}:date:`;
  }

  async toggleFavourite(): Promise<void> {
    const c = this.contact();
    if (!c) return;
    try {
      await this.contacts.setFavourite(c.id, !c.favourite);
      this.contact.set({ ...c, favourite: !c.favourite });
    } catch (e) {
      this.error.set(toApiError(e).message);
    }
  }

  async remove(): Promise<void> {
    const c = this.contact();
    if (!c) return;
    if (!window.confirm($localize`:@@contacts.deleteConfirm:Delete the contact ${displayName(c)}:name:?`)) return;
    this.busy.set(true);
    try {
      await this.contacts.remove(c.id);
      await this.router.navigateByUrl('/contacts');
    } catch (e) {
      this.error.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }
}
