/**
 * The api's contact routes for the Contacts page, the import wizard and the inbox's contact card: contacts
 * (`/v1/contacts`), the organisation's tag catalogue (`/v1/contact-tags`) and CSV imports (`/v1/contact-imports`).
 * A thin layer: every call resolves to the typed body or rejects with an ApiError.
 */
import { HttpClient, HttpErrorResponse } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import { catchError, firstValueFrom } from 'rxjs';
import { apiCall, toApiError } from '../core/api-error';
import { RUNTIME_CONFIG } from '../core/config';
import type {
  BulkTagContactsResponses,
  CommitContactImportResponses,
  CreateContactData,
  CreateContactResponses,
  GetContactByChatResponses,
  GetContactResponses,
  GetContactSettingsResponses,
  ListContactsData,
  ListContactsResponses,
  ListContactTagsResponses,
  MergeContactsResponses,
  PreviewContactImportData,
  PreviewContactImportResponses,
  UnmergeContactsResponses,
  UpdateContactResponses,
  UploadContactImportResponses,
} from '../api/generated/api';
import type { ColumnMapping } from './column-mapping';

/** A tag of the organisation's catalogue; `color` is #rrggbb. */
export type ContactTag = ListContactTagsResponses[200]['items'][number];
/** A contact as the caller sees it: phones in E.164, tags by id, `favourite` (pinned by the caller), `displayName`. */
export type Contact = ListContactsResponses[200]['items'][number];
/** One contact with its conversations (GET /v1/contacts/{id}, /v1/contacts/by-chat). */
export type ContactDetail = GetContactResponses[200];
/** A WhatsApp identity of a contact: its WhatsApp id on one instance, with the names WhatsApp knows. */
export type WhatsAppIdentity = Contact['identities'][number];
/** What a person edits (POST /v1/contacts, PATCH /v1/contacts/{id}). */
export type ContactInput = CreateContactData['body'];
export type ContactPage = ListContactsResponses[200];
/** The search of the list: text (name, e-mail, phone digits), tag, favourites only, page. */
export type ContactQuery = NonNullable<ListContactsData['query']>;
/** An uploaded file: its id, columns, row count and first rows. */
export type ImportUpload = UploadContactImportResponses[201];
/** Field → column(s) of the file. */
export type ImportMapping = PreviewContactImportData['body']['mapping'];
/** The preview report (nothing written). */
export type ImportReport = PreviewContactImportResponses[200];
/** The report of a commit: the preview's counts plus what was written. */
export type CommitReport = CommitContactImportResponses[200];
/** The answer to a bulk tagging: contacts changed, and those skipped (not editable by the caller). */
export type BulkTagResult = BulkTagContactsResponses[200];
/** The answer to an unmerge: the kept contact as it is now, and the one restored (with its old id). */
export type UnmergeResult = UnmergeContactsResponses[200];
/** The organisation's contact settings: the default country of local numbers (ISO 3166-1 alpha-2) or null. */
export type ContactSettings = GetContactSettingsResponses[200];
/** One invalid row of a report. */
export type ImportRowError = ImportReport['invalid'][number];

/** The mapping step's choice (one field per column index) as the api takes it: field → column (phone, e-mail: several). */
export function mappingBody(columns: readonly string[], mapping: ColumnMapping): ImportMapping {
  const body: ImportMapping = {};
  const phones: string[] = [];
  const emails: string[] = [];
  columns.forEach((col, i) => {
    const f = mapping[i];
    if (f === 'phone') phones.push(col);
    else if (f === 'email') emails.push(col);
    else if (f && f !== 'ignore') body[f] = col;
  });
  if (phones.length) body.phone = phones.length === 1 ? phones[0]! : phones;
  if (emails.length) body.email = emails.length === 1 ? emails[0]! : emails;
  return body;
}

@Injectable({ providedIn: 'root' })
export class ContactsApi {
  private readonly http = inject(HttpClient);
  private readonly base = inject(RUNTIME_CONFIG).apiBaseUrl;

  private readonly call = apiCall;

  private url(path: string): string {
    return this.base + path;
  }

