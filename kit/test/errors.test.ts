/** Kit's own error codes: one catalogue, thrown by the app with its statuses and messages, mergeable into services'. */
import { HttpError, KIT_ERROR_CATALOGUE, KitError, errorCatalogue, withKitErrors } from '../src/index.js';

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
