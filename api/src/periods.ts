/**
 * Billing periods (billing rules: docs/product.md). An instance is billed monthly, anchored on the UTC
 * day-of-month it was created. A period ends on the anchor day of the next month; when that month is shorter, it ends
 * on the month's last day, and the following period returns to the anchor day:
 *   created 31 Jan 10:00 → periods end 28/29 Feb 10:00, 31 Mar 10:00, 30 Apr 10:00, 31 May 10:00 …
 * Times keep the creation's time of day (UTC). All functions are pure.
 */

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/**
 * The end of the period that starts at `start`, anchored on `anchorDay` (1–31): the same UTC time on the anchor day of
 * the next month, clamped to that month's last day.
 */
export function periodEnd(start: Date, anchorDay: number): Date {
  const y = start.getUTCFullYear();
  const m = start.getUTCMonth() + 1;
  const year = y + Math.floor(m / 12);
  const month = m % 12;
  const day = Math.min(anchorDay, daysInMonth(year, month));
  return new Date(
    Date.UTC(year, month, day, start.getUTCHours(), start.getUTCMinutes(), start.getUTCSeconds(), start.getUTCMilliseconds()),
  );
}

/** The first period of an instance created at `createdAt`: [createdAt, periodEnd). */
export function firstPeriod(createdAt: Date): { start: Date; end: Date; anchorDay: number } {
  const anchorDay = createdAt.getUTCDate();
  return { start: createdAt, end: periodEnd(createdAt, anchorDay), anchorDay };
}

/** The period after one ending at `paidUntil`. */
export function nextPeriod(paidUntil: Date, anchorDay: number): { start: Date; end: Date } {
  return { start: paidUntil, end: periodEnd(paidUntil, anchorDay) };
}
