import { TestBed } from '@angular/core/testing';
import type { LoginResponse } from '../api/models';
import { SESSION_KEY, SessionStore } from './session';

const login = (expiresIn = 3600): LoginResponse => ({
  accessToken: 'jwt-1',
  tokenType: 'Bearer',
  expiresIn,
  user: { id: 'u1', email: 'ann@example.com', balanceMinor: 0, currency: 'USD', createdAt: '2026-01-01T00:00:00Z' },
});

describe('SessionStore', () => {
  beforeEach(() => localStorage.clear());

  it('starts a session and keeps it in localStorage', () => {
    const s = TestBed.inject(SessionStore);
    expect(s.isLoggedIn()).toBe(false);
    s.start(login());
    expect(s.token()).toBe('jwt-1');
    expect(s.email()).toBe('ann@example.com');
    expect(JSON.parse(localStorage.getItem(SESSION_KEY)!)).toMatchObject({ accessToken: 'jwt-1', email: 'ann@example.com' });
  });

  it('restores the session after a reload (a new store)', () => {
    TestBed.inject(SessionStore).start(login());
    TestBed.resetTestingModule();
    const again = TestBed.inject(SessionStore);
    expect(again.isLoggedIn()).toBe(true);
    expect(again.validToken()).toBe('jwt-1');
  });

  it('forgets an expired session, at load and when asked for the token', () => {
    localStorage.setItem(SESSION_KEY, JSON.stringify({ accessToken: 'old', expiresAt: Date.now() - 1, email: 'a@b.c' }));
    expect(TestBed.inject(SessionStore).isLoggedIn()).toBe(false);
    expect(localStorage.getItem(SESSION_KEY)).toBeNull();

    TestBed.resetTestingModule();
    const s = TestBed.inject(SessionStore);
    s.start(login(60), 1_000);
    expect(s.validToken(1_000 + 59_000)).toBe('jwt-1');
    expect(s.validToken(1_000 + 60_000)).toBeNull();
    expect(s.isLoggedIn()).toBe(false);
  });

  it('ignores a corrupt stored value', () => {
    localStorage.setItem(SESSION_KEY, '{not json');
    expect(TestBed.inject(SessionStore).isLoggedIn()).toBe(false);
  });

  it('clear() logs out', () => {
    const s = TestBed.inject(SessionStore);
    s.start(login());
    s.clear();
    expect(s.token()).toBeNull();
    expect(localStorage.getItem(SESSION_KEY)).toBeNull();
  });

  it('remembers the role from the login and from later answers, across a reload', () => {
    const s = TestBed.inject(SessionStore);
    s.rememberRole('owner'); // no session: nothing to remember it on
    expect(s.session()).toBeNull();
    s.start({ ...login(), user: { ...login().user, role: 'admin' } });
    expect(s.session()?.role).toBe('admin');
    s.rememberRole('member');
    TestBed.resetTestingModule();
    expect(TestBed.inject(SessionStore).session()?.role).toBe('member');
  });
});
