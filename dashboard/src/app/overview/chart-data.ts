/**
 * What the messages chart shows, as plain data (tested without a canvas): one label per UTC day and the two series,
 * messages in and out.
 */
import type { DayCount } from './stats-api';

/** The chart's labels and series for `days` (oldest first). */
export interface ChartSeries {
  /** Each day as the dashboard's language writes a short UTC date ('1 dez.', '1 дек.'). */
  labels: string[];
  in: number[];
  out: number[];
}

/** Labels and series of `days`, in the given language. */
export function chartSeries(days: readonly DayCount[], locale: string): ChartSeries {
  const fmt = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', timeZone: 'UTC' });
  return {
    labels: days.map((d) => fmt.format(new Date(`${d.date}T00:00:00Z`))),
    in: days.map((d) => d.in),
    out: days.map((d) => d.out),
  };
}

/** Total messages in and out over `days`. */
export function totals(days: readonly DayCount[]): { in: number; out: number } {
  return days.reduce((t, d) => ({ in: t.in + d.in, out: t.out + d.out }), { in: 0, out: 0 });
}
