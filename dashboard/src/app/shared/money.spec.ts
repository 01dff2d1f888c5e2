import { currencyDigits, formatMoney, parseMajorToMinor } from './money';

describe('money', () => {
  it('formats minor units with the currency', () => {
    expect(formatMoney(1500, 'USD')).toBe('$15.00');
    expect(formatMoney(5, 'USD')).toBe('$0.05');
    expect(formatMoney(-1500, 'USD')).toBe('-$15.00');
    expect(formatMoney(1500, 'EUR')).toBe('€15.00');
    expect(formatMoney(1500, 'JPY')).toBe('¥1,500');
    expect(formatMoney(123456789, 'USD')).toBe('$1,234,567.89');
  });

  it('knows the minor-unit digits of a currency', () => {
    expect(currencyDigits('USD')).toBe(2);
    expect(currencyDigits('JPY')).toBe(0);
    expect(currencyDigits('KWD')).toBe(3);
  });

  it('falls back for an unknown currency code', () => {
    expect(formatMoney(1500, 'not-a-currency')).toBe('15.00 not-a-currency');
  });

  it('parses a major-unit amount into minor units', () => {
    expect(parseMajorToMinor('15', 'USD')).toBe(1500);
    expect(parseMajorToMinor('15.5', 'USD')).toBe(1550);
    expect(parseMajorToMinor(' 15,05 ', 'USD')).toBe(1505);
    expect(parseMajorToMinor('0.01', 'USD')).toBe(1);
    expect(parseMajorToMinor('1500', 'JPY')).toBe(1500);
    expect(parseMajorToMinor('19.99', 'USD')).toBe(1999); // no floating-point drift
  });

  it('refuses what is not a positive amount with the allowed decimals', () => {
    for (const bad of ['', 'abc', '-5', '0', '0.00', '1.234', '1e3', '15.5.5', '15 USD']) expect(parseMajorToMinor(bad, 'USD')).toBeNull();
    expect(parseMajorToMinor('1.5', 'JPY')).toBeNull();
  });
});
