/** Kit's own error codes: one catalogue, thrown by the app with its statuses and messages, mergeable into services'. */
import { HttpError, KIT_ERROR_CATALOGUE, KitError, errorCatalogue, sendError, withKitErrors } from '../src/index.js';

test('kit codes and statuses', () => {
  expect(Object.fromEntries(Object.entries(KIT_ERROR_CATALOGUE).map(([c, e]) => [c, e.status]))).toEqual({
    invalid_request: 400,
    invalid_json: 400,
    nul_character: 422,
    route_not_found: 404,
    method_not_allowed: 405,
    payload_too_large: 413,
    unsupported_media_type: 415,
    internal: 500,
    storage_unavailable: 503,
  });
});

test('KitError takes status and message from the catalogue', () => {
  const e = new KitError('payload_too_large', undefined, { limitBytes: 10 });
  expect(e).toBeInstanceOf(HttpError);
  expect(e.name).toBe('KitError');
  expect(e.toJSON()).toEqual({
    error: { code: 'payload_too_large', message: KIT_ERROR_CATALOGUE.payload_too_large.message, details: { limitBytes: 10 } },
  });
  expect(e.status).toBe(413);
});

test('withKitErrors adds kit codes to a service catalogue; messages may be reworded, statuses not', () => {
  const catalogue = withKitErrors({
    not_found: { status: 404, message: 'No such thing.' },
    invalid_request: { status: 400, message: 'That request is invalid.' },
  } as const);
  expect(catalogue.route_not_found).toBe(KIT_ERROR_CATALOGUE.route_not_found);
  expect(catalogue.invalid_request.message).toBe('That request is invalid.');
  class AppError extends errorCatalogue(catalogue) {}
  expect(new AppError('storage_unavailable').status).toBe(503);
  expect(new AppError('not_found').message).toBe('No such thing.');
  // @ts-expect-error a kit code keeps its status
  expect(() => withKitErrors({ internal: { status: 503, message: 'x' } })).toThrow('error code internal: kit answers it with 500, not 503');
});

test('sendError sends details.retryAfterS as Retry-After (whole seconds ≥ 1), never over a route’s own', async () => {
  const { createServer } = await import('node:http');
  const answers = [
    new HttpError(409, 'session_not_ready', 'Starting; retry in 2 s.', { retryAfterS: 2 }),
    new HttpError(409, 'session_not_ready', 'Log in first.'),
    new HttpError(429, 'rate_limited', 'Odd details.', { retryAfterS: 0.5 }),
    new HttpError(429, 'too_many_attempts', 'The route set its own.', { retryAfterS: 5 }),
  ];
  const server = createServer((req, res) => {
    const i = Number(req.url!.slice(1));
    if (i === 3) res.setHeader('retry-after', '60');
    sendError(res, answers[i]!);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  try {
    const got = [];
    for (let i = 0; i < answers.length; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/${i}`);
      got.push({
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        code: ((await res.json()) as { error: { code: string } }).error.code,
      });
    }
    expect(got).toEqual([
      { status: 409, retryAfter: '2', code: 'session_not_ready' },
      { status: 409, retryAfter: null, code: 'session_not_ready' },
      { status: 429, retryAfter: null, code: 'rate_limited' },
      { status: 429, retryAfter: '60', code: 'too_many_attempts' },
    ]);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
