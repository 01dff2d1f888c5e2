import { ChangeDetectionStrategy, Component, computed, DestroyRef, effect, inject, signal, untracked } from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { ApiClient } from '../core/api';
import { toApiError } from '../core/api-error';
import { CurrentUser } from '../core/current-user';
import type { Instance, User } from '../api/models';
import { prepareDisplayFormatters } from '../shared/format';
import { yieldToMain } from '../shared/yield';
import { TeamApi, type Member } from '../team/team-api';
import { ConversationDetails } from './conversation-details';
import { ConversationList } from './conversation-list';
import { ConversationView } from './conversation-view';
import { InboxApi } from './inbox-api';
import { InboxLive } from './inbox-live.service';
import type { Conversation, LiveFrame } from './inbox-models';
import {
  applyMessage,
  completeConversation,
  conversationOf,
  frameConversationId,
  isDropNotice,
  matches,
  upsertConversation,
  type ListFilter,
} from './inbox-state';

/**
 * The Inbox: the conversations of every instance the member may read — list (Mine / Unassigned / All, status,
 * instance, search) on the start side, the open conversation in the middle, its details (contact, assignment, status,
 * notes) on the end side. Live events from `/v1/live` update all three without a reload.
 */
@Component({
  selector: 'app-inbox',
  imports: [ConversationList, ConversationView, ConversationDetails],
  providers: [InboxLive],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './inbox.html',
  styleUrl: './inbox.css',
})
export class Inbox {
  private readonly api = inject(ApiClient);
  private readonly user = inject(CurrentUser);
  private readonly destroyRef = inject(DestroyRef);
  private readonly inbox = inject(InboxApi);
  private readonly team = inject(TeamApi);
  protected readonly live = inject(InboxLive);

  readonly me = signal<User | null>(null);
  readonly instances = signal<Instance[]>([]);
  readonly members = signal<Member[]>([]);
  readonly filter = signal<ListFilter>({ tab: 'all', status: 'open', instanceId: '', q: '' });
  readonly conversations = signal<Conversation[]>([]);
  readonly nextCursor = signal<string | null>(null);
  readonly loading = signal(false);
  readonly error = signal<string | null>(null);
  /** The open conversation (kept while open even when it leaves the list, e.g. assigned away or resolved). */
  readonly open = signal<Conversation | null>(null);

  readonly meId = computed(() => this.me()?.memberId ?? this.me()?.id ?? null);
  /** Member id → display name (their email), to name assignees of live events. */
  readonly names = computed(() => new Map(this.members().map((m) => [m.id, m.email])));
  readonly openInstance = computed(() => this.instances().find((i) => i.id === this.open()?.instanceId) ?? null);
  /** Loads are numbered so a slow answer for an old filter never overwrites a newer one. */
  private loadSeq = 0;
  /** Live frames that arrived while the newest load was in flight (null when none is). */
  private framesDuringLoad: LiveFrame[] | null = null;

  constructor() {
    this.live.frames.pipe(takeUntilDestroyed()).subscribe((f) => {
      this.framesDuringLoad?.push(f);
      this.onFrame(f);
    });
    // A socket opened without a resume point sees only what happens from then on: what happened between the list's
    // read and that moment (a new conversation) is in neither, so the list is read again once the socket is open.
    this.live.fresh.pipe(takeUntilDestroyed()).subscribe(() => void this.load());
    this.live.resync.pipe(takeUntilDestroyed()).subscribe(() => void this.reload());
    inject(DestroyRef).onDestroy(() => this.live.stop());
    // Removed from the team (4401): nothing of it stays on screen.
    effect(() => {
      if (this.live.state() !== 'ended') return;
      untracked(() => {
        this.conversations.set([]);
        this.nextCursor.set(null);
        this.open.set(null);
      });
    });
    // The page renders first (its heading and panes are the largest paint); its requests start in the next task,
    // and the formatters of the list are set up in tasks of their own while they load (issue 18, Lighthouse).
    const timer = setTimeout(() => void this.init(), 0);
    this.destroyRef.onDestroy(() => clearTimeout(timer));
    prepareDisplayFormatters();
  }

  /**
   * The page's first requests, side by side and each in a task of its own: the list (it needs nothing else), the
   * member (shared with the top bar), the instances and the team (names of assignees); the live socket opens once
   * those three are known, as its frames are merged with them.
   */
  private async init(): Promise<void> {
    const list = this.load();
    await yieldToMain();
    const me = this.user.get();
    await yieldToMain();
    const instances = this.api.instances();
    instances.catch(() => undefined); // handled below, once the next request is on its way
    await yieldToMain();
    const members = this.team.members().catch(() => []);
    try {
      const [m, i] = await Promise.all([me, instances]);
      this.me.set(m);
      this.instances.set(i);
      this.members.set(await members);
    } catch (e) {
      this.error.set(toApiError(e).message);
    }
    if (!this.destroyRef.destroyed) this.live.start();
    await list;
  }

