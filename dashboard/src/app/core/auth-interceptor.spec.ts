import { HttpClient, provideHttpClient, withInterceptors } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { provideRouter, Router } from '@angular/router';
import { firstValueFrom } from 'rxjs';
import { authInterceptor } from './auth-interceptor';
import { RUNTIME_CONFIG } from './config';
import { SessionStore } from './session';

function setup(apiBaseUrl = '') {
  TestBed.configureTestingModule({
    providers: [
      provideRouter([]),
      provideHttpClient(withInterceptors([authInterceptor])),
      provideHttpClientTesting(),
      { provide: RUNTIME_CONFIG, useValue: { apiBaseUrl } },
    ],
  });
  const session = TestBed.inject(SessionStore);
  session.start({
    accessToken: 'jwt-abc',
    tokenType: 'Bearer',
    expiresIn: 3600,
    user: { id: 'u', email: 'a@b.c', balanceMinor: 0, currency: 'USD', createdAt: '' },
  });
  const router = TestBed.inject(Router);
  const navigate = vi.spyOn(router, 'navigate').mockResolvedValue(true);
  return { http: TestBed.inject(HttpClient), ctl: TestBed.inject(HttpTestingController), session, navigate };
}

describe('authInterceptor', () => {
  beforeEach(() => localStorage.clear());

  it('adds the Authorization header to api calls', async () => {
    const { http, ctl } = setup();
    const p = firstValueFrom(http.get('/v1/me'));
    const req = ctl.expectOne('/v1/me');
    expect(req.request.headers.get('authorization')).toBe('Bearer jwt-abc');
    req.flush({});
    await p;
  });

  it('does not send the token to other origins', async () => {
    const { http, ctl } = setup('https://api.example.com');
    const p = firstValueFrom(http.get('https://elsewhere.example.org/x'));
    const req = ctl.expectOne('https://elsewhere.example.org/x');
    expect(req.request.headers.has('authorization')).toBe(false);
    req.flush({});
    await p;
    const q = firstValueFrom(http.get('https://api.example.com/v1/me'));
    const apiReq = ctl.expectOne('https://api.example.com/v1/me');
    expect(apiReq.request.headers.get('authorization')).toBe('Bearer jwt-abc');
    apiReq.flush({});
    await q;
  });

  it('on 401 forgets the session and goes to the login page', async () => {
    const { http, ctl, session, navigate } = setup();
    const p = firstValueFrom(http.get('/v1/instances'));
    ctl.expectOne('/v1/instances').flush({ error: { code: 'unauthorized', message: 'x' } }, { status: 401, statusText: 'Unauthorized' });
    await expect(p).rejects.toMatchObject({ status: 401 });
    expect(session.isLoggedIn()).toBe(false);
    expect(navigate).toHaveBeenCalledWith(['/login'], expect.objectContaining({ queryParams: expect.objectContaining({ expired: 1 }) }));
  });

  it('a 401 from the login endpoint (wrong password) does not redirect', async () => {
    const { http, ctl, navigate } = setup();
    const p = firstValueFrom(http.post('/v1/auth/login', {}));
    ctl
      .expectOne('/v1/auth/login')
      .flush({ error: { code: 'invalid_credentials', message: 'x' } }, { status: 401, statusText: 'Unauthorized' });
    await expect(p).rejects.toBeTruthy();
    expect(navigate).not.toHaveBeenCalled();
  });
});
