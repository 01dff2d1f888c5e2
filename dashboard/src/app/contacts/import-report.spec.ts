import type { ImportPreview } from './contacts.service';
import { problemReason, problemRows, reportLines } from './import-report';

const report: ImportPreview = {
  id: 'imp_1',
  total: 200,
  valid: 188,
  created: 170,
  updated: 0,
  matched: 18,
  invalid: 7,
  duplicates: 5,
  status: 'previewed',
  problems: [
    { row: 9, reason: 'duplicate_in_file', value: '+5511987650001' },
    { row: 3, reason: 'invalid_phone', value: '12345' },
    { row: 5, reason: 'something_new', value: 'x' },
  ],
};

describe('import report', () => {
  it('lists every count in a fixed order with its tone', () => {
    const lines = reportLines(report);
    expect(lines.map((l) => [l.key, l.count, l.tone])).toEqual([
      ['total', 200, 'info'],
      ['created', 170, 'ok'],
      ['updated', 0, 'ok'],
      ['matched', 18, 'ok'],
      ['invalid', 7, 'bad'],
      ['duplicates', 5, 'warn'],
    ]);
    expect(lines[3]!.label).toBe('Matched to WhatsApp contacts');
    const clean = reportLines({ ...report, invalid: 0, duplicates: 0 });
    expect(clean.filter((l) => l.key === 'invalid' || l.key === 'duplicates').map((l) => l.tone)).toEqual(['info', 'info']);
  });

  it('sorts problem rows by line, words their reasons and counts the rest', () => {
    const { rows, more } = problemRows(report, 2);
    expect(rows.map((r) => [r.row, r.text])).toEqual([
      [3, 'Not a valid phone number'],
      [5, 'something_new'],
    ]);
    expect(more).toBe(1);
    expect(problemReason('duplicate_in_file')).toBe('Same phone as an earlier row');
  });
});
