/**
 * The import wizard's column mapping: which contact field each column of an uploaded CSV file fills. Pure functions,
 * no Angular: `guessMapping` proposes a mapping from the header (English, Russian and Portuguese names) and, for
 * columns whose header says nothing, from the sample values (phone-like numbers, e-mail addresses).
 */

/** A contact field a column can fill; `ignore` leaves the column out. */
export type ImportField = 'name' | 'phone' | 'email' | 'tags' | 'company' | 'notes' | 'externalId' | 'ignore';

/** Every field in the order the mapping step offers them. */
export const IMPORT_FIELDS: readonly ImportField[] = ['name', 'phone', 'email', 'tags', 'company', 'notes', 'externalId', 'ignore'];

/** The field of each column, by column index (same length as the header). */
export type ColumnMapping = ImportField[];

/** Fields that at most one column may fill (several phone or e-mail columns are fine: a contact has several). */
const SINGLE: ReadonlySet<ImportField> = new Set(['name', 'tags', 'company', 'notes', 'externalId']);

/** Header words per field as written; compared normalised ({@link normaliseHeader}: "й" reads as "и"). */
const WORDS: Record<Exclude<ImportField, 'ignore'>, string[]> = {
  name: [
    'name',
    'fullname',
    'contact',
    'contactname',
    'customer',
    'client',
    'nome',
    'nomecompleto',
    'cliente',
    'contato',
    'имя',
    'фио',
    'клиент',
    'контакт',
  ],
  phone: [
    'phone',
    'phones',
    'phonenumber',
    'mobile',
    'cell',
    'tel',
    'telephone',
    'whatsapp',
    'number',
    'msisdn',
    'telefone',
    'celular',
    'numero',
    'whats',
    'телефон',
    'мобильный',
    'номер',
  ],
  tags: [
    'tags',
    'tag',
    'labels',
    'label',
    'groups',
    'group',
    'segment',
    'etiquetas',
    'etiqueta',
    'marcadores',
    'теги',
    'тег',
    'метки',
    'группа',
  ],
  company: [
    'company',
    'organisation',
    'organization',
    'org',
    'business',
    'employer',
    'empresa',
    'organizacao',
    'компания',
    'организация',
    'фирма',
  ],
  email: ['email', 'mail', 'emailaddress', 'correio', 'почта', 'электроннаяпочта'],
  externalId: ['id', 'externalid', 'customerid', 'clientid', 'code', 'codigo', 'код'],
  notes: ['notes', 'note', 'comment', 'comments', 'remarks', 'observacoes', 'observacao', 'notas', 'заметки', 'комментарий', 'примечание'],
};

/** Lower case, accents removed, only letters and digits ("E-mail " → "email", "Observações" → "observacoes"). */
export function normaliseHeader(h: string): string {
  return h
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]/gu, '');
}

/** {@link WORDS} normalised. */
const SYNONYMS = Object.fromEntries(Object.entries(WORDS).map(([f, words]) => [f, words.map(normaliseHeader)])) as typeof WORDS;

/** The order in which a header containing several words is read: "Contact phone" is a phone, "Company name" a company. */
const CONTAINS_ORDER: Array<Exclude<ImportField, 'ignore'>> = ['phone', 'email', 'externalId', 'company', 'tags', 'notes', 'name'];

/**
 * The field a header names, or null: an exact synonym first ("Tel", "Имя"), then a header containing a synonym of
 * four letters or more ("Phone 2", "Contact phone", "Nome do cliente").
 */
export function fieldOfHeader(header: string): Exclude<ImportField, 'ignore'> | null {
  const h = normaliseHeader(header);
  if (!h) return null;
  for (const f of CONTAINS_ORDER) if (SYNONYMS[f].includes(h)) return f;
  for (const f of CONTAINS_ORDER) if (SYNONYMS[f].some((s) => s.length >= 4 && h.includes(s))) return f;
  return null;
}

const PHONE_LIKE = /^\+?[\d\s().-]{7,20}$/;
const EMAIL_LIKE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The field the sample values of a column look like (most non-empty values phone numbers or e-mail addresses), or null. */
export function fieldOfValues(values: readonly string[]): 'phone' | 'email' | null {
  const filled = values.map((v) => v.trim()).filter(Boolean);
  if (!filled.length) return null;
  const share = (re: RegExp) =>
    filled.filter((v) => re.test(v) && (re !== PHONE_LIKE || v.replace(/\D/g, '').length >= 7)).length / filled.length;
  if (share(PHONE_LIKE) >= 0.6) return 'phone';
  if (share(EMAIL_LIKE) >= 0.6) return 'email';
  return null;
}

/**
 * Proposes a mapping for a file's header and sample rows: each column gets the field its header names, else the field
 * its values look like, else `ignore`; single fields go to their first column only. The person can change any of it.
 */
export function guessMapping(header: readonly string[], sample: readonly (readonly string[])[] = []): ColumnMapping {
  const taken = new Set<ImportField>();
  const take = (f: ImportField | null): ImportField => {
    if (!f || (SINGLE.has(f) && taken.has(f))) return 'ignore';
    taken.add(f);
    return f;
  };
  const byHeader = header.map((h) => fieldOfHeader(h));
  const mapping: ColumnMapping = byHeader.map((f) => take(f));
  // Columns with an unknown header: look at their values (a file without a header row, or headers like "Col 3").
  header.forEach((_, i) => {
    if (byHeader[i] !== null) return;
    mapping[i] = take(fieldOfValues(sample.map((row) => row[i] ?? '')));
  });
  return mapping;
}

/** Why a mapping cannot be used yet: no phone column, or a single field chosen twice; null when it is fine. */
export function mappingProblem(mapping: ColumnMapping): 'no_phone' | 'duplicate' | null {
  if (!mapping.includes('phone')) return 'no_phone';
  for (const f of SINGLE) if (mapping.filter((m) => m === f).length > 1) return 'duplicate';
  return null;
}
