import { ChangeDetectionStrategy, Component, computed, inject, input, signal, type OnInit } from '@angular/core';
import { toApiError } from '../../core/api-error';
import { checkedOf, valueOf } from '../../shared/dom';
import { formatDate } from '../../shared/format';
import { poll } from '../../shared/poll';
import { WebhooksApi, type WebhookDelivery, type WebhookEvent, type WebhookSettings } from './webhooks-api';

/** The events a tenant can subscribe to, with what each one is. */
const EVENTS: { event: Exclude<WebhookEvent, '*'>; label: string }[] = [
  { event: 'message', label: $localize`:@@webhooks.event.message:Incoming messages` },
  { event: 'message.any', label: $localize`:@@webhooks.event.messageAny:Every message, sent ones included` },
  { event: 'message.ack', label: $localize`:@@webhooks.event.ack:Delivery and read receipts` },
  { event: 'session.status', label: $localize`:@@webhooks.event.session:Session state changes` },
];

/** How often the delivery log is read again while a delivery is pending, ms. */
const LOG_POLL_MS = 1_500;

/**
 * The instance page's Webhooks section: receiver URL and events, the signing secret (shown once, rotatable), a test
 * event, and the delivery log with replay of failed deliveries.
 */
@Component({
  selector: 'app-instance-webhooks',
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './instance-webhooks.html',
  styleUrl: './instance-webhooks.css',
})
export class InstanceWebhooks implements OnInit {
  private readonly api = inject(WebhooksApi);
  readonly instanceId = input.required<string>();

  readonly settings = signal<WebhookSettings | null>(null);
  readonly loadError = signal<string | null>(null);
  readonly url = signal('');
  readonly events = signal<ReadonlySet<string>>(new Set(['message']));
  readonly saving = signal(false);
  readonly saveError = signal<string | null>(null);
  readonly saved = signal(false);
  /** A secret just generated or rotated: shown until dismissed, never again. */
  readonly secret = signal<string | null>(null);
  readonly confirmingRotate = signal(false);
  readonly busy = signal<string | null>(null);
  readonly actionError = signal<string | null>(null);
  readonly deliveries = signal<WebhookDelivery[] | null>(null);
  readonly pending = computed(() => (this.deliveries() ?? []).some((d) => d.status === 'pending'));

  protected readonly eventList = EVENTS;
  protected readonly valueOf = valueOf;
  protected readonly checkedOf = checkedOf;
  protected readonly date = formatDate;

  private readonly logPoll = poll(async () => {
    if (this.pending()) await this.loadLog();
  }, LOG_POLL_MS);

  ngOnInit(): void {
    void this.load();
  }

  async load(): Promise<void> {
    this.loadError.set(null);
    try {
      const s = await this.api.get(this.instanceId());
      this.settings.set(s);
      this.url.set(s.url ?? '');
      if (s.url) this.events.set(new Set(s.events));
      await this.loadLog();
    } catch (e) {
      this.loadError.set(toApiError(e).message);
    }
  }

  async loadLog(): Promise<void> {
    try {
      this.deliveries.set(await this.api.deliveries(this.instanceId()));
    } catch (e) {
      this.actionError.set(toApiError(e).message);
    }
  }

  toggle(event: string, on: boolean): void {
    this.events.update((s) => {
      const next = new Set(s);
      if (on) next.add(event);
      else next.delete(event);
      return next;
    });
  }

  async save(): Promise<void> {
    const url = this.url().trim();
    this.saving.set(true);
    this.saveError.set(null);
    this.saved.set(false);
    try {
      const events = EVENTS.map((e) => e.event).filter((e) => this.events().has(e));
      const r = await this.api.save(this.instanceId(), { url: url || null, events });
      const { secret, ...view } = r;
      this.settings.set(view);
      if (secret) this.secret.set(secret);
      this.saved.set(true);
    } catch (e) {
      this.saveError.set(toApiError(e).message);
    } finally {
      this.saving.set(false);
    }
  }

  async rotate(): Promise<void> {
    await this.act('rotate', async () => {
      this.secret.set(await this.api.rotateSecret(this.instanceId()));
      this.confirmingRotate.set(false);
      this.settings.update((s) => (s ? { ...s, secretSet: true } : s));
    });
  }

  async sendTest(): Promise<void> {
    await this.act('test', async () => {
      const d = await this.api.sendTest(this.instanceId());
      this.deliveries.update((list) => [d, ...(list ?? []).filter((x) => x.id !== d.id)]);
      void this.logPoll.now();
    });
  }

  async replay(d: WebhookDelivery): Promise<void> {
    await this.act(d.id, async () => {
      const r = await this.api.replay(this.instanceId(), d.id);
      this.deliveries.update((list) => (list ?? []).map((x) => (x.id === r.id ? r : x)));
      void this.logPoll.now();
    });
  }

  async copy(text: string): Promise<void> {
    await navigator.clipboard.writeText(text).catch(() => undefined);
  }

  statusLabel(d: WebhookDelivery): string {
    switch (d.status) {
      case 'delivered':
        return $localize`:@@webhooks.status.delivered:delivered`;
      case 'failed':
        return $localize`:@@webhooks.status.failed:failed`;
      default:
        return $localize`:@@webhooks.status.pending:pending`;
    }
  }

  statusClass(d: WebhookDelivery): string {
    return d.status === 'delivered' ? 'badge ok' : d.status === 'failed' ? 'badge bad' : 'badge warn';
  }

  replayLabel(d: WebhookDelivery): string {
    return $localize`:@@webhooks.replayLabel:Replay delivery ${d.id}:id:`;
  }

  /** Runs `fn` as the action `key` (its button disabled meanwhile); its error shows above the log. */
  private async act(key: string, fn: () => Promise<void>): Promise<void> {
    this.busy.set(key);
    this.actionError.set(null);
    try {
      await fn();
    } catch (e) {
      this.actionError.set(toApiError(e).message);
    } finally {
      this.busy.set(null);
    }
  }
}
