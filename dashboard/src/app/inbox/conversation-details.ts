import { ChangeDetectionStrategy, Component, computed, effect, inject, input, output, signal, untracked } from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { ContactCard } from '../contacts/contact-card';
import { toApiError } from '../core/api-error';
import type { Instance } from '../api/models';
import { checkedOf, valueOf } from '../shared/dom';
import { formatDate } from '../shared/format';
import type { Member } from '../team/team-api';
import { InboxApi } from './inbox-api';
import { statusLabel } from './inbox-labels';
import { InboxLive } from './inbox-live.service';
import type { Conversation, ConversationStatus, Note } from './inbox-models';
import { eligibleAssignees } from './inbox-state';

/**
 * The side panel of the open conversation: the contact (with the contact book's `<wc-contact-card>` for a person), the
 * assignment, status and visibility (offered with canManageChats only, as the api allows them), and the internal notes
 * (anyone who can read the conversation; new notes arrive live).
 */
@Component({
  selector: 'app-conversation-details',
  imports: [ContactCard],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './conversation-details.html',
  styleUrl: './conversation-details.css',
})
export class ConversationDetails {
  private readonly inbox = inject(InboxApi);
  private readonly live = inject(InboxLive);

  readonly conversation = input.required<Conversation>();
  readonly instance = input<Instance | null>(null);
  readonly members = input<Member[]>([]);
  readonly meId = input<string | null>(null);
  readonly changed = output<Conversation>();

  readonly notes = signal<Note[]>([]);
  readonly noteDraft = signal('');
  readonly busy = signal(false);
  readonly error = signal<string | null>(null);

  /** Owners and admins have every right (the api reports them as such on the instance). */
  readonly canManage = computed(() => this.instance()?.rights?.canManageChats ?? false);
  readonly mine = computed(() => {
    const c = this.conversation();
    return !!this.meId() && (c.assignee?.id ?? c.assigneeId) === this.meId();
  });
  /** Status changes need canManageChats (docs/team.md §3), like the assignment. */
  readonly canSetStatus = computed(() => this.canManage());
  readonly assignees = computed(() => eligibleAssignees(this.members(), this.conversation().instanceId));
  protected readonly statusLabel = statusLabel;
  protected readonly date = formatDate;
  protected readonly valueOf = valueOf;
  private loadedId: string | null = null;

  constructor() {
    effect(() => {
      const id = this.conversation().id;
      if (id !== this.loadedId) untracked(() => void this.loadNotes(id));
    });
    this.live.frames.pipe(takeUntilDestroyed()).subscribe((f) => {
      if (f.type !== 'conversation.note' || f.data.conversationId !== this.loadedId) return;
      const note = f.data;
      this.notes.update((l) => (l.some((n) => n.id === note.id) ? l : [...l, note]));
    });
  }

  private async loadNotes(id: string): Promise<void> {
    this.loadedId = id;
    this.notes.set([]);
    this.error.set(null);
    try {
      const notes = await this.inbox.notes(id);
      if (this.loadedId !== id) return;
      this.notes.update((live) => [...notes, ...live.filter((n) => !notes.some((x) => x.id === n.id))]);
    } catch (e) {
      if (this.loadedId === id) this.error.set(toApiError(e).message);
    }
  }

  private async run(fn: () => Promise<Conversation>): Promise<void> {
    this.busy.set(true);
    this.error.set(null);
    try {
      this.changed.emit(await fn());
    } catch (e) {
      this.error.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }

  assign(e: Event): Promise<void> {
    const v = valueOf(e);
    return this.run(() => this.inbox.assign(this.conversation().id, v || null));
  }

  assignToMe(): Promise<void> {
    return this.run(() => this.inbox.assign(this.conversation().id, this.meId()));
  }

  setStatus(status: ConversationStatus): Promise<void> {
    const until = status === 'snoozed' ? new Date(Date.now() + 24 * 3600_000).toISOString() : undefined;
    return this.run(() => this.inbox.setStatus(this.conversation().id, status, until));
  }

  setPrivate(e: Event): Promise<void> {
    const visibility = checkedOf(e) ? 'private' : 'public';
    return this.run(() => this.inbox.setVisibility(this.conversation().id, visibility));
  }

  async addNote(): Promise<void> {
    const body = this.noteDraft().trim();
    const id = this.loadedId;
    if (!body || !id) return;
    this.busy.set(true);
    this.error.set(null);
    try {
      const note = await this.inbox.addNote(id, body);
      this.noteDraft.set('');
      if (this.loadedId === id) this.notes.update((l) => (l.some((n) => n.id === note.id) ? l : [...l, note]));
    } catch (e) {
      this.error.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }

  /** Ctrl/Cmd+Enter adds the note (Enter alone makes a new line in a note). */
  noteKey(e: KeyboardEvent): void {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void this.addNote();
    }
  }
}
