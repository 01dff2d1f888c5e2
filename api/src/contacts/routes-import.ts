/**
 * Endpoints of contact imports (`/v1/contact-imports`: upload, preview, commit; owners and admins) and of the tag
 * catalogue (`/v1/contact-tags`). An upload is multipart (part `file`, at most 10 MB, streamed into memory and
 * refused as soon as it passes the limit) or JSON `{format, content}` (up to the JSON body limit).
 */
import type { Request, Response } from 'express';
import multer from 'multer';
import { defineRoute, type RouteDef } from '@wacloud/kit';
import type { AuthContext } from '../accounts.js';
import { AppError } from '../errors.js';
import { requireAdmin } from '../orgs/access.js';
import * as s from '../schemas.js';
import { MAX_IMPORT_BYTES } from './import-parse.js';
import type { ContactImports } from './imports.js';
import * as c from './schemas.js';
import type { ContactTags } from './tags.js';

export interface ImportRouteDeps {
  imports: ContactImports;
  tags: ContactTags;
}

const route = defineRoute<AuthContext>();
const err = (description: string) => ({ description, schema: s.errorResponse });
const authErr = { 401: err('Missing, invalid, expired or revoked access token') };
const roleErr = { 403: err('`role_required`: owners and admins') };
const mappingErr = {
  400: err('`invalid_request`: an invalid body'),
  422: err(
    '`unknown_column`: the mapping names a column the file does not have (details field, column, columns); ' +
      '`match_column_required`: neither a phone nor an external id column is mapped',
  ),
};

const upload = multer({
  storage: multer.memoryStorage(),
  limits: { fileSize: MAX_IMPORT_BYTES, files: 1, fields: 2, fieldSize: 64, parts: 3 },
}).single('file');

/** Reads the multipart upload. @throws AppError `import_too_large` (413), `invalid_request` (400). */
async function readUpload(req: Request, res: Response): Promise<{ data: Buffer; filename: string | null; format?: 'csv' | 'json' }> {
  await new Promise<void>((resolve, reject) => upload(req, res, (e: unknown) => (e ? reject(e) : resolve()))).catch((e: unknown) => {
    if (e instanceof multer.MulterError) {
      if (e.code === 'LIMIT_FILE_SIZE') throw new AppError('import_too_large', undefined, { maxBytes: MAX_IMPORT_BYTES });
      throw new AppError('invalid_request', `Invalid multipart form: ${e.message}${e.field ? ` (${e.field})` : ''}.`);
    }
    throw new AppError('invalid_request', `Invalid multipart form: ${(e as Error).message}.`);
  });
  if (!req.file) throw new AppError('invalid_request', 'The form has no file part named "file".');
  const format = (req.body as { format?: unknown } | undefined)?.format;
  if (format !== undefined && format !== 'csv' && format !== 'json') throw new AppError('invalid_request', 'format must be csv or json.');
  return { data: req.file.buffer, filename: req.file.originalname || null, ...(format ? { format } : {}) };
}