  /** One page of contacts by display name; on the first page the caller's pinned contacts come first. */
  list(query: ContactQuery = {}): Promise<ContactPage> {
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params[k] = String(v);
    return this.call(this.http.get<ContactPage>(this.url('/v1/contacts'), { params }));
  }
  get(id: string): Promise<ContactDetail> {
    return this.call(this.http.get<ContactDetail>(this.url(`/v1/contacts/${encodeURIComponent(id)}`)));
  }
  /** The contact behind a chat of an instance, or null when there is none (404 `contact_not_found`). */
  forChat(instanceId: string, chatId: string): Promise<ContactDetail | null> {
    return firstValueFrom(
      this.http.get<GetContactByChatResponses[200]>(this.url('/v1/contacts/by-chat'), { params: { instanceId, chatId } }).pipe(
        catchError((e: unknown) => {
          if (e instanceof HttpErrorResponse && e.status === 404) return [null];
          throw toApiError(e);
        }),
      ),
    );
  }
  create(body: ContactInput): Promise<Contact> {
    return this.call(this.http.post<CreateContactResponses[201]>(this.url('/v1/contacts'), body));
  }
  update(id: string, body: ContactInput): Promise<Contact> {
    return this.call(this.http.patch<UpdateContactResponses[200]>(this.url(`/v1/contacts/${encodeURIComponent(id)}`), body));
  }
  remove(id: string): Promise<void> {
    return this.call(this.http.delete<void>(this.url(`/v1/contacts/${encodeURIComponent(id)}`)));
  }
  /** Pins or unpins the contact for the caller (both idempotent). */
  setFavourite(id: string, favourite: boolean): Promise<void> {
    const u = this.url(`/v1/contacts/${encodeURIComponent(id)}/favourite`);
    return this.call(favourite ? this.http.put<void>(u, null) : this.http.delete<void>(u));
  }
  /** Merges `others` into `id` one by one (phones, e-mails, tags, identities joined); the kept contact. */
  async merge(id: string, others: string[]): Promise<Contact> {
    let kept: Contact | undefined;
    for (const other of others)
      kept = await this.call(
        this.http.post<MergeContactsResponses[200]>(this.url(`/v1/contacts/${encodeURIComponent(id)}/merge`), { contactId: other }),
      );
    return kept ?? this.get(id);
  }
  /** Undoes the merge of `mergedId` into `id`: the merged contact comes back with its id. */
  unmerge(id: string, mergedId: string): Promise<UnmergeResult> {
    const u = this.url(`/v1/contacts/${encodeURIComponent(id)}/unmerge/${encodeURIComponent(mergedId)}`);
    return this.call(this.http.post<UnmergeResult>(u, null));
  }
  /** Adds tags `add` to and removes tags `remove` from every contact of `ids` (at most 1 000); those the caller cannot edit are skipped. */
  bulkTag(ids: string[], add: string[], remove: string[]): Promise<BulkTagResult> {
    return this.call(this.http.post<BulkTagResult>(this.url('/v1/contacts/bulk-tag'), { contactIds: ids, add, remove }));
  }
  /** The contacts the caller sees as a CSV file. */
  export(): Promise<Blob> {
    return this.call(this.http.get(this.url('/v1/contacts/export'), { responseType: 'blob' }));
  }

  tags(): Promise<ContactTag[]> {
    return this.call(this.http.get<ListContactTagsResponses[200]>(this.url('/v1/contact-tags'))).then((r) => r.items);
  }
  createTag(name: string, color: string): Promise<ContactTag> {
    return this.call(this.http.post<ContactTag>(this.url('/v1/contact-tags'), { name, color }));
  }
  /** Removes a tag from the catalogue (and from every contact). */
  deleteTag(id: string): Promise<void> {
    return this.call(this.http.delete<void>(this.url(`/v1/contact-tags/${encodeURIComponent(id)}`)));
  }

  settings(): Promise<ContactSettings> {
    return this.call(this.http.get<ContactSettings>(this.url('/v1/contact-settings')));
  }
  /** Sets the default country of local numbers (owners and admins; 422 `unknown_country`). */
  setSettings(body: ContactSettings): Promise<ContactSettings> {
    return this.call(this.http.put<ContactSettings>(this.url('/v1/contact-settings'), body));
  }

  /** Uploads a CSV file (kept by the api until committed); its columns, row count and first rows. Nothing is imported yet. */
  async upload(file: File): Promise<ImportUpload> {
    const content = await file.text();
    return this.call(this.http.post<ImportUpload>(this.url('/v1/contact-imports'), { format: 'csv', content, filename: file.name }));
  }
  /** What importing the upload with `mapping` would do: the preview report (nothing is written). */
  preview(id: string, mapping: ImportMapping): Promise<ImportReport> {
    return this.call(this.http.post<ImportReport>(this.url(`/v1/contact-imports/${encodeURIComponent(id)}/preview`), { mapping }));
  }
  /** Imports the upload with `mapping` (again changes nothing); the report with what was written. */
  commit(id: string, mapping: ImportMapping): Promise<CommitReport> {
    return this.call(this.http.post<CommitReport>(this.url(`/v1/contact-imports/${encodeURIComponent(id)}/commit`), { mapping }));
  }
}
