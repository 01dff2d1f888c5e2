/**
 * Issue 16, the contact book without instances, against real servers (the api process on a MongoDB-wire server):
 * import of the customer's table (preview numbers, commit, idempotent re-import, JSON), every bad input with its code,
 * CSV export with formula injection neutralised, manual merge and unmerge, tags, favourites and phone-prefix search.
 */
import { parse } from 'csv-parse/sync';
import { startMongo, type MongoServer } from '@wacloud/testenv';
import { startApiProcess, tenant, type RunningApi } from './harness.js';

let mongo: MongoServer;
let api: RunningApi;
let owner: string;

beforeAll(async () => {
  mongo = await startMongo();
  // No instance is created here: the simulated network's address is never used.
  api = await startApiProcess({ mongo, simnetUrl: 'http://127.0.0.1:9', env: { BILLING_CRON: 'false', CONTACTS_SYNC_INTERVAL_S: '0' } });
  owner = await tenant(api, 'book-owner@example.com');
}, 60_000);

afterAll(async () => {
  await api?.stop();
  await mongo?.stop();
});

const code = (r: { body: any }) => r.body?.error?.code as string | undefined;

/** Uploads `content` as the multipart part `file`. */
async function upload(token: string, content: string | Buffer, filename = 'contacts.csv'): Promise<{ status: number; body: any }> {
  const form = new FormData();
  form.append('file', new Blob([content]), filename);
  const res = await fetch(`${api.url}/v1/contact-imports`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  return { status: res.status, body: await res.json() };
}

const MAPPING = { name: 'Name', phone: 'Phone', email: 'Email', tags: 'Tags', externalId: 'CRM id', attributes: { city: 'City' } };
const TABLE =
  '\uFEFFName,Phone,Email,Tags,CRM id,City\n' +
  'Ana,+55 11 91234-5678,ana@example.com,"vip, sp",c1,São Paulo\n' + // 1 new
  'Bruno,(11) 98765-4321,,sp,c2,\n' + // 2 new: a local number, read in the default country (BR)
  'Carla,12345,,,c3,\n' + // 3 invalid phone
  'Dora,+55 11 91234-5678,,,c4,\n' + // 4 duplicate of row 1 (same phone)
  'Eva,+1 202 555 0143,eva@example.com,,c5,\n' + // 5 update: Eva exists (typed in by hand)
  'Fred,,,,,\n' + // 6 neither phone nor external id
  'Gil,+44 20 7946 0958,not-an-email,,c7,\n'; // 7 invalid email

async function list(token: string, q = ''): Promise<any[]> {
  const r = await api.call('GET', `/v1/contacts${q}`, { token });
  expect(r.status).toBe(200);
  return r.body.items;
}

test('import: preview reports new, updates, invalid rows with numbers and duplicates; commit writes them; the same file again changes nothing', async () => {
  const eva = await api.call('POST', '/v1/contacts', { token: owner, body: { name: 'Eva', phones: ['+12025550143'] } });
  expect(eva.status).toBe(201);
  const up = await upload(owner, TABLE);
  expect(up.status).toBe(201);
  expect(up.body).toMatchObject({ format: 'csv', columns: ['Name', 'Phone', 'Email', 'Tags', 'CRM id', 'City'], rowCount: 7 });
  expect(up.body.suggestedMapping).toMatchObject({ name: 'Name', phone: 'Phone', email: 'Email', tags: 'Tags' });

  // Without a default country the local number cannot be read.
  const noCountry = await api.call('POST', `/v1/contact-imports/${up.body.id}/preview`, { token: owner, body: { mapping: MAPPING } });
  expect(noCountry.status).toBe(200);
  expect(noCountry.body.invalid.find((e: any) => e.row === 2)).toMatchObject({ code: 'country_required', column: 'Phone' });

  expect((await api.call('PUT', '/v1/contact-settings', { token: owner, body: { defaultCountry: 'BR' } })).status).toBe(200);
  const preview = await api.call('POST', `/v1/contact-imports/${up.body.id}/preview`, { token: owner, body: { mapping: MAPPING } });
  expect(preview.status).toBe(200);
  expect(preview.body).toMatchObject({ rows: 7, new: 2, updates: 1, unchanged: 0, matchedWhatsApp: 0, invalidCount: 3, duplicateCount: 1 });
  expect(preview.body.invalid.map((e: any) => [e.row, e.code])).toEqual([
    [3, 'invalid_phone'],
    [6, 'missing_key'],
    [7, 'invalid_email'],
  ]);
  expect(preview.body.duplicates).toEqual([{ row: 4, firstRow: 1, key: 'phone:+5511912345678' }]);
  expect(preview.body.tagsToCreate.sort()).toEqual(['sp', 'vip']);
  expect(await list(owner)).toHaveLength(1); // a preview writes nothing

  const commit = await api.call('POST', `/v1/contact-imports/${up.body.id}/commit`, { token: owner, body: { mapping: MAPPING } });
  expect(commit.status).toBe(200);
  expect(commit.body).toMatchObject({ created: 2, updated: 1, invalidCount: 3, duplicateCount: 1 });
  const all = await list(owner);
  expect(all.map((c) => c.displayName).sort()).toEqual(['Ana', 'Bruno', 'Eva']);
  const ana = all.find((c) => c.name === 'Ana');
  expect(ana).toMatchObject({ phones: ['+5511912345678'], emails: ['ana@example.com'], externalId: 'c1', source: 'import' });
  expect(ana.attributes).toEqual({ city: 'São Paulo' });
  expect(ana.tags).toHaveLength(2);
  expect(all.find((c) => c.name === 'Bruno').phones).toEqual(['+5511987654321']);
  expect(all.find((c) => c.name === 'Eva')).toMatchObject({
    id: eva.body.id,
    emails: ['eva@example.com'],
    externalId: 'c5',
    sources: ['import', 'manual'],
  });

  // Re-importing the same file: everything unchanged, nothing written.
  const again = await upload(owner, TABLE);
  const recommit = await api.call('POST', `/v1/contact-imports/${again.body.id}/commit`, { token: owner, body: { mapping: MAPPING } });
  expect(recommit.body).toMatchObject({ created: 0, updated: 0, new: 0, updates: 0, unchanged: 3, tagsToCreate: [] });
  const after = await list(owner);
  expect(after.map((c) => [c.id, c.updatedAt])).toEqual(all.map((c) => [c.id, c.updatedAt]));
  expect((await api.call('GET', '/v1/contact-tags', { token: owner })).body.items.map((t: any) => t.name)).toEqual(['sp', 'vip']);

  const audit = await api.call('GET', '/v1/audit', { token: owner });
  expect(audit.body.items.filter((e: any) => e.action === 'contacts.imported')).toHaveLength(2);
});

test('import: JSON files, upserts by external id, and a row whose phone belongs to another contact is reported', async () => {
  const json = JSON.stringify([
    { name: 'Hugo', phone: '+49 1512 3456789', id: 'j1' },
    { name: 'Ana Maria', phone: '+55 11 91234-5678', id: 'c1' }, // same external id and phone as Ana: an update
    { name: 'Ivo', phone: '+1 202 555 0143', id: 'c2' }, // c2 is Bruno, the phone is Eva's: refused
  ]);
  const up = await api.call('POST', '/v1/contact-imports', { token: owner, body: { format: 'json', content: json, filename: 'x.json' } });
  expect(up.status).toBe(201);
  const mapping = { name: 'name', phone: 'phone', externalId: 'id' };
  const commit = await api.call('POST', `/v1/contact-imports/${up.body.id}/commit`, { token: owner, body: { mapping } });
  expect(commit.body).toMatchObject({ created: 1, updated: 1, invalidCount: 1 });
  expect(commit.body.invalid[0]).toMatchObject({ row: 3, code: 'phone_in_use' });
  const ana = (await list(owner, '?q=ana')).find((c) => c.externalId === 'c1');
  expect(ana.name).toBe('Ana Maria');
});

test('bad input: malformed CSV, not UTF-8, bad JSON, unknown column, no key column, over 10 MB, invalid phone → coded 4xx', async () => {
  const malformed = await upload(owner, 'Name,Phone\n"Ana,+5511912345678\nBia,+5511912345679\n');
  expect([malformed.status, code(malformed)]).toEqual([422, 'invalid_file']);
  const latin1 = await upload(owner, Buffer.from([0x4e, 0x61, 0x6d, 0x65, 0x0a, 0xe9, 0xe9, 0x0a]));
  expect([latin1.status, code(latin1)]).toEqual([422, 'invalid_file']);
  const notArray = await upload(owner, '{"name": "Ana"}', 'x.json');
  expect([notArray.status, code(notArray)]).toEqual([422, 'invalid_file']);
  const badJson = await upload(owner, '[{"name": ', 'x.json');
  expect([badJson.status, code(badJson)]).toEqual([422, 'invalid_file']);
  const big = await upload(owner, Buffer.alloc(10 * 1024 * 1024 + 1, 'a'));
  expect([big.status, code(big)]).toEqual([413, 'import_too_large']);
  const noFile = await fetch(`${api.url}/v1/contact-imports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${owner}` },
    body: new FormData(),
  });
  expect(noFile.status).toBe(400);

  const ok = await upload(owner, 'Name,Phone\nAna,+5511912345678\n');
  expect(ok.status).toBe(201);
  const unknown = await api.call('POST', `/v1/contact-imports/${ok.body.id}/preview`, {
    token: owner,
    body: { mapping: { phone: 'Telefone' } },
  });
  expect([unknown.status, code(unknown)]).toEqual([422, 'unknown_column']);
  expect(unknown.body.error.details).toMatchObject({ field: 'phone', column: 'Telefone', columns: ['Name', 'Phone'] });
  const noKey = await api.call('POST', `/v1/contact-imports/${ok.body.id}/commit`, { token: owner, body: { mapping: { name: 'Name' } } });
  expect([noKey.status, code(noKey)]).toEqual([422, 'match_column_required']);
  const unknownField = await api.call('POST', `/v1/contact-imports/${ok.body.id}/preview`, {
    token: owner,
    body: { mapping: { mobile: 'Phone' } },
  });
  expect([unknownField.status, code(unknownField)]).toEqual([400, 'invalid_request']);
  const missing = await api.call('POST', '/v1/contact-imports/imp_000000000000000000000000/preview', {
    token: owner,
    body: { mapping: { phone: 'Phone' } },
  });
  expect([missing.status, code(missing)]).toEqual([404, 'import_not_found']);

  const badPhone = await api.call('POST', '/v1/contacts', { token: owner, body: { name: 'X', phones: ['+1 000'] } });
  expect([badPhone.status, code(badPhone)]).toEqual([422, 'invalid_contact']);
  expect(badPhone.body.error.details).toEqual([{ in: 'body', field: 'phones.0', problem: 'invalid_phone' }]);
  const badCountry = await api.call('PUT', '/v1/contact-settings', { token: owner, body: { defaultCountry: 'XX' } });
  expect([badCountry.status, code(badCountry)]).toEqual([422, 'unknown_country']);
});

