import { computed, Injectable, signal } from '@angular/core';
import type { LoginResponse } from '../api/models';

export const SESSION_KEY = 'wacloud.session';

export interface StoredSession {
  accessToken: string;
  /** Epoch ms after which the token is refused. */
  expiresAt: number;
  email: string;
  /** The member's role in the team when last seen (login, `GET /v1/me`): the top bar shows its links from it at once. */
  role?: string;
}

/** The signed-in session (the access token), kept across reloads in localStorage. */
@Injectable({ providedIn: 'root' })
export class SessionStore {
  private readonly storage: Storage | null = typeof localStorage === 'undefined' ? null : localStorage;
  private readonly state = signal<StoredSession | null>(this.read());

  readonly session = this.state.asReadonly();
  readonly token = computed(() => this.state()?.accessToken ?? null);
  readonly email = computed(() => this.state()?.email ?? null);
  readonly isLoggedIn = computed(() => this.state() !== null);

  /** Stores a fresh login. */
  start(login: LoginResponse, now = Date.now()): void {
    const s: StoredSession = { accessToken: login.accessToken, expiresAt: now + login.expiresIn * 1000, email: login.user.email };
    if (login.user.role) s.role = login.user.role;
    this.storage?.setItem(SESSION_KEY, JSON.stringify(s));
    this.state.set(s);
  }

  /** Remembers the member's role as the api last gave it (a no-op without a session or when unchanged). */
  rememberRole(role: string | undefined): void {
    const s = this.state();
    if (!s || !role || s.role === role) return;
    const next = { ...s, role };
    this.storage?.setItem(SESSION_KEY, JSON.stringify(next));
    this.state.set(next);
  }

  /** Forgets the session (logout, 401). */
  clear(): void {
    this.storage?.removeItem(SESSION_KEY);
    this.state.set(null);
  }

  /** The token if it is still valid; an expired one is forgotten. */
  validToken(now = Date.now()): string | null {
    const s = this.state();
    if (!s) return null;
    if (s.expiresAt <= now) {
      this.clear();
      return null;
    }
    return s.accessToken;
  }

  private read(): StoredSession | null {
    try {
      const raw = this.storage?.getItem(SESSION_KEY);
      if (!raw) return null;
      const s = JSON.parse(raw) as Partial<StoredSession>;
      if (typeof s.accessToken !== 'string' || typeof s.expiresAt !== 'number' || typeof s.email !== 'string') return null;
      if (s.expiresAt <= Date.now()) {
        this.storage?.removeItem(SESSION_KEY);
        return null;
      }
      return s as StoredSession;
    } catch {
      return null;
    }
  }
}
