import {
  ChangeDetectionStrategy,
  Component,
  computed,
  effect,
  ElementRef,
  inject,
  input,
  output,
  signal,
  untracked,
  viewChild,
} from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { toApiError } from '../core/api-error';
import type { Instance } from '../api/models';
import { formatDate } from '../shared/format';
import { InboxApi } from './inbox-api';
import { ackLabel, ackMark, statusLabel } from './inbox-labels';
import { conversationTitle } from './conversation-list';
import { InboxLive } from './inbox-live.service';
import type { Conversation, InboxMessage } from './inbox-models';
import { applyAck, isQueued, prependPage, queuedMessage, upsertMessage } from './inbox-state';

/**
 * The open conversation: its messages as bubbles (inbound on the start side, outbound on the end side with the
 * sending agent's name and the delivery ack; a reply shows the message it quotes) and the reply box (Enter sends,
 * Shift+Enter makes a new line). New messages and acks arrive from the live socket.
 */
@Component({
  selector: 'app-conversation-view',
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './conversation-view.html',
  styleUrl: './conversation-view.css',
})
export class ConversationView {
  private readonly inbox = inject(InboxApi);
  private readonly live = inject(InboxLive);

  readonly conversation = input.required<Conversation>();
  readonly instance = input<Instance | null>(null);
  readonly closed = output<void>();

  readonly messages = signal<InboxMessage[]>([]);
  readonly cursor = signal<string | null>(null);
  readonly loading = signal(false);
  readonly error = signal<string | null>(null);
  readonly draft = signal('');
  readonly replyTo = signal<InboxMessage | null>(null);
  readonly sending = signal(false);
  readonly sendError = signal<string | null>(null);

  /** Agents need canWrite on the instance to send; owners and admins have every right. */
  /** The heading: the contact's name in the book, else WhatsApp's name, else the number (as the list shows it). */
  readonly title = computed(() => conversationTitle(this.conversation()));
  readonly canWrite = computed(() => this.instance()?.rights?.canWrite ?? true);
  readonly byId = computed(() => new Map(this.messages().map((m) => [m.id, m])));
  protected readonly date = formatDate;
  protected readonly ackLabel = ackLabel;
  protected readonly ackMark = ackMark;
  protected readonly statusLabel = statusLabel;
  protected readonly isQueued = isQueued;
  private readonly scroller = viewChild<ElementRef<HTMLElement>>('scroller');
  private readonly box = viewChild<ElementRef<HTMLTextAreaElement>>('box');
  private loadedId: string | null = null;

  constructor() {
    effect(() => {
      const id = this.conversation().id;
      if (id !== this.loadedId) untracked(() => void this.load(id));
    });
    this.live.frames.pipe(takeUntilDestroyed()).subscribe((f) => {
      if (f.type !== 'message.new' && f.type !== 'message.sent' && f.type !== 'message.ack') return;
      if (f.data.conversationId !== this.loadedId) return;
      if (f.type === 'message.ack') this.messages.update((l) => applyAck(l, f.data.message.id, f.data.message.ack));
      else {
        this.messages.update((l) => upsertMessage(l, f.data.message));
        this.scrollToEnd();
      }
    });
  }

  private async load(id: string): Promise<void> {
    this.loadedId = id;
    this.messages.set([]);
    this.cursor.set(null);
    this.replyTo.set(null);
    this.error.set(null);
    this.loading.set(true);
    try {
      const page = await this.inbox.messages(id);
      if (this.loadedId !== id) return;
      // Live messages that arrived while loading are kept (merged by id).
      this.messages.update((live) => prependPage(live, page.items));
      this.cursor.set(page.nextCursor);
      this.scrollToEnd();
    } catch (e) {
      if (this.loadedId === id) this.error.set(toApiError(e).message);
    } finally {
      if (this.loadedId === id) this.loading.set(false);
    }
  }

  async older(): Promise<void> {
    const id = this.loadedId;
    const cursor = this.cursor();
    if (!id || !cursor) return;
    try {
      const page = await this.inbox.messages(id, cursor);
      if (this.loadedId !== id) return;
      this.messages.update((l) => prependPage(l, page.items));
      this.cursor.set(page.nextCursor);
    } catch (e) {
      this.error.set(toApiError(e).message);
    }
  }

  /** Enter sends; Shift+Enter (or an IME composition) keeps typing. */
  keydown(e: KeyboardEvent): void {
    if (e.key !== 'Enter' || e.shiftKey || e.isComposing) return;
    e.preventDefault();
    void this.send();
  }

  async send(): Promise<void> {
    const text = this.draft().trim();
    const id = this.loadedId;
    if (!text || !id || this.sending()) return;
    this.sending.set(true);
    this.sendError.set(null);
    try {
      const q = await this.inbox.send(id, text, this.replyTo()?.id);
      this.draft.set('');
      this.replyTo.set(null);
      if (this.loadedId === id && q?.id) this.messages.update((l) => upsertMessage(l, queuedMessage(q)));
      this.scrollToEnd();
    } catch (e) {
      this.sendError.set(toApiError(e).message);
    } finally {
      this.sending.set(false);
      this.box()?.nativeElement.focus();
    }
  }

  reply(m: InboxMessage): void {
    this.replyTo.set(m);
    this.box()?.nativeElement.focus();
  }

  /** "sent by ana@example.com" under an outbound bubble: the member, else the token, else the phone itself. */
  sender(m: InboxMessage): string | null {
    if (!m.fromMe) return null;
    const by = m.sentBy;
    if (!by || by.kind === 'phone')
      return $localize`:Under an outgoing message sent from the phone@@inbox.sentFromPhone:sent from the phone`;
    const name = by.member?.name;
    if (name) return $localize`:Under an outgoing message, the agent who sent it@@inbox.sentBy:sent by ${name}:agent:`;
    return $localize`:Under an outgoing message sent through an API token@@inbox.sentByToken:sent through the API (${by.tokenName}:token:)`;
  }

  private scrollToEnd(): void {
    setTimeout(() => {
      const el = this.scroller()?.nativeElement;
      if (el) el.scrollTop = el.scrollHeight;
    });
  }
}
