/**
 * Pure helpers the contact pages and the contact card share: the name to show, favourites first, tag chips with a
 * readable text colour, the text lists of the edit form.
 */
import type { Contact, ContactTag, WhatsAppIdentity } from './contacts.service';

/** The name to show: the api's display name, else the own name, else a name WhatsApp knows, else the first phone. */
export function displayName(c: Pick<Contact, 'name' | 'phones' | 'identities'> & { displayName?: string }): string {
  if (c.displayName) return c.displayName;
  if (c.name) return c.name;
  for (const i of c.identities) if (i.name || i.pushname) return (i.name || i.pushname)!;
  return c.phones[0] ?? '';
}

/** Favourites first, each group in the order given (the api's: by name); a new array. */
export function favouritesFirst<T extends Pick<Contact, 'favourite'>>(items: readonly T[]): T[] {
  return [...items.filter((c) => c.favourite), ...items.filter((c) => !c.favourite)];
}

/** A tag chip: the tag's name, its colour and a text colour readable on it. */
export interface TagChip {
  id: string;
  name: string;
  color: string;
  text: '#000' | '#fff';
}

/** Black or white, whichever reads better on `hex` (#rgb or #rrggbb; relative luminance as WCAG defines it). */
export function textOn(hex: string): '#000' | '#fff' {
  let h = hex.replace('#', '');
  if (h.length === 3) h = [...h].map((ch) => ch + ch).join('');
  if (!/^[0-9a-f]{6}$/i.test(h)) return '#000';
  const lin = (i: number) => {
    const v = parseInt(h.slice(i, i + 2), 16) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * lin(0) + 0.7152 * lin(2) + 0.0722 * lin(4);
  // Contrast with white (1.05 / (l + 0.05)) against contrast with black ((l + 0.05) / 0.05).
  return 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? '#fff' : '#000';
}

/** The chips of a contact's tags, in the catalogue's order; ids missing from the catalogue are left out. */
export function tagChips(tagIds: readonly string[], catalogue: readonly ContactTag[]): TagChip[] {
  const wanted = new Set(tagIds);
  return catalogue.filter((t) => wanted.has(t.id)).map((t) => ({ id: t.id, name: t.name, color: t.color, text: textOn(t.color) }));
}

/** The lines of a textarea as a list: trimmed, empty lines and repeats dropped ("one per line" fields). */
export function linesOf(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[\n,;]+/)
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

/** The phone of a WhatsApp identity to show: its E.164, else the digits of a …@c.us id, else the id itself. */
export function identityLabel(i: Pick<WhatsAppIdentity, 'waId' | 'phone'>): string {
  if (i.phone) return i.phone;
  const m = /^(\d+)@c\.us$/.exec(i.waId);
  return m ? `+${m[1]}` : i.waId;
}

/** A new colour for a tag made by hand, picked from `palette` by the name (same name, same colour). */
export function colourFor(name: string, palette: readonly string[] = TAG_PALETTE): string {
  const sum = [...name].reduce((h, ch) => h + ch.charCodeAt(0), 0);
  return palette[sum % palette.length]!;
}

/** The colours offered for tags. */
export const TAG_PALETTE: readonly string[] = ['#1e88e5', '#43a047', '#fb8c00', '#8e24aa', '#e53935', '#00897b', '#6d4c41', '#546e7a'];
