/**
 * The api's conversation routes (docs/team.md §3) and the live socket's ticket (§2) for the Inbox. Every call resolves
 * to the typed body or rejects with an ApiError (`right_required` 403, `assignee_without_access` 422, …).
 */
import { HttpClient } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import { apiCall } from '../core/api-error';
import { RUNTIME_CONFIG } from '../core/config';
import type { WsTicket } from '../api/models';
import type { Conversation, ConversationPage, ConversationStatus, MessagePage, Note, QueuedSend, Visibility } from './inbox-models';
import type { ListFilter } from './inbox-state';

/** The `assignee` query parameter of each tab. */
const ASSIGNEE = { mine: 'me', unassigned: 'unassigned', all: 'any' } as const;

@Injectable({ providedIn: 'root' })
export class InboxApi {
  private readonly http = inject(HttpClient);
  private readonly base = inject(RUNTIME_CONFIG).apiBaseUrl;

  private readonly call = apiCall;

  private url(id: string, tail = ''): string {
    return `${this.base}/v1/conversations/${encodeURIComponent(id)}${tail}`;
  }

  /** One page of the conversations `f` lists, newest activity first. */
  list(f: ListFilter, cursor?: string | null, limit = 50): Promise<ConversationPage> {
    const params: Record<string, string> = { assignee: ASSIGNEE[f.tab], limit: String(limit) };
    if (f.status !== 'any') params['status'] = f.status;
    if (f.instanceId) params['instanceId'] = f.instanceId;
    if (f.q.trim()) params['q'] = f.q.trim();
    if (cursor) params['cursor'] = cursor;
    return this.call(this.http.get<ConversationPage>(`${this.base}/v1/conversations`, { params }));
  }
  get(id: string): Promise<Conversation> {
    return this.call(this.http.get<Conversation>(this.url(id)));
  }
  /** One page of the conversation's messages, newest first (read from the instance through the gateway). */
  messages(id: string, cursor?: string | null, limit = 50): Promise<MessagePage> {
    const params: Record<string, string> = { limit: String(limit) };
    if (cursor) params['cursor'] = cursor;
    return this.call(this.http.get<MessagePage>(this.url(id, '/messages'), { params }));
  }
  /** Sends `text` to the chat as the signed-in member (canWrite): the queued send. */
  send(id: string, text: string, replyTo?: string): Promise<QueuedSend> {
    return this.call(this.http.post<QueuedSend>(this.url(id, '/messages'), replyTo ? { text, replyTo } : { text }));
  }
  /** Assigns to a member, or unassigns with null (canManageChats). */
  assign(id: string, assigneeId: string | null): Promise<Conversation> {
    return this.call(this.http.post<Conversation>(this.url(id, '/assign'), { assigneeId }));
  }
  setStatus(id: string, status: ConversationStatus, snoozedUntil?: string): Promise<Conversation> {
    return this.call(this.http.post<Conversation>(this.url(id, '/status'), snoozedUntil ? { status, snoozedUntil } : { status }));
  }
  setVisibility(id: string, visibility: Visibility): Promise<Conversation> {
    return this.call(this.http.patch<Conversation>(this.url(id), { visibility }));
  }
  notes(id: string): Promise<Note[]> {
    return this.call(this.http.get<{ items: Note[] }>(this.url(id, '/notes'))).then((r) => r.items);
  }
  addNote(id: string, body: string): Promise<Note> {
    return this.call(this.http.post<Note>(this.url(id, '/notes'), { body }));
  }
  /** Marks the conversation read for the caller. */
  markRead(id: string): Promise<void> {
    return this.call(this.http.post<void>(this.url(id, '/read'), null));
  }
  /** A short-lived single-use ticket for the live socket (no access token in the WebSocket URL). */
  liveTicket(): Promise<WsTicket> {
    return this.call(this.http.post<WsTicket>(`${this.base}/v1/live/ticket`, null));
  }
}