export function importRoutes(d: ImportRouteDeps): RouteDef[] {
  return [
    route({
      method: 'post',
      path: '/v1/contact-imports',
      operationId: 'uploadContactImport',
      tags: ['contacts'],
      scope: 'user',
      summary: 'Upload a contact table (CSV or JSON, UTF-8 with or without BOM, at most 10 MB) for preview and commit',
      description:
        'multipart/form-data with the file in the part `file` (and optionally `format`), or JSON `{format, content}`. ' +
        'The answer has the columns, the first rows and a suggested mapping.',
      body: c.uploadJsonBody,
      multipart: { schema: c.uploadForm },
      responses: {
        201: { description: 'The upload', schema: c.importView },
        400: err('`invalid_request`: an invalid body or form'),
        422: err('`invalid_file`: not UTF-8, empty, malformed CSV (details line) or JSON, no header, a column twice'),
        ...roleErr,
        413: err('`import_too_large`: over 10 MB; `payload_too_large`: a JSON body over the body limit (use multipart)'),
        ...authErr,
      },
      handler: async ({ auth, body, req, res }) => {
        requireAdmin(auth);
        if (body) return d.imports.upload(auth, Buffer.from(body.content, 'utf8'), body.filename ?? null, body.format);
        const f = await readUpload(req, res);
        return d.imports.upload(auth, f.data, f.filename, f.format);
      },
    }),
    route({
      method: 'get',
      path: '/v1/contact-imports/:id',
      operationId: 'getContactImport',
      tags: ['contacts'],
      scope: 'user',
      summary: 'An upload: its columns, first rows, suggested mapping and, once committed, its report',
      params: c.importParams,
      responses: {
        200: { description: 'The upload', schema: c.importView },
        400: err('`invalid_request`'),
        ...roleErr,
        404: err('`import_not_found`'),
        ...authErr,
      },
      handler: ({ auth, params }) => d.imports.get(auth, params.id),
    }),
    route({
      method: 'post',
      path: '/v1/contact-imports/:id/preview',
      operationId: 'previewContactImport',
      tags: ['contacts'],
      scope: 'user',
      summary: 'What importing with this mapping would do: new, updates, unchanged, matched to WhatsApp, invalid and duplicate rows',
      params: c.importParams,
      body: c.mappingBody,
      responses: {
        200: { description: 'The match report (nothing written)', schema: c.importReport },
        ...mappingErr,
        ...roleErr,
        404: err('`import_not_found`'),
        ...authErr,
      },
      handler: ({ auth, params, body }) => d.imports.preview(auth, params.id, body.mapping),
    }),
    route({
      method: 'post',
      path: '/v1/contact-imports/:id/commit',
      operationId: 'commitContactImport',
      tags: ['contacts'],
      scope: 'user',
      summary: 'Import with this mapping (audited); again, or the same file again, changes nothing',
      params: c.importParams,
      body: c.mappingBody,
      responses: {
        200: { description: 'The report with what was written', schema: c.commitReport },
        ...mappingErr,
        ...roleErr,
        404: err('`import_not_found`'),
        ...authErr,
      },
      handler: ({ auth, params, body }) => d.imports.commit(auth, params.id, body.mapping),
    }),
    route({
      method: 'get',
      path: '/v1/contact-tags',
      operationId: 'listContactTags',
      tags: ['contacts'],
      scope: 'user',
      summary: 'The organisation’s tag catalogue, by name',
      responses: { 200: { description: 'Tags', schema: c.tagList }, ...authErr },
      handler: async ({ auth }) => ({ items: await d.tags.list(auth.orgId) }),
    }),
    route({
      method: 'post',
      path: '/v1/contact-tags',
      operationId: 'createContactTag',
      tags: ['contacts'],
      scope: 'user',
      summary: 'Add a tag to the catalogue (a colour is chosen when none is given)',
      body: c.createTagBody,
      responses: {
        201: { description: 'The tag', schema: c.tagView },
        400: err('`invalid_request`'),
        403: err('`right_required`: needs canWrite on an instance (or owner/admin)'),
        409: err('`tag_name_taken`'),
        ...authErr,
      },
      handler: ({ auth, body }) => d.tags.create(auth, body.name, body.color),
    }),
    route({
      method: 'patch',
      path: '/v1/contact-tags/:id',
      operationId: 'updateContactTag',
      tags: ['contacts'],
      scope: 'user',
      summary: 'Rename or recolour a tag (owners and admins)',
      params: c.tagParams,
      body: c.updateTagBody,
      responses: {
        200: { description: 'The tag', schema: c.tagView },
        400: err('`invalid_request`'),
        ...roleErr,
        404: err('`tag_not_found`'),
        409: err('`tag_name_taken`'),
        ...authErr,
      },
      handler: ({ auth, params, body }) => d.tags.update(auth, params.id, body),
    }),
    route({
      method: 'delete',
      path: '/v1/contact-tags/:id',
      operationId: 'deleteContactTag',
      tags: ['contacts'],
      scope: 'user',
      summary: 'Remove a tag from the catalogue and from every contact (owners and admins)',
      params: c.tagParams,
      responses: { 204: { description: 'Removed' }, 400: err('`invalid_request`'), ...roleErr, 404: err('`tag_not_found`'), ...authErr },
      handler: ({ auth, params }) => d.tags.remove(auth, params.id),
    }),
  ];
}