test('export: CSV of the book with cells starting = + - @ neutralised', async () => {
  const evil = await api.call('POST', '/v1/contacts', {
    token: owner,
    body: {
      name: '=HYPERLINK("http://evil.example","x")',
      phones: ['+5511955554444'],
      company: '-2+3',
      notes: '@SUM(A1)',
      attributes: { x: '+cmd' },
    },
  });
  expect(evil.status).toBe(201);
  const res = await fetch(`${api.url}/v1/contacts/export`, { headers: { authorization: `Bearer ${owner}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
  const text = (await res.text()).replace(/^\uFEFF/, '');
  const rows = parse(text) as string[][];
  const header = rows[0]!;
  const row = rows.find((r) => r[0] === evil.body.id)!;
  const cell = (name: string) => row[header.indexOf(name)];
  expect(cell('name')).toBe(`'=HYPERLINK("http://evil.example","x")`);
  expect(cell('company')).toBe(`'-2+3`);
  expect(cell('notes')).toBe(`'@SUM(A1)`);
  expect(cell('phones')).toBe(`'+5511955554444`);
  expect(cell('attr:x')).toBe(`'+cmd`);
  for (const r of rows) for (const c of r) expect(c).not.toMatch(/^[=+\-@]/);
});

test('manual merge and unmerge: one contact with both numbers, then the two contacts back as they were', async () => {
  const tag = await api.call('POST', '/v1/contact-tags', { token: owner, body: { name: 'merge-test', color: '#123456' } });
  const x = await api.call('POST', '/v1/contacts', {
    token: owner,
    body: { name: 'Xavier', phones: ['+5511911112222'], tags: [tag.body.id] },
  });
  const y = await api.call('POST', '/v1/contacts', {
    token: owner,
    body: { phones: ['+5511933334444'], emails: ['x@example.com'], company: 'ACME' },
  });
  expect([x.status, y.status]).toEqual([201, 201]);
  const merged = await api.call('POST', `/v1/contacts/${x.body.id}/merge`, { token: owner, body: { contactId: y.body.id } });
  expect(merged.status).toBe(200);
  expect(merged.body).toMatchObject({
    id: x.body.id,
    name: 'Xavier',
    phones: ['+5511911112222', '+5511933334444'],
    emails: ['x@example.com'],
    company: 'ACME',
  });
  expect(merged.body.merged).toEqual([{ contactId: y.body.id, displayName: '+5511933334444', at: expect.any(String) }]);
  expect((await api.call('GET', `/v1/contacts/${y.body.id}`, { token: owner })).status).toBe(404);
  // The merged number now leads to the kept contact.
  const same = await api.call('POST', '/v1/contacts', { token: owner, body: { phones: ['+55 11 93333-4444'], notes: 'via y' } });
  expect(same.body.id).toBe(x.body.id);

  const self = await api.call('POST', `/v1/contacts/${x.body.id}/merge`, { token: owner, body: { contactId: x.body.id } });
  expect([self.status, code(self)]).toEqual([422, 'merge_with_itself']);
  const un = await api.call('POST', `/v1/contacts/${x.body.id}/unmerge/${y.body.id}`, { token: owner });
  expect(un.status).toBe(200);
  expect(un.body.kept).toMatchObject({ id: x.body.id, phones: ['+5511911112222'], emails: [], company: null, tags: [tag.body.id] });
  expect(un.body.restored).toMatchObject({ id: y.body.id, phones: ['+5511933334444'], emails: ['x@example.com'], company: 'ACME' });
  const toY = await api.call('POST', '/v1/contacts', { token: owner, body: { phones: ['+5511933334444'], name: 'Yara' } });
  expect(toY.body.id).toBe(y.body.id);
  const twice = await api.call('POST', `/v1/contacts/${x.body.id}/unmerge/${y.body.id}`, { token: owner });
  expect([twice.status, code(twice)]).toEqual([404, 'merge_not_found']);
  const actions = (await api.call('GET', '/v1/audit', { token: owner })).body.items.map((e: any) => e.action);
  expect(actions).toEqual(expect.arrayContaining(['contact.merged', 'contact.unmerged']));
});

test('tags, bulk tagging, favourites first, phone-prefix and tag search', async () => {
  const t = await api.call('POST', '/v1/contact-tags', { token: owner, body: { name: 'Gold' } });
  expect(t.status).toBe(201);
  expect((await api.call('POST', '/v1/contact-tags', { token: owner, body: { name: 'gold' } })).body.error.code).toBe('tag_name_taken');
  // Renaming onto a taken name is a 409 too (FerretDB on PostgreSQL reports that update's unique violation otherwise).
  const silver = await api.call('POST', '/v1/contact-tags', { token: owner, body: { name: 'Silver' } });
  const rename = await api.call('PATCH', `/v1/contact-tags/${silver.body.id}`, { token: owner, body: { name: 'GOLD' } });
  expect([rename.status, code(rename)]).toEqual([409, 'tag_name_taken']);
  expect((await api.call('DELETE', `/v1/contact-tags/${silver.body.id}`, { token: owner })).status).toBe(204);
  const all = await list(owner);
  const target = all.filter((c) => c.phones.some((p: string) => p.startsWith('+5511')));
  const bulk = await api.call('POST', '/v1/contacts/bulk-tag', {
    token: owner,
    body: { contactIds: target.map((c) => c.id), add: [t.body.id] },
  });
  expect(bulk.body).toEqual({ updated: target.length, skipped: 0 });
  expect((await list(owner, `?tag=${t.body.id}`)).map((c) => c.id).sort()).toEqual(target.map((c) => c.id).sort());
  expect(await list(owner, '?phone=%2B5511')).toHaveLength(target.length);
  expect((await list(owner, '?phone=1202')).map((c) => c.name)).toEqual(['Eva']);

  const last = all[all.length - 1];
  expect((await api.call('PUT', `/v1/contacts/${last.id}/favourite`, { token: owner })).status).toBe(204);
  const pinned = await list(owner);
  expect(pinned[0]).toMatchObject({ id: last.id, favourite: true });
  expect(pinned.filter((c) => c.id === last.id)).toHaveLength(1);
  expect((await list(owner, '?favourites=true')).map((c) => c.id)).toEqual([last.id]);
  // Paging: every contact once.
  const seen: string[] = [];
  let cursor: string | null = '';
  while (cursor !== null) {
    const r: any = await api.call('GET', `/v1/contacts?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: owner });
    seen.push(...r.body.items.map((c: any) => c.id));
    cursor = r.body.nextCursor;
  }
  expect(seen.sort()).toEqual(all.map((c) => c.id).sort());
  const bad = await api.call('GET', '/v1/contacts?cursor=nope', { token: owner });
  expect([bad.status, code(bad)]).toEqual([422, 'unknown_cursor']);
  // A phone filter without digits matches nothing (it used to send a NUL sentinel PostgreSQL refuses: a 500).
  expect(await list(owner, '?phone=-Infinity')).toHaveLength(0);
  const none = await api.call('GET', '/v1/contacts/export?phone=-Infinity', { token: owner });
  expect(none.status).toBe(200);
  expect((await api.call('DELETE', `/v1/contact-tags/${t.body.id}`, { token: owner })).status).toBe(204);
  expect(await list(owner, `?tag=${t.body.id}`)).toHaveLength(0);
});
