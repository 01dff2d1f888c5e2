import { ChangeDetectionStrategy, Component, computed, ElementRef, inject, input, output } from '@angular/core';
import type { Instance } from '../api/models';
import { textOn, type TagChip } from '../contacts/contact-view';
import { valueOf } from '../shared/dom';
import { formatRelative } from '../shared/format';
import type { Conversation, InboxTab, StatusFilter } from './inbox-models';
import { moveSelection, type ListFilter } from './inbox-state';
import { statusLabel } from './inbox-labels';

/**
 * The name a conversation is listed under: its contact's name in the book, else the name WhatsApp gives the chat (the
 * push name), else the number of a `…@c.us` chat (+digits), else the chat id.
 */
export function conversationTitle(c: Pick<Conversation, 'name' | 'chatId'> & { contact?: Conversation['contact'] | undefined }): string {
  if (c.contact?.displayName) return c.contact.displayName;
  if (c.name) return c.name;
  const m = /^(\d+)@c\.us$/.exec(c.chatId);
  return m ? `+${m[1]}` : c.chatId;
}

/** The tag chips of a conversation's contact (none without a contact), with a text colour readable on each. */
export function contactChips(c: { contact?: Conversation['contact'] | undefined }): TagChip[] {
  return (c.contact?.tags ?? []).map((t) => ({ id: t.id, name: t.name, color: t.color, text: textOn(t.color) }));
}

/**
 * The conversation list: Mine / Unassigned / All tabs, status and instance filters, search, and the conversations
 * (under their contact's name from the book, with its tags as coloured chips) as buttons (Arrow Up / Down move between them, Enter or a click opens one). Stateless: the page owns the data.
 */
@Component({
  selector: 'app-conversation-list',
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './conversation-list.html',
  styleUrl: './conversation-list.css',
})
export class ConversationList {
  private readonly host = inject<ElementRef<HTMLElement>>(ElementRef);

  readonly items = input.required<Conversation[]>();
  readonly filter = input.required<ListFilter>();
  readonly instances = input<Instance[]>([]);
  readonly selectedId = input<string | null>(null);
  readonly loading = input(false);
  readonly hasMore = input(false);

  readonly filterChange = output<Partial<ListFilter>>();
  readonly selectedChange = output<string>();
  readonly more = output<void>();

  protected readonly tabs: InboxTab[] = ['mine', 'unassigned', 'all'];
  protected readonly statuses: StatusFilter[] = ['open', 'pending', 'snoozed', 'resolved', 'any'];
  protected readonly statusLabel = statusLabel;
  protected readonly ago = formatRelative;
  protected readonly valueOf = valueOf;
  protected readonly title = conversationTitle;
  protected readonly chips = contactChips;
  protected readonly instanceNames = computed(() => new Map(this.instances().map((i) => [i.id, i.name])));
  private searchTimer: ReturnType<typeof setTimeout> | undefined;

  tabLabel(t: InboxTab): string {
    switch (t) {
      case 'mine':
        return $localize`:Inbox tab, conversations assigned to me@@inbox.tab.mine:Mine`;
      case 'unassigned':
        return $localize`:Inbox tab@@inbox.tab.unassigned:Unassigned`;
      default:
        return $localize`:Inbox tab@@inbox.tab.all:All`;
    }
  }

  /** Arrow keys move between the tabs (the tab list's usual keyboard pattern). */
  tabKey(e: KeyboardEvent, t: InboxTab): void {
    const delta = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (!delta) return;
    e.preventDefault();
    const rtl = getComputedStyle(this.host.nativeElement).direction === 'rtl' ? -1 : 1;
    const next = moveSelection(this.tabs, t, delta * rtl)!;
    this.filterChange.emit({ tab: next });
    this.focus(`[data-tab="${next}"]`);
  }

  search(e: Event): void {
    clearTimeout(this.searchTimer);
    const q = valueOf(e);
    this.searchTimer = setTimeout(() => this.filterChange.emit({ q }), 250);
  }

  /** Arrow Up / Down open the previous / next conversation and move the focus to it. */
  listKey(e: KeyboardEvent): void {
    const delta = e.key === 'ArrowDown' ? 1 : e.key === 'ArrowUp' ? -1 : 0;
    if (!delta) return;
    e.preventDefault();
    const ids = this.items().map((c) => c.id);
    const current = (document.activeElement as HTMLElement | null)?.dataset['conversationId'] ?? this.selectedId();
    const next = moveSelection(ids, current, delta);
    if (!next) return;
    this.selectedChange.emit(next);
    this.focus(`[data-conversation-id="${next}"]`);
  }

  private focus(selector: string): void {
    queueMicrotask(() => this.host.nativeElement.querySelector<HTMLElement>(selector)?.focus());
  }
}
