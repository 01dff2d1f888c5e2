/**
 * NUL (U+0000) in stored text. PostgreSQL — under the embedded MongoDB-wire server (docs/embedded-database.md) —
 * cannot store it in any string, so one message or contact name holding it would make its whole batch fail again and
 * again. What the engine reports is stored with each NUL replaced by U+FFFD (the replacement character); what clients
 * send with NUL is refused before (kit: 422 `nul_character`).
 */

/**
 * `value` with every NUL in its strings replaced by U+FFFD, deep through plain objects and arrays (other objects —
 * dates, buffers, ids — are kept as they are). Returns `value` itself when it holds no NUL.
 */
export function withoutNul<T>(value: T): T {
  if (typeof value === 'string') return (value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value) as T;
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v: unknown) => {
      const w = withoutNul(v);
      changed ||= w !== v;
      return w;
    });
    return (changed ? out : value) as T;
  }
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const w = withoutNul(v);
      changed ||= w !== v;
      out[k] = w;
    }
    return (changed ? out : value) as T;
  }
  return value;
}
