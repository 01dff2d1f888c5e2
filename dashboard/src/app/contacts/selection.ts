/**
 * Pure helpers of the contact list's selection (bulk tagging and merging): the page's select-all box, and a bulk
 * tagging applied to the list as the api applies it (contacts the caller cannot edit are skipped).
 */
import type { Contact } from './contacts.service';

/** How much of the page is selected: the select-all box is ticked (`all`), half-ticked (`some`) or empty (`none`). */
export type PageSelection = 'none' | 'some' | 'all';

/** The state of the select-all box of a page of `pageIds`, given the selected ids (which may include other pages'). */
export function pageSelection(selected: readonly string[], pageIds: readonly string[]): PageSelection {
  if (!pageIds.length) return 'none';
  const chosen = new Set(selected);
  const n = pageIds.filter((id) => chosen.has(id)).length;
  return n === 0 ? 'none' : n === pageIds.length ? 'all' : 'some';
}

/**
 * The selection after a click on the select-all box: when the whole page is selected, the page is unselected;
 * otherwise the page's missing contacts are added (in the page's order, after those selected before).
 */
export function toggleAll(selected: readonly string[], pageIds: readonly string[]): string[] {
  if (pageSelection(selected, pageIds) === 'all') {
    const page = new Set(pageIds);
    return selected.filter((id) => !page.has(id));
  }
  const chosen = new Set(selected);
  return [...selected, ...pageIds.filter((id) => !chosen.has(id))];
}

/** Ticks or unticks one contact; the order of the others is kept. */
export function toggleOne(selected: readonly string[], id: string): string[] {
  return selected.includes(id) ? selected.filter((x) => x !== id) : [...selected, id];
}

/**
 * `items` after adding tags `add` to and removing tags `remove` from the contacts of `ids` the caller may edit (as
 * `POST /v1/contacts/bulk-tag` does); the others are returned unchanged (same objects). Tags stay unique.
 */
export function applyBulkTag<T extends Pick<Contact, 'id' | 'tags' | 'canEdit'>>(
  items: readonly T[],
  ids: readonly string[],
  add: readonly string[],
  remove: readonly string[],
): T[] {
  const chosen = new Set(ids);
  return items.map((c) => {
    if (!chosen.has(c.id) || !c.canEdit) return c;
    const tags = [...new Set([...c.tags, ...add])].filter((t) => !remove.includes(t));
    return { ...c, tags };
  });
}
