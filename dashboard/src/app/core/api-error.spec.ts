import { HttpErrorResponse } from '@angular/common/http';
import { ApiError, toApiError } from './api-error';

const httpError = (status: number, error: unknown, statusText = '') => new HttpErrorResponse({ status, error, statusText, url: '/v1/x' });

describe('toApiError', () => {
  it('reads the api error body {error: {code, message}}', () => {
    const e = toApiError(httpError(409, { error: { code: 'name_taken', message: 'You already have an instance with this name.' } }));
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(409);
    expect(e.code).toBe('name_taken');
    expect(e.message).toBe('You already have an instance with this name.');
  });

  it('gives insufficient funds (402) a clear message', () => {
    const e = toApiError(
      httpError(402, {
        error: { code: 'insufficient_funds', message: 'The balance (0) cannot pay 1500 (minor units)', details: { requiredMinor: 1500 } },
      }),
    );
    expect(e.code).toBe('insufficient_funds');
    expect(e.message).toMatch(/balance is too low/);
    expect(e.details).toEqual({ requiredMinor: 1500 });
  });

  it('parses a JSON error body that arrived as text', () => {
    const e = toApiError(httpError(404, JSON.stringify({ error: { code: 'instance_not_found', message: 'No such instance.' } })));
    expect(e.code).toBe('instance_not_found');
  });

  it('maps a network failure (status 0)', () => {
    const e = toApiError(httpError(0, new ProgressEvent('error')));
    expect(e.code).toBe('network_error');
    expect(e.message).toMatch(/Cannot reach the server/);
  });

  it('maps bodies that are not api errors by status', () => {
    expect(toApiError(httpError(502, '<html>bad gateway</html>')).code).toBe('server_error');
    expect(toApiError(httpError(401, null)).code).toBe('unauthorized');
    const e = toApiError(httpError(418, null, "I'm a teapot"));
    expect(e.code).toBe('http_418');
    expect(e.message).toBe('Request failed (418).');
  });

  it('passes an ApiError through and wraps anything else', () => {
    const a = new ApiError(400, 'x', 'y');
    expect(toApiError(a)).toBe(a);
    expect(toApiError(new Error('boom'))).toMatchObject({ status: 0, code: 'unknown', message: 'boom' });
  });
});
