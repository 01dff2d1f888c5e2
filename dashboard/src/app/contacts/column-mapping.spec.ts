import { fieldOfHeader, fieldOfValues, guessMapping, mappingProblem, normaliseHeader } from './column-mapping';

describe('column mapping', () => {
  it('normalises headers: case, accents, punctuation', () => {
    expect(normaliseHeader(' E-mail ')).toBe('email');
    expect(normaliseHeader('Observações')).toBe('observacoes');
    expect(normaliseHeader('Телефон №')).toBe('телефон');
  });

  it('reads English, Portuguese and Russian headers', () => {
    expect(['Name', 'Phone', 'Tags', 'Company', 'Email', 'Notes'].map(fieldOfHeader)).toEqual([
      'name',
      'phone',
      'tags',
      'company',
      'email',
      'notes',
    ]);
    expect(['Nome', 'Celular', 'Etiquetas', 'Empresa', 'E-mail', 'Observações'].map(fieldOfHeader)).toEqual([
      'name',
      'phone',
      'tags',
      'company',
      'email',
      'notes',
    ]);
    expect(['ФИО', 'Телефон', 'Метки', 'Компания', 'Почта', 'Комментарий'].map(fieldOfHeader)).toEqual([
      'name',
      'phone',
      'tags',
      'company',
      'email',
      'notes',
    ]);
  });

  it('reads headers of several words by their telling word', () => {
    expect(fieldOfHeader('Contact phone')).toBe('phone');
    expect(fieldOfHeader('Phone 2')).toBe('phone');
    expect(fieldOfHeader('Company name')).toBe('company');
    expect(fieldOfHeader('Nome do cliente')).toBe('name');
    expect(fieldOfHeader('Customer ID')).toBe('externalId');
    expect(fieldOfHeader('Favourite colour')).toBeNull();
    expect(fieldOfHeader('')).toBeNull();
  });

  it('recognises phone and e-mail columns by their values', () => {
    expect(fieldOfValues(['+55 11 98765-4321', '5511987654322', '', '(11) 98765-4323'])).toBe('phone');
    expect(fieldOfValues(['ana@example.com', 'bo@example.org'])).toBe('email');
    expect(fieldOfValues(['12', 'blue', 'ok'])).toBeNull();
    expect(fieldOfValues(['', ' '])).toBeNull();
  });

  it('guesses a mapping: each single field once, several phones, unknown columns by their values', () => {
    const header = ['Full name', 'Mobile', 'Phone 2', 'Name', 'Col5', 'Col6', 'Segment'];
    const sample = [
      ['Ana', '+5511987650001', '', 'A.', '+5511987650009', 'x', 'vip'],
      ['Bo', '+5511987650002', '', 'B.', '+5511987650010', 'y', 'lead'],
    ];
    expect(guessMapping(header, sample)).toEqual(['name', 'phone', 'phone', 'ignore', 'phone', 'ignore', 'tags']);
    expect(guessMapping(['a', 'b'])).toEqual(['ignore', 'ignore']);
  });

  it('refuses a mapping without a phone or with a single field twice', () => {
    expect(mappingProblem(['name', 'ignore'])).toBe('no_phone');
    expect(mappingProblem(['name', 'phone', 'name'])).toBe('duplicate');
    expect(mappingProblem(['name', 'phone', 'phone', 'email', 'email'])).toBeNull();
  });
});
