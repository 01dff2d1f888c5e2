import { countryOptions, phoneCountries } from './countries';

describe('default country options', () => {
  it('names the countries in the given language and sorts them by that name', () => {
    const en = countryOptions(['DE', 'BR', 'RU'], 'en');
    expect(en).toEqual([
      { code: 'BR', name: 'Brazil' },
      { code: 'DE', name: 'Germany' },
      { code: 'RU', name: 'Russia' },
    ]);
    const ru = countryOptions(['DE', 'BR', 'RU'], 'ru');
    expect(ru.map((c) => c.code)).toEqual(['BR', 'DE', 'RU']); // Бразилия, Германия, Россия
    expect(ru[0]!.name).toBe('Бразилия');
    const pt = countryOptions(['DE', 'BR', 'RU'], 'pt-BR');
    expect(pt.map((c) => c.name)).toEqual(['Alemanha', 'Brasil', 'Rússia']);
  });

  it('leaves out what is not a two-letter code, and shows a code the runtime cannot name as itself', () => {
    expect(countryOptions(['001', 'br', 'XK', ''], 'en').map((c) => c.code)).toEqual(['XK']);
    expect(countryOptions(['AC'], 'en')[0]!.code).toBe('AC');
  });

  it("offers libphonenumber-js's countries (those the api accepts)", async () => {
    const codes = await phoneCountries();
    expect(codes.length).toBeGreaterThan(200);
    expect(codes).toEqual(expect.arrayContaining(['BR', 'RU', 'US', 'PT']));
  });
});
