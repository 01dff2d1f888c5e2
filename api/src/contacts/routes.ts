/**
 * The contact book's endpoints (`/v1/contacts…`, `/v1/contact-settings`); imports and tags are in `routes-import.ts`.
 * Every route is member-authenticated; what a member sees and edits: `rights.ts`.
 */
import { defineRoute, type RouteDef } from '@wacloud/kit';
import { z } from 'zod';
import type { AuthContext } from '../accounts.js';
import { requireAdmin, requireRight } from '../orgs/access.js';
import * as s from '../schemas.js';
import type { ContactBook } from './book.js';
import { exportCsv } from './export.js';
import type { ContactFavourites } from './favourites.js';
import type { ContactMerges } from './merge.js';
import { listFilter } from './book.js';
import { isCountry } from './normalise.js';
import { AppError } from '../errors.js';
import type { ContactCollections } from './store.js';
import type { ContactSync } from './sync.js';
import * as c from './schemas.js';

export interface ContactRouteDeps {
  collections: ContactCollections;
  book: ContactBook;
  merges: ContactMerges;
  favourites: ContactFavourites;
  sync: ContactSync;
}

const route = defineRoute<AuthContext>();
const err = (description: string) => ({ description, schema: s.errorResponse });
const authErr = { 401: err('Missing, invalid, expired or revoked access token') };
const notFound = { 404: err('`contact_not_found`: no such contact, or one the caller cannot see') };
const editErr = { 403: err('`right_required`: editing needs canWrite on one of the contact’s instances (or owner/admin)') };
const inputErr = {
  400: err('`invalid_request`: a field breaks the schema'),
  422: err('`invalid_contact`: a phone or email cannot be read (details list each: `invalid_phone`, `country_required`, `invalid_email`)'),
};
const tags = ['contacts'];

