import { TestBed } from '@angular/core/testing';
import { provideRouter, Router } from '@angular/router';
import { ApiClient } from '../core/api';
import { ApiError } from '../core/api-error';
import { SessionStore } from '../core/session';
import { Login } from './login';
import { Register } from './register';

const loginResponse = {
  accessToken: 'jwt',
  tokenType: 'Bearer',
  expiresIn: 3600,
  user: { id: 'u', email: 'ann@example.com', balanceMinor: 0, currency: 'USD', createdAt: '' },
};

function setup(api: Record<string, unknown>) {
  localStorage.clear();
  TestBed.configureTestingModule({ providers: [provideRouter([]), { provide: ApiClient, useValue: api }] });
  const navigate = vi.spyOn(TestBed.inject(Router), 'navigateByUrl').mockResolvedValue(true);
  return { navigate, session: TestBed.inject(SessionStore) };
}

describe('Register', () => {
  it('validates the form before calling the api', async () => {
    const api = { register: vi.fn(), login: vi.fn() };
    setup(api);
    const c = TestBed.createComponent(Register).componentInstance;
    expect(c.problem()).toMatch(/email/);
    c.email.set('ann@example.com');
    c.password.set('short');
    expect(c.problem()).toMatch(/8 characters/);
    c.password.set('long enough');
    c.confirm.set('different');
    expect(c.problem()).toMatch(/do not match/);
    await c.submit();
    expect(api.register).not.toHaveBeenCalled();
    expect(c.error()).toMatch(/do not match/);
  });

  it('registers, logs in and goes to the instances', async () => {
    const api = { register: vi.fn(async () => loginResponse.user), login: vi.fn(async () => loginResponse) };
    const { navigate, session } = setup(api);
    const c = TestBed.createComponent(Register).componentInstance;
    c.email.set(' ann@example.com ');
    c.password.set('long enough');
    c.confirm.set('long enough');
    await c.submit();
    expect(api.register).toHaveBeenCalledWith('ann@example.com', 'long enough');
    expect(session.token()).toBe('jwt');
    expect(navigate).toHaveBeenCalledWith('/instances');
  });

  it('shows an email-taken error', async () => {
    setup({ register: vi.fn(async () => Promise.reject(new ApiError(409, 'email_taken', 'An account with this email already exists'))) });
    const c = TestBed.createComponent(Register).componentInstance;
    c.email.set('ann@example.com');
    c.password.set('long enough');
    c.confirm.set('long enough');
    await c.submit();
    expect(c.error()).toMatch(/already exists/);
    expect(c.busy()).toBe(false);
  });
});

describe('Login', () => {
  it('logs in and returns to the page asked for', async () => {
    const { navigate, session } = setup({ login: vi.fn(async () => loginResponse) });
    const f = TestBed.createComponent(Login);
    f.componentRef.setInput('returnUrl', '/wallet');
    const c = f.componentInstance;
    c.email.set('ann@example.com');
    c.password.set('secret123');
    await c.submit();
    expect(session.isLoggedIn()).toBe(true);
    expect(navigate).toHaveBeenCalledWith('/wallet');
  });

  it('never returns to another site', async () => {
    const { navigate } = setup({ login: vi.fn(async () => loginResponse) });
    const f = TestBed.createComponent(Login);
    f.componentRef.setInput('returnUrl', '//evil.example.com');
    f.componentInstance.email.set('a@b.c');
    f.componentInstance.password.set('x');
    await f.componentInstance.submit();
    expect(navigate).toHaveBeenCalledWith('/instances');
  });

  it('shows wrong credentials', async () => {
    setup({ login: vi.fn(async () => Promise.reject(new ApiError(401, 'invalid_credentials', 'Wrong email or password.'))) });
    const c = TestBed.createComponent(Login).componentInstance;
    c.email.set('a@b.c');
    c.password.set('nope');
    await c.submit();
    expect(c.error()).toBe('Wrong email or password.');
  });
});
