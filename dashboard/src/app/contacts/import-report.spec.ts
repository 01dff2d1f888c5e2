import type { CommitReport, ImportReport } from './contacts.service';
import { problemReason, problemRows, reportLines } from './import-report';

const report: ImportReport = {
  rows: 200,
  new: 173,
  updates: 15,
  unchanged: 0,
  matchedWhatsApp: 15,
  invalidCount: 7,
  invalid: [
    { row: 9, code: 'invalid_phone', column: 'Phone', value: '12345', message: 'Invalid phone' },
    { row: 3, code: 'country_required', column: 'Phone', value: '98765-4321', message: 'Country required' },
  ],
  duplicateCount: 5,
  duplicates: [{ row: 5, firstRow: 2, key: '+5521987600001' }],
  tagsToCreate: ['vip', 'lead'],
};

describe('import report', () => {
  it('lists every count of a preview in a fixed order with its tone', () => {
    expect(reportLines(report).map((l) => [l.key, l.count, l.tone])).toEqual([
      ['rows', 200, 'info'],
      ['new', 173, 'ok'],
      ['updates', 15, 'ok'],
      ['unchanged', 0, 'info'],
      ['matched', 15, 'ok'],
      ['invalid', 7, 'bad'],
      ['duplicates', 5, 'warn'],
      ['tags', 2, 'info'],
    ]);
    expect(reportLines(report)[1]!.label).toBe('New contacts');
    const clean = reportLines({ ...report, invalidCount: 0, duplicateCount: 0 });
    expect(clean.filter((l) => l.key === 'invalid' || l.key === 'duplicates').map((l) => l.tone)).toEqual(['info', 'info']);
  });

  it('counts what a commit wrote', () => {
    const done: CommitReport = { ...report, new: 0, updates: 0, created: 173, updated: 15 };
    const lines = reportLines(done);
    expect(lines.find((l) => l.key === 'new')).toMatchObject({ count: 173, label: 'Contacts created' });
    expect(lines.find((l) => l.key === 'updates')).toMatchObject({ count: 15, label: 'Contacts updated' });
  });

  it('merges invalid and duplicate rows in file order, words their reasons and counts the rest', () => {
    const { rows, more } = problemRows(report, 2);
    expect(rows).toEqual([
      { row: 3, value: '98765-4321', text: 'Local number without a country code', kind: 'invalid' },
      { row: 5, value: '+5521987600001', text: 'Same as row 2', kind: 'duplicate' },
    ]);
    expect(more).toBe(10);
    expect(problemRows(report).more).toBe(9); // 12 counted, 3 listed by the api
    expect(problemReason({ code: 'too_long', message: 'x' })).toBe('A value is too long');
    expect(problemReason({ code: 'future_code' as 'too_long', message: 'Server says' })).toBe('Server says');
  });
});
