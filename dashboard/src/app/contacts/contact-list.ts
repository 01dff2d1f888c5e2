import { ChangeDetectionStrategy, Component, computed, ElementRef, inject, signal, viewChild } from '@angular/core';
import { RouterLink } from '@angular/router';
import { toApiError } from '../core/api-error';
import { valueOf } from '../shared/dom';
import { ContactsApi, type Contact, type ContactTag } from './contacts.service';
import { displayName, favouritesFirst, tagChips } from './contact-view';
import { applyBulkTag, pageSelection, toggleAll, toggleOne } from './selection';

/** How long the search waits after the last key stroke before asking the api, in ms. */
const SEARCH_DELAY_MS = 250;

/**
 * The Contacts page: search by name / phone and by tag, favourites first, pin / unpin, '+' to add, edit, select
 * contacts (one by one or the whole page) to add or remove a tag on all of them or to merge them into one, import (the
 * wizard), export as CSV, and a link to the tag catalogue and the settings.
 */
@Component({
  selector: 'app-contact-list',
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './contact-list.html',
  styleUrl: './contacts.css',
})
export class ContactList {
  private readonly contacts = inject(ContactsApi);
  private readonly mergeHeading = viewChild<ElementRef<HTMLElement>>('mergeTitle');

  readonly q = signal('');
  readonly tag = signal('');
  readonly items = signal<Contact[] | null>(null);
  readonly nextCursor = signal<string | null>(null);
  readonly tags = signal<ContactTag[]>([]);
  readonly error = signal<string | null>(null);
  readonly busy = signal(false);
  /** Contacts ticked (for a bulk tagging or a merge), in the order ticked. */
  readonly selected = signal<string[]>([]);
  /** The contact the merge keeps (the others go into it). */
  readonly keep = signal<string | null>(null);
  /** Whether the merge panel is open (the "Merge…" button of the selection bar). */
  readonly mergeOpen = signal(false);
  /** The tag the selection bar adds or removes. */
  readonly bulkTagId = signal('');
  readonly notice = signal<string | null>(null);

  readonly shown = computed(() => favouritesFirst(this.items() ?? []));
  /** The state of the select-all box of the page shown. */
  readonly pageState = computed(() =>
    pageSelection(
      this.selected(),
      this.shown().map((c) => c.id),
    ),
  );
  readonly selectedContacts = computed(() => {
    const byId = new Map((this.items() ?? []).map((c) => [c.id, c]));
    return this.selected().flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
  });
  protected readonly valueOf = valueOf;
  protected readonly name = displayName;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Answers to an older search are dropped. */
  private generation = 0;

  constructor() {
    void this.loadTags();
    void this.load();
  }

  chips(c: Contact) {
    return tagChips(c.tags, this.tags());
  }

  async loadTags(): Promise<void> {
    try {
      this.tags.set(await this.contacts.tags());
    } catch (e) {
      this.error.set(toApiError(e).message);
    }
  }

  /** Loads the first page for the current search (`more`: the next page, appended). */
  async load(more = false): Promise<void> {
    const gen = ++this.generation;
    this.error.set(null);
    try {
      const page = await this.contacts.list({
        q: this.q().trim() || undefined,
        tag: this.tag() || undefined,
        cursor: more ? (this.nextCursor() ?? undefined) : undefined,
      });
      if (gen !== this.generation) return;
      if (!more) this.clearSelection();
      this.items.set(more ? [...(this.items() ?? []), ...page.items] : page.items);
      this.nextCursor.set(page.nextCursor);
    } catch (e) {
      if (gen === this.generation) this.error.set(toApiError(e).message);
    }
  }

