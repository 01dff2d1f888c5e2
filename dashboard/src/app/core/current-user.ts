import { inject, Injectable } from '@angular/core';
import type { User } from '../api/models';
import { ApiClient } from './api';
import { SessionStore } from './session';

/**
 * How long an answer of `GET /v1/me` is shared, in ms: the top bar and the page that opens with it ask for the
 * profile within the same load (the page a few hundred ms after the top bar), and get one request between them.
 */
export const SHARE_MS = 2000;

interface Entry {
  /** The session the request was made for. */
  token: string | null;
  answer: Promise<User>;
  /** When the answer arrived (epoch ms); null while in flight. */
  settledAt: number | null;
}

/**
 * The signed-in member's profile (`GET /v1/me`: email, balance, role, member id) for the top bar and the pages: one
 * request serves the callers of {@link get} within {@link SHARE_MS} of its answer (or while it is in flight), so a
 * cold load of the instances page or the inbox asks once instead of twice (issue 18, Lighthouse). Every answer
 * refreshes the role remembered with the session (the top bar's Overview link).
 */
@Injectable({ providedIn: 'root' })
export class CurrentUser {
  private readonly api = inject(ApiClient);
  private readonly session = inject(SessionStore);
  private last: Entry | null = null;

  /**
   * The profile: the request in flight or the answer that arrived at most `maxAgeMs` ago for the same session,
   * else a new request. Rejects with the request's ApiError (a failed answer is not shared).
   */
  get(maxAgeMs = SHARE_MS, now = Date.now()): Promise<User> {
    const l = this.last;
    if (l && l.token === this.session.token() && (l.settledAt === null || now - l.settledAt <= maxAgeMs)) return l.answer;
    return this.refresh();
  }

  /**
   * Forgets the shared answer without asking (after a change the profile shows that the caller already knows the
   * outcome of, e.g. the balance after a deposit): the next {@link get} asks again.
   */
  invalidate(): void {
    this.last = null;
  }

  /** A new request, whatever was shared (after a change the profile shows, e.g. the balance after a charge). */
  refresh(): Promise<User> {
    const token = this.session.token();
    const entry: Entry = { token, answer: this.api.me(), settledAt: null };
    this.last = entry;
    entry.answer.then(
      (user) => {
        entry.settledAt = Date.now();
        if (this.session.token() === token) this.session.rememberRole(user.role);
      },
      () => {
        if (this.last === entry) this.last = null;
      },
    );
    return entry.answer;
  }
}
