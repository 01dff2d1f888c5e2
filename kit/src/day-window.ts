/** The UTC days of a statistics window (the api's `GET /v1/stats` and the instance's daily counts share it). */

const DAY_MS = 86_400_000;

/** A window of whole UTC days. */
export interface DayWindow {
  /** 00:00 UTC of its first day. */
  from: Date;
  /** 00:00 UTC of the day after its last (exclusive). */
  to: Date;
  /** Its days, `YYYY-MM-DD`, oldest first. */
  dates: string[];
}

/** The `days` UTC days ending with the day of `now` (today included). */
export function dayWindow(days: number, now = new Date()): DayWindow {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const from = new Date(today - (days - 1) * DAY_MS);
  const to = new Date(today + DAY_MS);
  const dates: string[] = [];
  for (let t = from.getTime(); t < to.getTime(); t += DAY_MS) dates.push(new Date(t).toISOString().slice(0, 10));
  return { from, to, dates };
}
