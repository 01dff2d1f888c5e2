import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { ApiClient } from './api';
import { ApiError } from './api-error';
import { RUNTIME_CONFIG } from './config';

function setup(apiBaseUrl = '') {
  TestBed.configureTestingModule({
    providers: [provideHttpClient(), provideHttpClientTesting(), { provide: RUNTIME_CONFIG, useValue: { apiBaseUrl } }],
  });
  return { api: TestBed.inject(ApiClient), ctl: TestBed.inject(HttpTestingController) };
}

describe('ApiClient', () => {
  it('prefixes the configured api base URL', async () => {
    const { api, ctl } = setup('https://api.example.com');
    const p = api.pricing();
    ctl.expectOne('https://api.example.com/v1/pricing').flush({ monthlyPriceMinor: 1500, currency: 'USD', period: 'P1M', billing: '' });
    expect((await p).monthlyPriceMinor).toBe(1500);
  });

  it('rejects with an ApiError carrying the code (402 insufficient_funds)', async () => {
    const { api, ctl } = setup();
    const p = api.createInstance('x');
    const req = ctl.expectOne('/v1/instances');
    expect(req.request.body).toEqual({ name: 'x' });
    req.flush({ error: { code: 'insufficient_funds', message: 'no money' } }, { status: 402, statusText: 'Payment Required' });
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 402, code: 'insufficient_funds' });
  });

  it('deposits minor units with an Idempotency-Key', async () => {
    const { api, ctl } = setup();
    const p = api.deposit(1234, 'key-1');
    const req = ctl.expectOne('/v1/wallet/deposits');
    expect(req.request.body).toEqual({ amount: 1234 });
    expect(req.request.headers.get('idempotency-key')).toBe('key-1');
    req.flush({ transaction: {}, balanceMinor: 1234 });
    expect((await p).balanceMinor).toBe(1234);
  });

  it('pages transactions with a cursor', async () => {
    const { api, ctl } = setup();
    const p = api.transactions('42', 10);
    ctl
      .expectOne((r) => r.url === '/v1/wallet/transactions' && r.params.get('cursor') === '42' && r.params.get('limit') === '10')
      .flush({ items: [], nextCursor: null });
    expect(await p).toEqual({ items: [], nextCursor: null });
  });

  it('the tester exchange reports errors as responses instead of throwing', async () => {
    const { api, ctl } = setup();
    const p = api.exchange('i-abcdefgh2345', 'POST', '/v1/messages', { to: '1555', text: 'hi' });
    const req = ctl.expectOne('/v1/instances/i-abcdefgh2345/api/v1/messages');
    expect(req.request.method).toBe('POST');
    req.flush({ error: { code: 'session_not_ready', message: 'log in' } }, { status: 409, statusText: 'Conflict' });
    const x = await p;
    expect(x.request).toEqual({ method: 'POST', path: '/v1/instances/i-abcdefgh2345/api/v1/messages', body: { to: '1555', text: 'hi' } });
    expect(x.response).toMatchObject({ status: 409, ok: false, body: { error: { code: 'session_not_ready' } } });
  });

  it('reads the JSON error out of a failed screenshot (blob) response', async () => {
    const { api, ctl } = setup();
    const p = api.screenshot('i-abcdefgh2345');
    ctl
      .expectOne('/v1/instances/i-abcdefgh2345/api/v1/screenshot')
      .flush(new Blob([JSON.stringify({ error: { code: 'session_not_ready', message: 'The WhatsApp session is STOPPED' } })]), {
        status: 409,
        statusText: 'Conflict',
      });
    await expect(p).rejects.toMatchObject({ status: 409, code: 'session_not_ready', message: 'The WhatsApp session is STOPPED' });
  });
});
