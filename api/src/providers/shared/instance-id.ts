/**
 * The instance id every provider accepts: a DNS label of at most 40 characters (`[a-z0-9]`, inner `-`). It names
 * processes' directories, containers, volumes and Kubernetes resources, so it is checked before any backend is asked.
 * The api mints ids `i-` + 12 characters of base32 (`instances.ts`), well inside the pattern.
 */
import { ProviderError } from '../provider.js';

/** `^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$`: 1–40 characters, lower-case letters, digits and inner dashes. */
export const INSTANCE_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

/** Whether `id` is a valid instance id ({@link INSTANCE_ID_PATTERN}). */
export function isInstanceId(id: unknown): id is string {
  return typeof id === 'string' && INSTANCE_ID_PATTERN.test(id);
}

/**
 * Throws unless `id` is a valid instance id.
 * @throws ProviderError `invalid_id`.
 */
export function assertInstanceId(id: string): void {
  if (!isInstanceId(id))
    throw new ProviderError(
      'invalid_id',
      `invalid instance id ${JSON.stringify(id)}: lower-case letters, digits and inner dashes, at most 40 characters`,
    );
}