  /** Typing in the search box: searches once the typing pauses. */
  search(e: Event): void {
    this.q.set(valueOf(e));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.load(), SEARCH_DELAY_MS);
  }

  filterTag(e: Event): void {
    this.tag.set(valueOf(e));
    void this.load();
  }

  async toggleFavourite(c: Contact): Promise<void> {
    const next = !c.favourite;
    this.items.update((list) => list?.map((x) => (x.id === c.id ? { ...x, favourite: next } : x)) ?? null);
    try {
      await this.contacts.setFavourite(c.id, next);
    } catch (e) {
      this.error.set(toApiError(e).message);
      this.items.update((list) => list?.map((x) => (x.id === c.id ? { ...x, favourite: !next } : x)) ?? null);
    }
  }

  isSelected(c: Contact): boolean {
    return this.selected().includes(c.id);
  }

  toggleSelected(c: Contact): void {
    this.select(toggleOne(this.selected(), c.id));
  }

  /** The select-all box: selects the whole page shown, or unselects it when it is all selected. */
  toggleAllOnPage(): void {
    this.select(
      toggleAll(
        this.selected(),
        this.shown().map((c) => c.id),
      ),
    );
  }

  private select(next: string[]): void {
    this.selected.set(next);
    if (!next.includes(this.keep() ?? '')) this.keep.set(next[0] ?? null);
    if (next.length < 2) this.mergeOpen.set(false);
  }

  clearSelection(): void {
    this.selected.set([]);
    this.keep.set(null);
    this.mergeOpen.set(false);
  }

  /** Opens the merge panel and moves the focus to its heading (keyboard and screen reader users land in it). */
  openMerge(): void {
    this.mergeOpen.set(true);
    setTimeout(() => this.mergeHeading()?.nativeElement.focus());
  }

  cancelMerge(): void {
    this.mergeOpen.set(false);
  }

  /**
   * Adds (`add`) or removes the tag of the selection bar on every selected contact; the list shows the change at once
   * (contacts the caller may not edit are skipped, as the api skips them). The selection stays.
   */
  async bulkTag(add: boolean): Promise<void> {
    const tagId = this.bulkTagId();
    const ids = this.selected();
    const tag = this.tags().find((t) => t.id === tagId);
    if (!tag || !ids.length) return;
    this.busy.set(true);
    this.error.set(null);
    this.notice.set(null);
    try {
      const r = add ? await this.contacts.bulkTag(ids, [tagId], []) : await this.contacts.bulkTag(ids, [], [tagId]);
      this.items.update((list) => (list ? applyBulkTag(list, ids, add ? [tagId] : [], add ? [] : [tagId]) : list));
      const done = add
        ? $localize`:@@contacts.bulkAdded:Tag “${tag.name}:tag:” added. Contacts changed: ${r.updated}:count:.`
        : $localize`:@@contacts.bulkRemoved:Tag “${tag.name}:tag:” removed. Contacts changed: ${r.updated}:count:.`;
      const skipped = r.skipped ? ' ' + $localize`:@@contacts.bulkSkipped:Skipped (no right to edit): ${r.skipped}:count:.` : '';
      this.notice.set(done + skipped);
    } catch (e) {
      this.error.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }

  /** Merges the ticked contacts into the one chosen to keep. */
  async merge(): Promise<void> {
    const keep = this.keep();
    const others = this.selected().filter((id) => id !== keep);
    if (!keep || !others.length) return;
    this.busy.set(true);
    this.error.set(null);
    try {
      const merged = await this.contacts.merge(keep, others);
      this.clearSelection();
      this.notice.set($localize`:@@contacts.merged:Merged into ${displayName(merged)}:name:.`);
      await this.load();
    } catch (e) {
      this.error.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }

  /** Downloads every contact as a CSV file. */
  async exportCsv(): Promise<void> {
    this.busy.set(true);
    this.error.set(null);
    try {
      const blob = await this.contacts.export();
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `contacts-${new Date().toISOString().slice(0, 10)}.csv`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (e) {
      this.error.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }

  favouriteLabel(c: Contact): string {
    return c.favourite
      ? $localize`:@@contacts.unpin:Unpin ${displayName(c)}:name: from favourites`
      : $localize`:@@contacts.pin:Pin ${displayName(c)}:name: as a favourite`;
  }

  selectLabel(c: Contact): string {
    return $localize`:@@contacts.select:Select ${displayName(c)}:name:`;
  }
}
