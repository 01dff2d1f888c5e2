/** zod schemas of the contact routes (validation and /openapi.json). */
import { z } from 'zod';
import { wholeNumberQuery } from '@wacloud/kit';

export const contactId = z.string().regex(/^ct_[0-9a-f]{24}$/, 'must be a contact id (ct_ + 24 hex)');
export const tagId = z.string().regex(/^tag_[0-9a-f]{16}$/, 'must be a tag id (tag_ + 16 hex)');
export const importId = z.string().regex(/^imp_[0-9a-f]{24}$/, 'must be an import id (imp_ + 24 hex)');
const instanceId = z.string().regex(/^i-[a-z2-7]{12}$/, 'must be an instance id like i-abcdefgh2345');

export const contactParams = z.object({ id: contactId });
export const mergeParams = z.object({ id: contactId, mergedId: contactId });
export const tagParams = z.object({ id: tagId });
export const importParams = z.object({ id: importId });

const text = (max: number) => z.string().max(max);
const color = z
  .string()
  .regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like #1e88e5')
  .meta({ description: 'A colour, #rrggbb' });

export const listQuery = z
  .object({
    q: text(128).optional().meta({ description: 'Text in the display name or an email; digits also match phone prefixes' }),
    phone: text(32).optional().meta({ description: 'Phone prefix, digits with or without + (e.g. +5511 or 5511)' }),
    tag: tagId.optional().meta({ description: 'Only contacts with this tag' }),
    instanceId: instanceId.optional().meta({ description: 'Only contacts linked to this instance' }),
    favourites: z.enum(['true', 'false']).optional().meta({ description: 'true: only the caller’s pinned contacts' }),
    limit: wholeNumberQuery(200).meta({ description: 'Page size, 1–200 (default 50); pinned contacts come on top of it' }),
    cursor: z.string().max(600).optional().meta({ description: "The previous page's nextCursor; any other is 422 unknown_cursor" }),
  })
  .strict();

export const exportQuery = listQuery.omit({ limit: true, cursor: true, favourites: true });

export const byChatQuery = z
  .object({
    instanceId,
    chatId: z
      .string()
      .regex(/^\d{1,20}@(c\.us|lid)$/, 'must be a WhatsApp user id (…@c.us or …@lid)')
      .meta({ description: 'The chat id of a user on that instance' }),
  })
  .strict();

export const contactInput = z
  .object({
    name: text(200).nullable().optional(),
    phones: z.array(text(40)).max(20).optional().meta({ description: 'Phone numbers; local ones are read in the default country' }),
    emails: z.array(text(254)).max(20).optional(),
    company: text(200).nullable().optional(),
    notes: text(5000).nullable().optional(),
    attributes: z.record(z.string().min(1).max(64), text(2000)).optional().meta({ description: 'Custom attributes, name → text' }),
    tags: z.array(tagId).max(100).optional().meta({ description: 'Tag ids' }),
    externalId: text(200).nullable().optional().meta({ description: "The customer's own id (imports upsert by it)" }),
  })
  .strict();

export const identityView = z.object({
  instanceId: z.string(),
  waId: z.string(),
  name: z.string().optional(),
  pushname: z.string().optional(),
  phone: z.string().optional(),
  syncedAt: z.string(),
});