  /** Fetches the list's first page again (filter change, resync). */
  async load(): Promise<void> {
    const seq = ++this.loadSeq;
    const during: LiveFrame[] = (this.framesDuringLoad = []);
    this.loading.set(true);
    try {
      const page = await this.inbox.list(this.filter());
      if (seq !== this.loadSeq) return;
      this.conversations.set(page.items);
      this.nextCursor.set(page.nextCursor);
      this.error.set(null);
      // The page may have been read before a frame that arrived meanwhile: the frames of conversations it lacks are
      // applied again (a new conversation is not lost); those it has are at least as new in the page.
      const listed = new Set(page.items.map((c) => c.id));
      for (const f of during) {
        const id = frameConversationId(f);
        if (id !== null && !listed.has(id)) this.onFrame(f);
      }
    } catch (e) {
      if (seq === this.loadSeq) this.error.set(toApiError(e).message);
    } finally {
      if (seq === this.loadSeq) {
        this.loading.set(false);
        this.framesDuringLoad = null;
      }
    }
  }

  async loadMore(): Promise<void> {
    const cursor = this.nextCursor();
    if (!cursor) return;
    const seq = this.loadSeq;
    try {
      const page = await this.inbox.list(this.filter(), cursor);
      if (seq !== this.loadSeq) return;
      const seen = new Set(this.conversations().map((c) => c.id));
      this.conversations.update((l) => [...l, ...page.items.filter((c) => !seen.has(c.id))]);
      this.nextCursor.set(page.nextCursor);
    } catch (e) {
      this.error.set(toApiError(e).message);
    }
  }

  /** After a resync: the list again, the open conversation and the instances (rights may have changed). */
  private async reload(): Promise<void> {
    this.instances.set(await this.api.instances().catch(() => this.instances()));
    await this.load();
    const o = this.open();
    if (o) this.open.set(await this.inbox.get(o.id).catch(() => null));
  }

  setFilter(patch: Partial<ListFilter>): void {
    this.filter.update((f) => ({ ...f, ...patch }));
    void this.load();
  }

  select(id: string): void {
    const c = this.conversations().find((x) => x.id === id) ?? null;
    this.open.set(c);
    if (c?.unread) {
      this.conversations.update((l) => l.map((x) => (x.id === id ? { ...x, unread: 0 } : x)));
      void this.inbox.markRead(id).catch(() => undefined);
    }
  }

  /** A change made in the details panel (assignment, status, visibility): the list and the open copy follow it. */
  changed(c: Conversation): void {
    this.conversations.update((l) => upsertConversation(l, c, this.filter(), this.meId(), this.open()?.id ?? null, this.names()));
    if (this.open()?.id === c.id) this.open.set({ ...c, unread: 0 });
  }

  private onFrame(f: LiveFrame): void {
    const openId = this.open()?.id ?? null;
    switch (f.type) {
      case 'conversation.created':
      case 'conversation.updated':
      case 'conversation.assigned': {
        if (isDropNotice(f.data)) return this.drop((f.data as { id: string }).id);
        const c = conversationOf(f.data);
        if (!c) return;
        const known = this.conversations().some((x) => x.id === c.id);
        // A conversation new to this list other than a new one (assigned to me, reopened): its view has my unread count.
        if (!known && f.type !== 'conversation.created' && matches(c, this.filter(), this.meId())) void this.fetchInto(c.id);
        else this.conversations.update((l) => upsertConversation(l, c, this.filter(), this.meId(), openId, this.names()));
        if (c.id === openId) this.open.update((o) => (o ? completeConversation(c, o, this.names(), openId) : o));
        return;
      }
      case 'message.new':
      case 'message.sent': {
        const { conversationId, message } = f.data;
        const r = applyMessage(this.conversations(), conversationId, message, openId);
        if (r.known) this.conversations.set(r.list);
        else void this.fetchInto(conversationId);
        if (conversationId === openId) {
          this.open.update((o) => (o ? { ...o, lastActivityAt: message.timestamp } : o));
          if (!message.fromMe) void this.inbox.markRead(conversationId).catch(() => undefined);
        }
        return;
      }
      default:
        return;
    }
  }

  /** The conversation left the member's audience: out of the list, and closed if open. */
  private drop(id: string): void {
    this.conversations.update((l) => l.filter((c) => c.id !== id));
    if (this.open()?.id === id) this.open.set(null);
  }

  /** A message for a conversation not in the list: fetch it, and list it if it belongs. */
  private async fetchInto(id: string): Promise<void> {
    const c = await this.inbox.get(id).catch(() => null);
    if (!c || !matches(c, this.filter(), this.meId())) return;
    this.conversations.update((l) => upsertConversation(l, c, this.filter(), this.meId(), this.open()?.id ?? null, this.names()));
  }
}
