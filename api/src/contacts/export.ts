/**
 * Export of the contacts a member sees (with the list's filters) as CSV (csv-stringify, UTF-8 with a BOM so that
 * spreadsheets read it as UTF-8). Spreadsheet formula injection is neutralised: a cell starting with `=`, `+`, `-`, `@`,
 * a tab or a carriage return gets a leading `'` (so phone numbers read `'+5511…`; the import takes that form back).
 */
import type { Response } from 'express';
import { stringify } from 'csv-stringify/sync';
import { displayName } from './normalise.js';
import type { ContactCollections, ContactDoc } from './store.js';

/** `v` made inert for spreadsheets. */
export function neutralise(v: string): string {
  return /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
}

const BATCH = 1000;
const FIXED = [
  'id',
  'name',
  'displayName',
  'phones',
  'emails',
  'company',
  'notes',
  'tags',
  'externalId',
  'source',
  'whatsappIds',
  'instanceIds',
  'createdAt',
];

function row(d: ContactDoc, tagNames: Map<string, string>, attrs: string[]): string[] {
  return [
    d._id,
    d.name ?? '',
    displayName(d),
    d.phones.join('; '),
    d.emails.join('; '),
    d.company ?? '',
    d.notes ?? '',
    d.tags.map((t) => tagNames.get(t) ?? t).join('; '),
    d.externalId ?? '',
    d.source,
    d.identities.map((i) => i.waId).join('; '),
    d.instanceIds.join('; '),
    d.createdAt.toISOString(),
    ...attrs.map((a) => d.attributes[a] ?? ''),
  ].map(neutralise);
}

/**
 * Streams the CSV of the contacts matching `filter` to `res`, sorted by display name. Custom attributes become
 * columns `attr:<name>`.
 */
export async function exportCsv(c: ContactCollections, orgId: string, filter: Record<string, unknown>, res: Response): Promise<void> {
  const tagNames = new Map((await c.tags.find({ orgId }).toArray()).map((t) => [t._id, t.name]));
  const docs = await c.contacts.find(filter).sort({ sortName: 1, _id: 1 }).toArray();
  const attrs = [...new Set(docs.flatMap((d) => Object.keys(d.attributes)))].sort();
  res.status(200);
  res.setHeader('content-type', 'text/csv; charset=utf-8');
  res.setHeader('content-disposition', 'attachment; filename="contacts.csv"');
  res.write('\uFEFF' + stringify([[...FIXED, ...attrs.map((a) => `attr:${a}`)].map(neutralise)]));
  for (let i = 0; i < docs.length; i += BATCH) {
    const chunk = stringify(docs.slice(i, i + BATCH).map((d) => row(d, tagNames, attrs)));
    if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
  }
  res.end();
}
