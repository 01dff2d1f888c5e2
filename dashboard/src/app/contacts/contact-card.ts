import { ChangeDetectionStrategy, Component, computed, effect, inject, input, signal, untracked } from '@angular/core';
import { RouterLink } from '@angular/router';
import { toApiError } from '../core/api-error';
import { ContactsApi, type ContactDetail, type ContactTag } from './contacts.service';
import { displayName, identityLabel, tagChips } from './contact-view';

/**
 * The contact card beside a conversation (the inbox's side panel): the contact of `chatId` on `instanceId` with its
 * name, phones, coloured tags, company and WhatsApp identities, a favourite toggle and a link to edit it; for a chat
 * with no contact yet, "Add to contacts" with its phone filled in.
 *
 * Usage: `<wc-contact-card [instanceId]="conversation.instanceId" [chatId]="conversation.chatId" />`
 */
@Component({
  selector: 'wc-contact-card',
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './contact-card.html',
  styleUrl: './contacts.css',
})
export class ContactCard {
  private readonly contacts = inject(ContactsApi);

  readonly instanceId = input.required<string>();
  /** The WhatsApp chat id (`<digits>@c.us` or `…@lid`). */
  readonly chatId = input.required<string>();

  readonly contact = signal<ContactDetail | null>(null);
  readonly tags = signal<ContactTag[]>([]);
  readonly loaded = signal(false);
  readonly error = signal<string | null>(null);

  readonly name = computed(() => {
    const c = this.contact();
    return c ? displayName(c) : '';
  });
  readonly chips = computed(() => tagChips(this.contact()?.tags ?? [], this.tags()));
  /** The phone of a chat with no contact: the digits of a …@c.us id. */
  readonly chatPhone = computed(() => {
    const m = /^(\d+)@c\.us$/.exec(this.chatId());
    return m ? `+${m[1]}` : null;
  });
  protected readonly identityLabel = identityLabel;
  private generation = 0;

  constructor() {
    effect(() => {
      const instanceId = this.instanceId();
      const chatId = this.chatId();
      untracked(() => void this.load(instanceId, chatId));
    });
  }

  async load(instanceId: string, chatId: string): Promise<void> {
    const gen = ++this.generation;
    this.error.set(null);
    this.loaded.set(false);
    try {
      const [contact, tags] = await Promise.all([this.contacts.forChat(instanceId, chatId), this.contacts.tags()]);
      if (gen !== this.generation) return;
      this.contact.set(contact);
      this.tags.set(tags);
    } catch (e) {
      if (gen === this.generation) this.error.set(toApiError(e).message);
    } finally {
      if (gen === this.generation) this.loaded.set(true);
    }
  }

  async toggleFavourite(): Promise<void> {
    const c = this.contact();
    if (!c) return;
    this.contact.set({ ...c, favourite: !c.favourite });
    try {
      await this.contacts.setFavourite(c.id, !c.favourite);
    } catch (e) {
      this.contact.set(c);
      this.error.set(toApiError(e).message);
    }
  }

  favouriteLabel(): string {
    return this.contact()?.favourite
      ? $localize`:@@contactCard.unpin:Unpin from favourites`
      : $localize`:@@contactCard.pin:Pin as a favourite`;
  }
}
