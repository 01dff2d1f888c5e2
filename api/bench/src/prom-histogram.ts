/**
 * A Prometheus histogram read off a `/metrics` page (text exposition format), for a bench's before/after difference:
 * cumulative bucket counts by upper bound, and quantiles estimated as PromQL's `histogram_quantile` does (linear
 * within the bucket the rank falls in; the largest finite bound when it falls in `+Inf`).
 */

/** Cumulative counts by upper bound (seconds, ascending; `Infinity` last). */
export type Buckets = Array<{ le: number; count: number }>;

/**
 * The buckets of histogram `name` whose series carry every label of `labels` (e.g. `{ method: 'GET' }`), summed over
 * the series that match; empty when there is none.
 */
export function readBuckets(text: string, name: string, labels: Record<string, string>): Buckets {
  const byLe = new Map<number, number>();
  const prefix = `${name}_bucket{`;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const close = line.lastIndexOf('}');
    const found = new Map([...line.slice(prefix.length, close).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (!Object.entries(labels).every(([k, v]) => found.get(k) === v)) continue;
    const le = found.get('le') === '+Inf' ? Number.POSITIVE_INFINITY : Number(found.get('le'));
    byLe.set(le, (byLe.get(le) ?? 0) + Number(line.slice(close + 1)));
  }
  return [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/** `after − before`, bucket by bucket (what was observed between two scrapes). */
export function bucketDelta(after: Buckets, before: Buckets): Buckets {
  const was = new Map(before.map((b) => [b.le, b.count]));
  return after.map((b) => ({ le: b.le, count: b.count - (was.get(b.le) ?? 0) }));
}

/** The `q` quantile (0–1) of `buckets`, in their unit; NaN when nothing was observed. */
export function bucketQuantile(buckets: Buckets, q: number): number {
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Number.POSITIVE_INFINITY) return lower;
      return lower + (b.le - lower) * ((rank - below) / Math.max(1, b.count - below));
    }
    lower = b.le;
    below = b.count;
  }
  return lower;
}
