import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import type { LoginResponse, User } from '../api/models';
import { CurrentUser, SHARE_MS } from './current-user';
import { SessionStore } from './session';

const user = (extra: Partial<User> = {}): User => ({
  id: 'u1',
  email: 'ann@example.com',
  balanceMinor: 1000,
  currency: 'USD',
  createdAt: '2026-01-01T00:00:00Z',
  ...extra,
});
const login = (accessToken: string): LoginResponse => ({ accessToken, tokenType: 'Bearer', expiresIn: 3600, user: user() });

function setup() {
  localStorage.clear();
  TestBed.configureTestingModule({ providers: [provideHttpClient(), provideHttpClientTesting()] });
  const session = TestBed.inject(SessionStore);
  session.start(login('jwt-1'));
  return { current: TestBed.inject(CurrentUser), session, ctl: TestBed.inject(HttpTestingController) };
}

describe('CurrentUser', () => {
  it('shares one GET /v1/me between callers while it is in flight and shortly after its answer', async () => {
    const { current, ctl } = setup();
    const a = current.get();
    const b = current.get();
    ctl.expectOne('/v1/me').flush(user({ balanceMinor: 700 }));
    expect(await a).toEqual(await b);
    expect((await current.get()).balanceMinor).toBe(700);
    ctl.verify();
  });

  it('asks again once the answer is older than the sharing window, and on refresh()', async () => {
    const { current, ctl } = setup();
    const first = current.get();
    ctl.expectOne('/v1/me').flush(user({ balanceMinor: 700 }));
    await first;
    const later = current.get(SHARE_MS, Date.now() + SHARE_MS + 1);
    ctl.expectOne('/v1/me').flush(user({ balanceMinor: 500 }));
    expect((await later).balanceMinor).toBe(500);
    const fresh = current.refresh();
    ctl.expectOne('/v1/me').flush(user({ balanceMinor: 200 }));
    expect((await fresh).balanceMinor).toBe(200);
    ctl.verify();
  });

  it('asks again after invalidate() (a deposit changed the balance), within the sharing window too', async () => {
    const { current, ctl } = setup();
    const first = current.get();
    ctl.expectOne('/v1/me').flush(user({ balanceMinor: 700 }));
    await first;
    current.invalidate();
    const next = current.get();
    ctl.expectOne('/v1/me').flush(user({ balanceMinor: 5700 }));
    expect((await next).balanceMinor).toBe(5700);
    ctl.verify();
  });

  it('does not share a failed answer, nor an answer for another session', async () => {
    const { current, session, ctl } = setup();
    const failed = current.get();
    ctl.expectOne('/v1/me').flush({ error: { code: 'storage_unavailable', message: 'down' } }, { status: 503, statusText: 'Unavailable' });
    await expect(failed).rejects.toMatchObject({ status: 503 });
    const ok = current.get();
    ctl.expectOne('/v1/me').flush(user());
    await ok;
    session.start(login('jwt-2'));
    const other = current.get();
    const req = ctl.expectOne('/v1/me');
    req.flush(user({ id: 'u2', email: 'bob@example.com' }));
    expect((await other).email).toBe('bob@example.com');
    ctl.verify();
  });

  it('remembers the role of each answer with the session', async () => {
    const { current, session, ctl } = setup();
    const p = current.get();
    ctl.expectOne('/v1/me').flush(user({ role: 'admin' }));
    await p;
    expect(session.session()?.role).toBe('admin');
  });
});
