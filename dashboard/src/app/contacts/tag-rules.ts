/** Rules of the tag catalogue's form, as the api checks them (`/v1/contact-tags`: names unique per organisation, any case). */
import type { ContactTag } from './contacts.service';

/** Why a new tag name is refused: empty (blank), or the name of a tag of the catalogue (case-insensitive); null: fine. */
export function tagNameProblem(name: string, catalogue: readonly Pick<ContactTag, 'name'>[]): 'empty' | 'taken' | null {
  const n = name.trim().toLowerCase();
  if (!n) return 'empty';
  return catalogue.some((t) => t.name.trim().toLowerCase() === n) ? 'taken' : null;
}
