import { dateTimeFormat, numberFormat, prepareFormatters, relativeTimeFormat } from './intl-cache';

describe('Intl formatter cache', () => {
  it('makes one formatter per language and options and reuses it', () => {
    expect(numberFormat('ru')).toBe(numberFormat('ru'));
    expect(numberFormat('ru')).not.toBe(numberFormat('pt-BR'));
    expect(numberFormat('en', { style: 'currency', currency: 'USD' })).not.toBe(numberFormat('en'));
    expect(dateTimeFormat('en', { timeZone: 'UTC' })).toBe(dateTimeFormat('en', { timeZone: 'UTC' }));
    expect(relativeTimeFormat('en', { numeric: 'auto' })).toBe(relativeTimeFormat('en', { numeric: 'auto' }));
    expect(() => numberFormat('en', { style: 'currency', currency: 'not-a-currency' })).toThrow(RangeError);
  });

  it('prepares formatters one per task and ignores a failing one', () => {
    vi.useFakeTimers();
    try {
      const made: string[] = [];
      prepareFormatters([
        () => made.push('a'),
        () => {
          throw new RangeError('bad');
        },
        () => made.push('c'),
      ]);
      expect(made).toEqual([]);
      expect(vi.getTimerCount()).toBe(3);
      vi.runAllTimers();
      expect(made).toEqual(['a', 'c']);
    } finally {
      vi.useRealTimers();
    }
  });
});
