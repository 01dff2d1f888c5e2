import { ChangeDetectionStrategy, Component, computed, inject, input, signal } from '@angular/core';
import { toApiError } from '../core/api-error';
import { valueOf } from '../shared/dom';
import { ContactsApi, type ContactTag } from './contacts.service';
import { colourFor, tagChips, TAG_PALETTE, textOn } from './contact-view';
import { tagNameProblem } from './tag-rules';

/**
 * The organisation's tag catalogue (on `/contacts/settings`): every tag as a coloured chip; a form to add one with a
 * name and a colour (a palette of suggestions, or any colour); "Delete" for owners and admins (the tag goes from every
 * contact too).
 */
@Component({
  selector: 'app-tag-catalogue',
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './tag-catalogue.html',
  styleUrl: './contacts.css',
})
export class TagCatalogue {
  private readonly contacts = inject(ContactsApi);

  /** Whether the member is an owner or admin (deleting needs it). */
  readonly admin = input(false);

  readonly tags = signal<ContactTag[] | null>(null);
  readonly name = signal('');
  /** The colour of the new tag; empty: picked from the name. */
  readonly color = signal('');
  readonly error = signal<string | null>(null);
  readonly notice = signal<string | null>(null);
  readonly busy = signal(false);

  readonly chips = computed(() => {
    const all = this.tags() ?? [];
    return tagChips(
      all.map((t) => t.id),
      all,
    );
  });
  /** The colour the new tag gets: the chosen one, else one from its name. */
  readonly effectiveColor = computed(() => this.color() || colourFor(this.name().trim()));
  /** Black or white text on the new tag's colour. */
  readonly previewText = computed(() => textOn(this.effectiveColor()));
  protected readonly palette = TAG_PALETTE;
  protected readonly valueOf = valueOf;

  constructor() {
    void this.load();
  }

  async load(): Promise<void> {
    try {
      this.tags.set(await this.contacts.tags());
    } catch (e) {
      this.error.set(toApiError(e).message);
    }
  }

  /** Adds the typed tag with the chosen colour; a name already in the catalogue (any case) is refused here. */
  async add(): Promise<void> {
    const name = this.name().trim();
    const problem = tagNameProblem(name, this.tags() ?? []);
    this.notice.set(null);
    if (problem) {
      this.error.set(
        problem === 'empty'
          ? $localize`:@@contacts.tagNameEmpty:Type a name for the tag.`
          : $localize`:@@contacts.tagNameTaken:A tag named “${name}:name:” exists already.`,
      );
      return;
    }
    this.busy.set(true);
    this.error.set(null);
    try {
      const tag = await this.contacts.createTag(name, this.effectiveColor());
      this.tags.update((list) => [...(list ?? []), tag].sort((a, b) => a.name.localeCompare(b.name)));
      this.name.set('');
      this.color.set('');
      this.notice.set($localize`:@@contacts.tagCreated:Tag “${tag.name}:name:” added.`);
    } catch (e) {
      this.error.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }

  /** Deletes a tag after a confirmation (it is removed from every contact). */
  async remove(t: Pick<ContactTag, 'id' | 'name'>): Promise<void> {
    if (!window.confirm($localize`:@@contacts.tagDeleteConfirm:Delete the tag “${t.name}:name:”? It is removed from every contact.`))
      return;
    this.busy.set(true);
    this.error.set(null);
    this.notice.set(null);
    try {
      await this.contacts.deleteTag(t.id);
      this.tags.update((list) => (list ?? []).filter((x) => x.id !== t.id));
      this.notice.set($localize`:@@contacts.tagDeleted:Tag “${t.name}:name:” deleted.`);
    } catch (e) {
      this.error.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }

  deleteLabel(t: Pick<ContactTag, 'name'>): string {
    return $localize`:@@contacts.tagDelete:Delete the tag ${t.name}:name:`;
  }

  swatchLabel(c: string): string {
    return $localize`:@@contacts.tagColourOption:Colour ${c}:colour:`;
  }
}