export function contactRoutes(d: ContactRouteDeps): RouteDef[] {
  return [
    route({
      method: 'get',
      path: '/v1/contacts',
      operationId: 'listContacts',
      tags,
      scope: 'user',
      summary: 'The contacts the caller sees, by display name; on the first page the caller’s pinned contacts come first',
      query: c.listQuery,
      responses: {
        200: { description: 'A page of contacts', schema: c.contactPage },
        400: err('`invalid_request`'),
        422: err('`unknown_cursor`: not a nextCursor of this list; start again without it'),
        ...authErr,
      },
      handler: ({ auth, query }) => d.book.list(auth, { ...query, favourites: query.favourites === 'true' }),
    }),
    route({
      method: 'post',
      path: '/v1/contacts',
      operationId: 'createContact',
      tags,
      scope: 'user',
      summary: 'Create a contact by hand; a phone or external id that is a contact already adds to that contact instead',
      body: c.contactInput,
      responses: {
        201: { description: 'The contact', schema: c.contactView },
        ...inputErr,
        403: err('`right_required`: needs canWrite on an instance (or owner/admin)'),
        404: err('`tag_not_found`'),
        ...authErr,
      },
      handler: ({ auth, body }) => d.book.create(auth, body),
    }),
    route({
      method: 'get',
      path: '/v1/contacts/export',
      operationId: 'exportContacts',
      tags,
      scope: 'user',
      summary: 'The contacts the caller sees (list filters) as CSV; cells starting with = + - @ are prefixed with a quote',
      query: c.exportQuery,
      responses: {
        200: { description: 'CSV (UTF-8 with BOM)', contentType: 'text/csv', schema: z.string() },
        400: err('`invalid_request`'),
        ...authErr,
      },
      handler: async ({ auth, query, res }) => {
        await exportCsv(d.collections, auth.orgId, listFilter(auth, { ...query, favourites: undefined }), res);
      },
    }),
    route({
      method: 'get',
      path: '/v1/contacts/by-chat',
      operationId: 'getContactByChat',
      tags,
      scope: 'user',
      summary: 'The contact of a chat on an instance (the inbox’s contact card)',
      query: c.byChatQuery,
      responses: {
        200: { description: 'The contact with its conversations', schema: c.contactDetail },
        400: err('`invalid_request`'),
        404: err('`contact_not_found`: no contact for this chat (not synced yet), or the caller cannot see it'),
        ...authErr,
      },
      handler: ({ auth, query }) => d.book.byChat(auth, query.instanceId, query.chatId),
    }),
    route({
      method: 'post',
      path: '/v1/contacts/bulk-tag',
      operationId: 'bulkTagContacts',
      tags,
      scope: 'user',
      summary: 'Add and remove tags on many contacts; those the caller cannot edit are skipped and counted',
      body: c.bulkTagBody,
      responses: {
        200: { description: 'Counts', schema: c.bulkTagView },
        400: err('`invalid_request`'),
        404: err('`tag_not_found`'),
        ...authErr,
      },
      handler: ({ auth, body }) => d.book.bulkTag(auth, body.contactIds, body.add, body.remove),
    }),
    route({
      method: 'post',
      path: '/v1/contacts/sync',
      operationId: 'syncContacts',
      tags,
      scope: 'user',
      summary: 'Pull an instance’s WhatsApp contacts into the book now (it also happens after each login and periodically)',
      body: c.syncBody,
      responses: {
        200: { description: 'What the pull did', schema: c.syncView },
        400: err('`invalid_request`'),
        403: err('`role_required`: owners and admins'),
        404: err('`instance_not_found`'),
        409: err('`instance_suspended`, `instance_stopped`'),
        502: err('`upstream_error`'),
        503: err('`instance_unavailable`'),
        ...authErr,
      },
      handler: async ({ auth, body }) => {
        requireRight(auth, body.instanceId, 'canRead');
        requireAdmin(auth);
        return d.sync.sync(auth.orgId, body.instanceId);
      },
    }),
    route({
      method: 'get',
      path: '/v1/contacts/:id',
      operationId: 'getContact',
      tags,
      scope: 'user',
      summary: 'One contact with its WhatsApp identities and its conversations across instances',
      params: c.contactParams,
      responses: {
        200: { description: 'The contact', schema: c.contactDetail },
        400: err('`invalid_request`'),
        ...notFound,
        ...authErr,
      },
      handler: ({ auth, params }) => d.book.get(auth, params.id),
    }),
    route({
      method: 'patch',
      path: '/v1/contacts/:id',
      operationId: 'updateContact',
      tags,
      scope: 'user',
      summary: 'Edit a contact: given fields replace the stored ones (null clears); numbers WhatsApp reports stay',
      params: c.contactParams,
      body: c.contactInput,
      responses: {
        200: { description: 'The contact', schema: c.contactView },
        ...inputErr,
        ...editErr,
        404: err('`contact_not_found`, `tag_not_found`'),
        409: err('`phone_in_use`: a phone belongs to another contact (details contactId); merge them instead'),
        ...authErr,
      },
      handler: ({ auth, params, body }) => d.book.update(auth, params.id, body),
    }),
    route({
      method: 'delete',
      path: '/v1/contacts/:id',
      operationId: 'deleteContact',
      tags,
      scope: 'user',
      summary: 'Delete a contact (a synced one comes back at the next sync)',
      params: c.contactParams,
      responses: { 204: { description: 'Deleted' }, 400: err('`invalid_request`'), ...editErr, ...notFound, ...authErr },
      handler: ({ auth, params }) => d.book.remove(auth, params.id),
    }),
    route({
      method: 'post',
      path: '/v1/contacts/:id/merge',
      operationId: 'mergeContacts',
      tags,
      scope: 'user',
      summary: 'Merge another contact into this one (audited; undone by unmerge)',
      params: c.contactParams,
      body: c.mergeBody,
      responses: {
        200: { description: 'The kept contact', schema: c.contactView },
        400: err('`invalid_request`'),
        422: err('`merge_with_itself`: contactId is the contact of the path'),
        ...editErr,
        ...notFound,
        ...authErr,
      },
      handler: async ({ auth, params, body }) => {
        const kept = await d.merges.merge(auth, params.id, body.contactId);
        return d.book.view(auth, kept, (await d.favourites.ids(auth)).has(kept._id));
      },
    }),
    route({
      method: 'post',
      path: '/v1/contacts/:id/unmerge/:mergedId',
      operationId: 'unmergeContacts',
      tags,
      scope: 'user',
      summary: 'Undo the merge of contact mergedId into this one: it comes back with its id (audited)',
      params: c.mergeParams,
      responses: {
        200: { description: 'Both contacts', schema: z.object({ kept: c.contactView, restored: c.contactView }) },
        400: err('`invalid_request`'),
        ...editErr,
        404: err('`contact_not_found`; `merge_not_found`: mergedId was not merged into this contact'),
        ...authErr,
      },
      handler: async ({ auth, params }) => {
        const r = await d.merges.unmerge(auth, params.id, params.mergedId);
        const pins = await d.favourites.ids(auth);
        return { kept: d.book.view(auth, r.kept, pins.has(r.kept._id)), restored: d.book.view(auth, r.restored, pins.has(r.restored._id)) };
      },
    }),
    route({
      method: 'put',
      path: '/v1/contacts/:id/favourite',
      operationId: 'pinContact',
      tags,
      scope: 'user',
      summary: 'Pin a contact for the caller (idempotent); pinned contacts head the caller’s lists',
      params: c.contactParams,
      responses: { 204: { description: 'Pinned' }, 400: err('`invalid_request`'), ...notFound, ...authErr },
      handler: async ({ auth, params }) => {
        await d.book.doc(auth, params.id);
        await d.favourites.pin(auth, params.id);
      },
    }),
    route({
      method: 'delete',
      path: '/v1/contacts/:id/favourite',
      operationId: 'unpinContact',
      tags,
      scope: 'user',
      summary: 'Unpin a contact (idempotent)',
      params: c.contactParams,
      responses: { 204: { description: 'Unpinned' }, 400: err('`invalid_request`'), ...authErr },
      handler: ({ auth, params }) => d.favourites.unpin(auth, params.id),
    }),
    route({
      method: 'get',
      path: '/v1/contact-settings',
      operationId: 'getContactSettings',
      tags,
      scope: 'user',
      summary: 'The organisation’s contact settings: the default country of local phone numbers',
      responses: { 200: { description: 'Settings', schema: c.settingsView }, ...authErr },
      handler: async ({ auth }) => ({ defaultCountry: await d.book.defaultCountry(auth.orgId) }),
    }),
    route({
      method: 'put',
      path: '/v1/contact-settings',
      operationId: 'setContactSettings',
      tags,
      scope: 'user',
      summary: 'Set the default country of local phone numbers (owners and admins)',
      body: c.settingsBody,
      responses: {
        200: { description: 'Settings', schema: c.settingsView },
        400: err('`invalid_request`'),
        422: err('`unknown_country`: not a country code libphonenumber knows (details field, problem)'),
        403: err('`role_required`'),
        ...authErr,
      },
      handler: ({ auth, body }) => {
        if (body.defaultCountry !== null && !isCountry(body.defaultCountry))
          throw new AppError('unknown_country', `Unknown country code ${body.defaultCountry}.`, [
            { in: 'body', field: 'defaultCountry', problem: 'unknown country' },
          ]);
        return d.book.setDefaultCountry(auth, body.defaultCountry);
      },
    }),
  ];
}
