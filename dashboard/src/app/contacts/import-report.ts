/**
 * How the import wizard shows a preview (or commit) report: one line per count, in a fixed order, each with its label
 * and tone, and the rows left out or merged with a readable reason. Pure functions; the labels are translated messages.
 */
import type { CommitReport, ImportReport, ImportRowError } from './contacts.service';

export type ReportTone = 'ok' | 'info' | 'warn' | 'bad';

/** One line of the report: a count, what it counts and how it is shown. */
export interface ReportLine {
  key: 'rows' | 'new' | 'updates' | 'unchanged' | 'matched' | 'invalid' | 'duplicates' | 'tags';
  label: string;
  count: number;
  tone: ReportTone;
}

/**
 * The counts of a report as lines: rows read, new contacts, updated and unchanged ones, rows matched to WhatsApp
 * contacts, invalid rows, duplicate rows, tags to create. A commit report counts what it wrote (created, updated).
 */
export function reportLines(r: ImportReport | CommitReport): ReportLine[] {
  const written = 'created' in r;
  return [
    { key: 'rows', label: $localize`:@@contacts.report.total:Rows in the file`, count: r.rows, tone: 'info' },
    {
      key: 'new',
      label: written ? $localize`:@@contacts.report.createdDone:Contacts created` : $localize`:@@contacts.report.created:New contacts`,
      count: written ? r.created : r.new,
      tone: 'ok',
    },
    {
      key: 'updates',
      label: written
        ? $localize`:@@contacts.report.updatedDone:Contacts updated`
        : $localize`:@@contacts.report.updated:Existing contacts updated`,
      count: written ? r.updated : r.updates,
      tone: 'ok',
    },
    { key: 'unchanged', label: $localize`:@@contacts.report.unchanged:Already up to date`, count: r.unchanged, tone: 'info' },
    { key: 'matched', label: $localize`:@@contacts.report.matched:Matched to WhatsApp contacts`, count: r.matchedWhatsApp, tone: 'ok' },
    {
      key: 'invalid',
      label: $localize`:@@contacts.report.invalid:Invalid rows (skipped)`,
      count: r.invalidCount,
      tone: r.invalidCount ? 'bad' : 'info',
    },
    {
      key: 'duplicates',
      label: $localize`:@@contacts.report.duplicates:Rows repeating an earlier row (merged)`,
      count: r.duplicateCount,
      tone: r.duplicateCount ? 'warn' : 'info',
    },
    { key: 'tags', label: $localize`:@@contacts.report.tags:New tags`, count: r.tagsToCreate.length, tone: 'info' },
  ];
}

/** Why a row is invalid, in words (an unknown code shows the api's English message). */
export function problemReason(e: Pick<ImportRowError, 'code' | 'message'>): string {
  switch (e.code) {
    case 'invalid_phone':
      return $localize`:@@contacts.problem.invalidPhone:Not a valid phone number`;
    case 'country_required':
      return $localize`:@@contacts.problem.countryRequired:Local number without a country code`;
    case 'invalid_email':
      return $localize`:@@contacts.problem.invalidEmail:Not a valid e-mail address`;
    case 'missing_key':
      return $localize`:@@contacts.problem.missingKey:No phone number`;
    case 'phone_in_use':
      return $localize`:@@contacts.problem.phoneInUse:The phone belongs to another contact`;
    case 'too_long':
      return $localize`:@@contacts.problem.tooLong:A value is too long`;
    default:
      return e.message;
  }
}

/** A row left out or merged, as the report's table shows it. */
export interface ProblemRow {
  row: number;
  value: string;
  text: string;
  kind: 'invalid' | 'duplicate';
}

/** Invalid and duplicate rows in file order, at most `limit` of them; `more` is how many are not shown. */
export function problemRows(r: ImportReport, limit = 50): { rows: ProblemRow[]; more: number } {
  const all: ProblemRow[] = [
    ...r.invalid.map((e) => ({ row: e.row, value: e.value ?? '', text: problemReason(e), kind: 'invalid' as const })),
    ...r.duplicates.map((d) => ({
      row: d.row,
      value: d.key,
      text: $localize`:@@contacts.problem.duplicate:Same as row ${d.firstRow}:row:`,
      kind: 'duplicate' as const,
    })),
  ].sort((a, b) => a.row - b.row);
  const total = r.invalidCount + r.duplicateCount;
  return { rows: all.slice(0, limit), more: Math.max(0, total - Math.min(limit, all.length)) };
}
