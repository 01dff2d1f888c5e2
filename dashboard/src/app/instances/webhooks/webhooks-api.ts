import { HttpClient } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import { catchError, firstValueFrom, type Observable } from 'rxjs';
import { toApiError } from '../../core/api-error';
import { RUNTIME_CONFIG } from '../../core/config';
import type {
  GetWebhookResponses,
  ListWebhookDeliveriesResponses,
  PutWebhookData,
  PutWebhookResponses,
  ReplayWebhookDeliveryResponses,
  RotateWebhookSecretResponses,
  SendWebhookTestResponses,
} from '../../api/generated/api';

/** An instance's webhook settings (never the secret). */
export type WebhookSettings = GetWebhookResponses[200];
/** The settings after a change; `secret` only when one was generated (shown once). */
export type SavedWebhook = PutWebhookResponses[200];
/** A subscribable event type, or `*`. */
export type WebhookEvent = PutWebhookData['body']['events'][number];
/** One delivery of the log: status, HTTP answer, latency, attempts. */
export type WebhookDelivery = ListWebhookDeliveriesResponses[200]['items'][number];

/** The api's webhook routes of one instance (`/v1/instances/:id/webhook…`); every call rejects with an ApiError. */
@Injectable({ providedIn: 'root' })
export class WebhooksApi {
  private readonly http = inject(HttpClient);
  private readonly base = inject(RUNTIME_CONFIG).apiBaseUrl;

  private url(id: string, path = ''): string {
    return `${this.base}/v1/instances/${encodeURIComponent(id)}/webhook${path}`;
  }

  private call<T>(o: Observable<T>): Promise<T> {
    return firstValueFrom(
      o.pipe(
        catchError((e: unknown) => {
          throw toApiError(e);
        }),
      ),
    );
  }

  get(id: string): Promise<WebhookSettings> {
    return this.call(this.http.get<WebhookSettings>(this.url(id)));
  }
  save(id: string, body: PutWebhookData['body']): Promise<SavedWebhook> {
    return this.call(this.http.put<SavedWebhook>(this.url(id), body));
  }
  rotateSecret(id: string): Promise<string> {
    return this.call(this.http.post<RotateWebhookSecretResponses[200]>(this.url(id, '/secret'), null)).then((r) => r.secret);
  }
  sendTest(id: string): Promise<WebhookDelivery> {
    return this.call(this.http.post<SendWebhookTestResponses[202]>(this.url(id, '/test'), null));
  }
  deliveries(id: string, limit = 20): Promise<WebhookDelivery[]> {
    return this.call(
      this.http.get<ListWebhookDeliveriesResponses[200]>(this.url(id, '/deliveries'), { params: { limit: String(limit) } }),
    ).then((r) => r.items);
  }
  replay(id: string, deliveryId: string): Promise<WebhookDelivery> {
    return this.call(this.http.post<ReplayWebhookDeliveryResponses[200]>(this.url(id, `/deliveries/${deliveryId}/replay`), null));
  }
}
