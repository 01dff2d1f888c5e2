/**
 * How the import wizard shows a preview (or final) report: one line per count, in a fixed order, each with its label
 * and tone, and the problem rows with a readable reason. Pure functions; the labels are translated messages.
 */
import type { ImportPreview, ImportProblem } from './contacts.service';

export type ReportTone = 'ok' | 'info' | 'warn' | 'bad';

/** One line of the report: a count, what it counts and how it is shown. */
export interface ReportLine {
  key: 'total' | 'created' | 'updated' | 'matched' | 'invalid' | 'duplicates';
  label: string;
  count: number;
  tone: ReportTone;
}

/** The counts of a report as lines: rows read, new contacts, updated contacts, matched on WhatsApp, invalid, duplicates. */
export function reportLines(r: ImportPreview): ReportLine[] {
  return [
    { key: 'total', label: $localize`:@@contacts.report.total:Rows in the file`, count: r.total, tone: 'info' },
    { key: 'created', label: $localize`:@@contacts.report.created:New contacts`, count: r.created, tone: 'ok' },
    { key: 'updated', label: $localize`:@@contacts.report.updated:Existing contacts updated`, count: r.updated, tone: 'ok' },
    { key: 'matched', label: $localize`:@@contacts.report.matched:Matched to WhatsApp contacts`, count: r.matched, tone: 'ok' },
    {
      key: 'invalid',
      label: $localize`:@@contacts.report.invalid:Rows with an invalid phone (skipped)`,
      count: r.invalid,
      tone: r.invalid ? 'bad' : 'info',
    },
    {
      key: 'duplicates',
      label: $localize`:@@contacts.report.duplicates:Duplicate rows in the file (merged)`,
      count: r.duplicates,
      tone: r.duplicates ? 'warn' : 'info',
    },
  ];
}

/** Why a row was left out or merged, in words. */
export function problemReason(reason: ImportProblem['reason']): string {
  switch (reason) {
    case 'invalid_phone':
      return $localize`:@@contacts.problem.invalidPhone:Not a valid phone number`;
    case 'country_required':
      return $localize`:@@contacts.problem.countryRequired:Local number without a country code`;
    case 'missing_phone':
      return $localize`:@@contacts.problem.missingPhone:No phone number`;
    case 'duplicate_in_file':
      return $localize`:@@contacts.problem.duplicate:Same phone as an earlier row`;
    default:
      return reason;
  }
}

/** The problem rows to show, in file order, at most `limit` of them; `more` is how many are not shown. */
export function problemRows(r: ImportPreview, limit = 50): { rows: Array<ImportProblem & { text: string }>; more: number } {
  const sorted = [...r.problems].sort((a, b) => a.row - b.row);
  return { rows: sorted.slice(0, limit).map((p) => ({ ...p, text: problemReason(p.reason) })), more: Math.max(0, sorted.length - limit) };
}