export const contactView = z.object({
  id: z.string(),
  displayName: z.string().meta({ description: 'name, else a WhatsApp name, else the first phone' }),
  name: z.string().nullable(),
  phones: z.array(z.string()).meta({ description: 'E.164' }),
  emails: z.array(z.string()),
  company: z.string().nullable(),
  notes: z.string().nullable(),
  attributes: z.record(z.string(), z.string()),
  tags: z.array(z.string()).meta({ description: 'Tag ids (GET /v1/contact-tags)' }),
  externalId: z.string().nullable(),
  source: z.enum(['whatsapp', 'import', 'manual']).meta({ description: 'Where the contact came from first' }),
  sources: z.array(z.enum(['whatsapp', 'import', 'manual'])),
  identities: z.array(identityView).meta({ description: 'WhatsApp ids linked to the contact, per instance' }),
  instanceIds: z.array(z.string()),
  favourite: z.boolean().meta({ description: 'Pinned by the caller' }),
  canEdit: z.boolean().meta({ description: 'The caller may edit it' }),
  merged: z
    .array(
      z.object({
        contactId: z.string(),
        displayName: z
          .string()
          .meta({ description: 'The merged contact’s name as it was (name, else a WhatsApp name, else its first phone)' }),
        at: z.string(),
      }),
    )
    .meta({ description: 'Contacts merged into this one (unmerge)' }),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const conversationRef = z.object({
  id: z.string(),
  instanceId: z.string(),
  chatId: z.string(),
  status: z.string().nullable(),
  lastActivityAt: z.string().nullable(),
});
export const contactDetail = contactView.extend({
  conversations: z.array(conversationRef).meta({ description: 'Conversations with the contact on the instances the caller sees' }),
});
export const contactPage = z.object({ items: z.array(contactView), nextCursor: z.string().nullable() });

export const mergeBody = z.object({ contactId: contactId.meta({ description: 'The contact merged into this one (deleted)' }) }).strict();
export const bulkTagBody = z
  .object({
    contactIds: z.array(contactId).min(1).max(1000),
    add: z.array(tagId).max(50).default([]),
    remove: z.array(tagId).max(50).default([]),
  })
  .strict();
export const bulkTagView = z.object({
  updated: z.number().int(),
  skipped: z.number().int().meta({ description: 'Not visible or not editable' }),
});

export const tagView = z.object({ id: z.string(), name: z.string(), color: z.string(), createdAt: z.string() });
const tagName = z.string().trim().min(1, 'must not be blank').max(64).meta({ pattern: '^\\S(?:.{0,62}\\S)?$' });
export const createTagBody = z.object({ name: tagName, color: color.optional() }).strict();
export const updateTagBody = z.object({ name: tagName.optional(), color: color.optional() }).strict();

export const settingsView = z.object({
  defaultCountry: z.string().nullable().meta({ description: 'ISO 3166-1 alpha-2 country of local numbers (e.g. BR), or null' }),
});
export const settingsBody = z
  .object({
    defaultCountry: z
      .string()
      .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code like BR')
      .nullable(),
  })
  .strict();

export const syncBody = z.object({ instanceId }).strict();
export const syncView = z.object({
  instanceId: z.string(),
  seen: z.number().int(),
  created: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
});

const columnName = z.string().min(1).max(200);
export const importMapping = z
  .object({
    name: columnName.optional(),
    phone: z.union([columnName, z.array(columnName).min(1).max(5)]).optional(),
    email: z.union([columnName, z.array(columnName).min(1).max(5)]).optional(),
    company: columnName.optional(),
    notes: columnName.optional(),
    tags: columnName.optional().meta({ description: 'Tag names separated by , ; or |' }),
    externalId: columnName.optional(),
    attributes: z.record(z.string().min(1).max(64), columnName).optional().meta({ description: 'Custom attribute name → column' }),
  })
  .strict()
  .meta({ description: 'Field → column of the file. A phone or an external id column is required.' });
export const mappingBody = z.object({ mapping: importMapping }).strict();

export const uploadJsonBody = z
  .object({
    format: z.enum(['csv', 'json']),
    content: z.string().min(1).meta({ description: 'The file as text (UTF-8)' }),
    filename: z.string().max(200).optional(),
  })
  .strict();
export const uploadForm = z
  .object({
    file: z.string().meta({ format: 'binary', description: 'The CSV or JSON file, at most 10 MB' }),
    format: z.enum(['csv', 'json']).optional().meta({ description: 'Default: from the file name, else its first character' }),
  })
  .strict();

const rowError = z.object({
  row: z.number().int().meta({ description: '1 = the first data row' }),
  code: z.enum(['invalid_phone', 'country_required', 'invalid_email', 'missing_key', 'phone_in_use', 'too_long']),
  column: z.string().optional(),
  value: z.string().optional(),
  message: z.string(),
});
export const importReport = z.object({
  rows: z.number().int(),
  new: z.number().int(),
  updates: z.number().int(),
  unchanged: z.number().int(),
  matchedWhatsApp: z.number().int().meta({ description: 'Rows matched to a contact synced from WhatsApp' }),
  invalidCount: z.number().int(),
  invalid: z.array(rowError).meta({ description: 'The first 1 000 invalid rows' }),
  duplicateCount: z.number().int(),
  duplicates: z
    .array(z.object({ row: z.number().int(), firstRow: z.number().int(), key: z.string() }))
    .meta({ description: 'The first 1 000 rows repeating an earlier row (phone, external id or contact)' }),
  tagsToCreate: z.array(z.string()),
});
export const commitReport = importReport.extend({ created: z.number().int(), updated: z.number().int() });
export const importView = z.object({
  id: z.string(),
  filename: z.string().nullable(),
  format: z.enum(['csv', 'json']),
  bytes: z.number().int(),
  columns: z.array(z.string()),
  rowCount: z.number().int(),
  sample: z.array(z.array(z.string())).meta({ description: 'The first 5 rows' }),
  suggestedMapping: z.record(z.string(), z.string()),
  status: z.enum(['uploaded', 'committed']),
  createdAt: z.string(),
  committedAt: z.string().nullable(),
  result: commitReport.nullable(),
});
export const tagList = z.object({ items: z.array(tagView) });
