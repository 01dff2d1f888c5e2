/**
 * metav1.Condition helpers: set a condition keeping its lastTransitionTime when the status did not change, and compare
 * statuses for no-op detection.
 */
import type { Condition } from '@wacloud/crds';

/**
 * Returns `conditions` with `next` set (by type), sorted by type. lastTransitionTime changes only when the status
 * changes. `conditions` itself when it is sorted and already holds `next` (the usual case: nothing to write).
 */
export function setCondition(conditions: Condition[], next: Omit<Condition, 'lastTransitionTime'>, now: Date): Condition[] {
  const prev = conditions.find((c) => c.type === next.type);
  if (
    prev &&
    prev.status === next.status &&
    prev.reason === next.reason &&
    prev.message === next.message &&
    prev.observedGeneration === next.observedGeneration &&
    Object.keys(prev).length === Object.keys(next).length + 1 &&
    conditions.every((c, i) => i === 0 || conditions[i - 1]!.type.localeCompare(c.type) < 0)
  )
    return conditions;
  const lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return [...conditions.filter((c) => c.type !== next.type), { ...next, lastTransitionTime }].sort((a, b) => a.type.localeCompare(b.type));
}

/** The condition of `type`, if present. */
export function getCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * Whether every field of `desired` equals the same field of `live` (arrays element by element, same length).
 * Fields only `live` has (server defaults, other managers' fields, status) are ignored, so a desired object that is a
 * subset of the live one needs no write.
 */
export function isSubset(desired: unknown, live: unknown): boolean {
  if (desired === live) return true;
  if (desired === null || typeof desired !== 'object')
    return desired === live || (desired !== undefined && String(desired) === String(live) && typeof live !== 'object');
  if (Array.isArray(desired)) {
    return Array.isArray(live) && live.length === desired.length && desired.every((d, i) => isSubset(d, live[i]));
  }
  if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
  return Object.entries(desired as Record<string, unknown>).every(
    ([k, v]) => v === undefined || isSubset(v, (live as Record<string, unknown>)[k]),
  );
}

/**
 * Whether `a` and `b` serialize to the same JSON up to the order of object keys (fields that are undefined count as
 * absent; array order counts). For plain JSON data — statuses — without serializing either.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const k in x) if (x[k] !== undefined && !sameJson(x[k], y[k])) return false;
  for (const k in y) if (y[k] !== undefined && x[k] === undefined) return false;
  return true;
}
