/** Undefined fields, which the MongoDB driver would store as null, left out of what is written. */

/**
 * `doc` without its undefined fields (top level only; the driver would store them as null): `doc` itself when it has
 * none (checked without allocating), else a copy.
 */
export function withoutUndefined<T extends object>(doc: T): T {
  let some = false;
  for (const k in doc) if (doc[k] === undefined) some = true;
  if (!some) return doc;
  const out = {} as T;
  for (const k in doc) if (doc[k] !== undefined) out[k] = doc[k];
  return out;
}
