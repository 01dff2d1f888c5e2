/**
 * NUL (U+0000) in stored text. PostgreSQL — under the embedded MongoDB-wire server (docs/embedded-database.md) —
 * cannot store it in any string, so one message or contact name holding it would make its whole batch fail again and
 * again. What the engine reports is stored with each NUL replaced by U+FFFD (the replacement character); what clients
 * send with NUL is refused before (kit: 422 `nul_character`).
 */

/**
 * `value` with every NUL in its strings replaced by U+FFFD, deep through plain objects and arrays (other objects —
 * dates, buffers, ids — are kept as they are). Returns `value` itself when it holds no NUL: it is first searched
 * without allocating anything (every stored message passes here; NUL is rare), and copied only when one is found.
 */
export function withoutNul<T>(value: T): T {
  return hasNul(value) ? replaceNul(value) : value;
}

/** Whether a string in `value` holds NUL, deep through plain objects and arrays (as {@link withoutNul} walks it). */
export function hasNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) {
    for (const v of value) if (hasNul(v)) return true;
    return false;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const k in value) if (hasNul((value as Record<string, unknown>)[k])) return true;
  return false;
}

/**
 * {@link withoutNul}'s copy of a `value` that {@link hasNul}: the strings, arrays and plain objects on the way to a NUL
 * are new, the rest is shared.
 */
function replaceNul<T>(value: T): T {
  if (typeof value === 'string') return value.replaceAll('\u0000', '\uFFFD') as T;
  if (Array.isArray(value)) return value.map((v: unknown) => (hasNul(v) ? replaceNul(v) : v)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = hasNul(v) ? replaceNul(v) : v;
    return out as T;
  }
  return value;
}
