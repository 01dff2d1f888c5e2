import { formatDate, formatDay, formatNumber, formatRelative } from './format';
import { formatMoney } from './money';

const AT = '2026-12-01T02:30:00Z';

describe('formatting in the member locale and time zone', () => {
  it('writes money from minor units the way each language writes the currency', () => {
    expect(formatMoney(1500, 'USD', 'en')).toBe('$15.00');
    expect(formatMoney(1500, 'USD', 'ru').replace(/\s/g, ' ')).toBe('15,00 $');
    expect(formatMoney(1500, 'USD', 'pt-BR').replace(/\s/g, ' ')).toBe('US$ 15,00');
    expect(formatMoney(1500, 'BRL', 'pt-BR').replace(/\s/g, ' ')).toBe('R$ 15,00');
    expect(formatMoney(123456789, 'RUB', 'ru').replace(/\s/g, ' ')).toBe('1 234 567,89 ₽');
  });

  it('shows instants in the member time zone: the same instant is another day in São Paulo than in Moscow', () => {
    expect(formatDate(AT, 'en', 'Europe/Moscow')).toBe('Dec 1, 2026, 05:30 AM');
    expect(formatDate(AT, 'pt-BR', 'America/Sao_Paulo')).toBe('30 de nov. de 2026, 23:30');
    expect(formatDate(AT, 'ru', 'Europe/Moscow')).toBe('1 дек. 2026 г., 05:30');
  });

  it('shows billing days in UTC whatever the time zone', () => {
    expect(formatDay(AT, 'pt-BR')).toBe('1 de dez. de 2026');
    expect(formatDay('2026-11-30T23:59:59Z', 'ru')).toBe('30 нояб. 2026 г.');
    expect(formatDay(null)).toBe('—');
  });

  it('writes numbers and relative times in the language', () => {
    expect(formatNumber(12345.5, 'pt-BR')).toBe('12.345,5');
    expect(formatNumber(12345.5, 'ru').replace(/\s/g, ' ')).toBe('12 345,5');
    const now = Date.parse(AT);
    expect(formatRelative('2026-12-01T02:27:00Z', now, 'en')).toBe('3 minutes ago');
    expect(formatRelative('2026-12-01T02:27:00Z', now, 'ru')).toBe('3 минуты назад');
    expect(formatRelative('2026-12-03T02:30:00Z', now, 'pt-BR')).toBe('depois de amanhã');
    expect(formatRelative('2026-12-21T02:30:00Z', now, 'pt-BR')).toBe('em 20 dias');
  });
});
