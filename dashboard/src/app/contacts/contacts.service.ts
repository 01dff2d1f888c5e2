/**
 * The api's contact routes for the Contacts page, the import wizard and the inbox's contact card: contacts
 * (`/v1/contacts`), the organisation's tag catalogue (`/v1/contact-tags`) and CSV imports (`/v1/contact-imports`).
 * A thin layer: every call resolves to the typed body or rejects with an ApiError.
 */
import { HttpClient } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import { catchError, firstValueFrom, type Observable } from 'rxjs';
import { toApiError } from '../core/api-error';
import { RUNTIME_CONFIG } from '../core/config';
import type { ColumnMapping, ImportField } from './column-mapping';

/** A tag of the organisation's catalogue; `color` is a CSS colour (#rrggbb). */
export interface ContactTag {
  id: string;
  name: string;
  color: string;
}

/** A WhatsApp identity of a contact: its WhatsApp id on one instance (…@c.us or …@lid), with the names WhatsApp knows. */
export interface WhatsAppIdentity {
  instanceId: string;
  waId: string;
  name?: string;
  pushname?: string;
  phone?: string;
  syncedAt: string;
}

/** A contact of the organisation; phones in E.164 (+5511…), tags by id, `favourite` for the caller. */
export interface Contact {
  id: string;
  name: string | null;
  phones: string[];
  emails: string[];
  tags: string[];
  company: string | null;
  notes: string | null;
  identities: WhatsAppIdentity[];
  favourite: boolean;
  source: 'whatsapp' | 'import' | 'manual';
  createdAt: string;
  updatedAt: string;
}

/** What a person edits: the contact without its computed fields. */
export type ContactInput = Pick<Contact, 'name' | 'phones' | 'emails' | 'tags' | 'company' | 'notes'>;

export interface ContactPage {
  items: Contact[];
  nextCursor: string | null;
}

/** The search of the list: free text over name and phone, and a tag. */
export interface ContactQuery {
  q?: string;
  tag?: string;
  cursor?: string | null;
  limit?: number;
}

/** One problem row of an import preview: its line in the file, why it is left out, the value at fault. */
export interface ImportProblem {
  row: number;
  reason: 'invalid_phone' | 'duplicate_in_file' | 'missing_phone' | string;
  value?: string | null;
}

/** The preview report of an import: counts of what committing it would do, and the rows left out. */
export interface ImportPreview {
  id: string;
  total: number;
  valid: number;
  created: number;
  updated: number;
  matched: number;
  invalid: number;
  duplicates: number;
  problems: ImportProblem[];
  status: 'previewed' | 'committed';
}

/** An uploaded file: its id, the columns of its header row, how many rows follow, the first rows (sample). */
export interface ImportUpload {
  id: string;
  columns: string[];
  rowCount: number;
  sample?: string[][];
}

/** The field each column fills, by column name (columns left out are ignored). */
export type ImportMappingBody = Record<string, Exclude<ImportField, 'ignore'>>;

/** The mapping step's choice (one field per column index) as the api takes it. */
export function mappingBody(columns: readonly string[], mapping: ColumnMapping): ImportMappingBody {
  const body: ImportMappingBody = {};
  columns.forEach((col, i) => {
    const f = mapping[i];
    if (f && f !== 'ignore') body[col] = f;
  });
  return body;
}

@Injectable({ providedIn: 'root' })
export class ContactsApi {
  private readonly http = inject(HttpClient);
  private readonly base = inject(RUNTIME_CONFIG).apiBaseUrl;

  private call<T>(o: Observable<T>): Promise<T> {
    return firstValueFrom(
      o.pipe(
        catchError((e: unknown) => {
          throw toApiError(e);
        }),
      ),
    );
  }

  private url(path: string): string {
    return this.base + path;
  }

  /** One page of contacts, favourites first, then by name. */
  list(query: ContactQuery = {}): Promise<ContactPage> {
    const params: Record<string, string> = {};
    if (query.q) params['q'] = query.q;
    if (query.tag) params['tag'] = query.tag;
    if (query.cursor) params['cursor'] = query.cursor;
    if (query.limit) params['limit'] = String(query.limit);
    return this.call(this.http.get<ContactPage>(this.url('/v1/contacts'), { params }));
  }
  get(id: string): Promise<Contact> {
    return this.call(this.http.get<Contact>(this.url(`/v1/contacts/${encodeURIComponent(id)}`)));
  }
  /** The contact behind a chat of an instance, or null when none is known. */
  async forChat(instanceId: string, chatId: string): Promise<Contact | null> {
    const page = await this.call(this.http.get<ContactPage>(this.url('/v1/contacts'), { params: { instanceId, chatId, limit: '1' } }));
    return page.items[0] ?? null;
  }
  create(body: ContactInput): Promise<Contact> {
    return this.call(this.http.post<Contact>(this.url('/v1/contacts'), body));
  }
  update(id: string, body: Partial<ContactInput>): Promise<Contact> {
    return this.call(this.http.patch<Contact>(this.url(`/v1/contacts/${encodeURIComponent(id)}`), body));
  }
  remove(id: string): Promise<void> {
    return this.call(this.http.delete<void>(this.url(`/v1/contacts/${encodeURIComponent(id)}`)));
  }
  /** Pins or unpins the contact as the caller's favourite. */
  setFavourite(id: string, favourite: boolean): Promise<void> {
    const u = this.url(`/v1/contacts/${encodeURIComponent(id)}/favourite`);
    return this.call(favourite ? this.http.put<void>(u, null) : this.http.delete<void>(u));
  }
  /** Merges `others` into `id` (phones, tags, identities joined); the merged contact. */
  merge(id: string, others: string[]): Promise<Contact> {
    return this.call(this.http.post<Contact>(this.url(`/v1/contacts/${encodeURIComponent(id)}/merge`), { contactIds: others }));
  }
  /** Every contact as a CSV file. */
  export(): Promise<Blob> {
    return this.call(this.http.get(this.url('/v1/contacts/export'), { responseType: 'blob' }));
  }

  tags(): Promise<ContactTag[]> {
    return this.call(this.http.get<{ items: ContactTag[] }>(this.url('/v1/contact-tags'))).then((r) => r.items);
  }
  createTag(name: string, color: string): Promise<ContactTag> {
    return this.call(this.http.post<ContactTag>(this.url('/v1/contact-tags'), { name, color }));
  }

  /** Uploads a CSV file (kept by the api until committed); its columns and row count. Nothing is imported yet. */
  async upload(file: File): Promise<ImportUpload> {
    const csv = await file.text();
    return this.call(this.http.post<ImportUpload>(this.url('/v1/contact-imports'), { filename: file.name, csv }));
  }
  /** What importing the upload with `mapping` would do: the preview report (nothing is written). */
  preview(id: string, mapping: ImportMappingBody): Promise<ImportPreview> {
    return this.call(this.http.post<ImportPreview>(this.url(`/v1/contact-imports/${encodeURIComponent(id)}/preview`), { mapping }));
  }
  /** Imports the upload with `mapping`; the final report. */
  commit(id: string, mapping: ImportMappingBody): Promise<ImportPreview> {
    return this.call(this.http.post<ImportPreview>(this.url(`/v1/contact-imports/${encodeURIComponent(id)}/commit`), { mapping }));
  }
}
