import { ChangeDetectionStrategy, Component, computed, DestroyRef, inject, input, signal, type OnInit } from '@angular/core';
import { RouterLink } from '@angular/router';
import { ApiClient } from '../core/api';
import { toApiError } from '../core/api-error';
import { valueOf } from '../shared/dom';
import { InstanceEvents, type StreamState } from './instance-events';
import { badgeClass, formatDate, formatDay } from '../shared/format';
import type { Instance } from '../api/models';
import type { LiveEvent, LoginView, MessageView, SessionStatus } from '../api/instance-models';
import { poll } from '../shared/poll';
import { MethodTester } from './method-tester';

const FEED_MAX = 20;

@Component({
  selector: 'app-instance-detail',
  imports: [RouterLink, MethodTester],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <nav class="crumbs" aria-label="Breadcrumb"><a routerLink="/instances">Instances</a> › <span aria-current="page">{{ instance()?.name ?? id() }}</span></nav>
    @if (notFound()) {
      <p class="error" role="alert">No such instance. <a routerLink="/instances">Back to the list</a></p>
    } @else {
      <div class="page-head">
        <h1>{{ instance()?.name ?? 'Instance' }}</h1>
        <a class="button" [routerLink]="['/instances', id(), 'tokens']">Access tokens</a>
      </div>
      @if (loadError()) { <p class="error" role="alert">{{ loadError() }}</p> }
      @if (instance(); as i) {
        <dl class="facts card">
          <div><dt>Id</dt><dd><code>{{ i.id }}</code></dd></div>
          <div><dt>Phase</dt><dd><span [class]="badge(i.phase)">{{ i.phase }}</span></dd></div>
          <div><dt>Suspended</dt><dd>{{ i.suspended ? 'Yes' : 'No' }}</dd></div>
          <div><dt>Paid until</dt><dd>{{ day(i.paidUntil) }}</dd></div>
          <div><dt>Engine</dt><dd>{{ i.engine }} · {{ i.provider }}</dd></div>
          <div><dt>Created</dt><dd>{{ date(i.createdAt) }}</dd></div>
        </dl>
        @if (i.message) { <p class="muted small">{{ i.message }}</p> }
      } @else if (!loadError()) {
        <p class="muted" role="status">Loading the instance…</p>
      }

      <div class="two-col">
        <section class="card" aria-labelledby="session-title">
          <h2 id="session-title">WhatsApp session</h2>
          <p>
            State: <span [class]="badge(state())" data-testid="session-state" aria-live="polite">{{ state() ?? 'unknown' }}</span>
            <span class="muted small" title="Live event stream">· live {{ stream() }}</span>
          </p>
          @if (status()?.reason) { <p class="muted small">{{ status()!.reason }}</p> }
          @if (status()?.account; as a) {
            <p>Linked to <strong>+{{ a.phone }}</strong>@if (a.pushname) { ({{ a.pushname }}) }</p>
          }
          @if (state() === 'SCAN_QR_CODE' && qr(); as q) {
            <figure class="qr">
              <img [src]="q.image" alt="QR code to link WhatsApp: open WhatsApp on your phone, Linked devices, Link a device, and scan it" data-testid="qr-image" width="264" height="264" />
              <figcaption class="muted small">Scan with WhatsApp › Linked devices. It refreshes by itself.</figcaption>
            </figure>
            <details><summary>QR text</summary><code class="wrap" data-testid="qr-raw">{{ q.qr }}</code></details>
          }
          @if (state() === 'SCAN_QR_CODE' && pairingCode(); as code) {
            <p>Pairing code: <strong class="code" data-testid="pairing-code">{{ code }}</strong></p>
            <p class="muted small">On the phone: Linked devices › Link with phone number, then enter this code.</p>
          }
          @if (state() !== 'WORKING') {
            <form class="row" (submit)="$event.preventDefault(); login()">
              <label for="pair-phone" class="grow">Phone for a pairing code <span class="hint">(optional; empty shows a QR)</span>
                <input id="pair-phone" name="phone" inputmode="tel" placeholder="15551234567" [value]="phone()" (input)="phone.set(valueOf($event))" />
              </label>
              <button type="submit" class="primary" [disabled]="busy()">{{ state() === 'SCAN_QR_CODE' ? 'Restart login' : 'Log in' }}</button>
            </form>
          } @else {
            <button type="button" class="danger-outline" (click)="logout()" [disabled]="busy()">Log out of WhatsApp</button>
          }
          @if (sessionError()) { <p class="error" role="alert">{{ sessionError() }}</p> }
        </section>

        <section class="card" aria-labelledby="shot-title">
          <h2 id="shot-title">Screenshot</h2>
          <button type="button" (click)="takeScreenshot()" [disabled]="shotBusy()">{{ shotBusy() ? 'Taking…' : 'Take a screenshot' }}</button>
          @if (shotError()) { <p class="error" role="alert">{{ shotError() }}</p> }
          @if (screenshot(); as url) {
            <img class="screenshot" [src]="url" alt="Screenshot of the WhatsApp session screen" data-testid="screenshot" />
          } @else if (!shotError()) {
            <p class="muted small">Shows what the session's screen looks like now.</p>
          }
        </section>
      </div>

      <section class="card" aria-labelledby="feed-title">
        <h2 id="feed-title">Live messages</h2>
        @if (feed().length === 0) {
          <p class="empty small">New messages appear here as they arrive.</p>
        } @else {
          <ul class="messages" aria-live="polite" data-testid="live-feed">
            @for (m of feed(); track m.id) {
              <li [class.mine]="m.fromMe"><span class="muted small">{{ m.fromMe ? 'to' : 'from' }} {{ m.chatId }} · ack {{ m.ack }}</span><span class="body">{{ m.body }}</span></li>
            }
          </ul>
        }
      </section>

      <app-method-tester [instanceId]="id()" />
    }
  `,
})
export class InstanceDetail implements OnInit {
  private readonly api = inject(ApiClient);
  private readonly events = inject(InstanceEvents);
  private readonly destroyRef = inject(DestroyRef);

  /** Route parameter. */
  readonly id = input.required<string>();

  readonly instance = signal<Instance | null>(null);
  readonly loadError = signal<string | null>(null);
  readonly notFound = signal(false);
  readonly status = signal<SessionStatus | null>(null);
  readonly qr = signal<{ qr: string; image: string } | null>(null);
  readonly pairingCode = signal<string | null>(null);
  readonly stream = signal<StreamState>('connecting');
  readonly feed = signal<MessageView[]>([]);
  readonly phone = signal('');
  readonly busy = signal(false);
  readonly sessionError = signal<string | null>(null);
  readonly screenshot = signal<string | null>(null);
  readonly shotBusy = signal(false);
  readonly shotError = signal<string | null>(null);

  /** The live state when the stream has told us one, else the api's view. */
  readonly state = computed(() => this.status()?.state ?? this.instance()?.sessionState ?? null);

  protected readonly valueOf = valueOf;
  protected readonly badge = badgeClass;
  protected readonly date = formatDate;
  protected readonly day = formatDay;

  private readonly refresher = poll(() => this.load(), 5000, { start: false });

  ngOnInit(): void {
    const stream = this.events.open(this.id(), (e) => this.onEvent(e), (s) => this.stream.set(s));
    this.destroyRef.onDestroy(() => {
      stream.close();
      const url = this.screenshot();
      if (url) URL.revokeObjectURL(url);
    });
    void this.refresher.now();
  }

  async load(): Promise<void> {
    try {
      this.instance.set(await this.api.instance(this.id()));
      this.loadError.set(null);
    } catch (e) {
      const err = toApiError(e);
      if (err.status === 404) this.notFound.set(true);
      else this.loadError.set(`Could not refresh the instance: ${err.message}`);
    }
  }

  onEvent(e: LiveEvent): void {
    switch (e.event) {
      case 'session.status':
        this.status.set(e.data);
        if (e.data.state !== 'SCAN_QR_CODE') {
          this.qr.set(null);
          this.pairingCode.set(null);
        }
        break;
      case 'qr':
        this.qr.set(e.data);
        this.status.update((s) => (s?.state === 'SCAN_QR_CODE' ? s : { state: 'SCAN_QR_CODE' }));
        break;
      case 'pairing_code':
        this.pairingCode.set(e.data.code);
        break;
      case 'message':
        this.feed.update((list) => [e.data, ...list.filter((m) => m.id !== e.data.id)].slice(0, FEED_MAX));
        break;
      case 'message.ack':
        this.feed.update((list) => list.map((m) => (m.id === e.data.id ? { ...m, ack: e.data.ack } : m)));
        break;
    }
  }

  /** Applies a login/QR response (the stream may have said it already). */
  applyLogin(v: LoginView): void {
    const { qr, qrImage, pairingCode, ...status } = v;
    this.status.set(status);
    if (qr && qrImage) this.qr.set({ qr, image: qrImage });
    if (pairingCode) this.pairingCode.set(pairingCode);
  }

  async login(): Promise<void> {
    this.busy.set(true);
    this.sessionError.set(null);
    try {
      const phone = this.phone().trim();
      this.applyLogin(await this.api.gateway<LoginView>(this.id(), 'POST', '/v1/session/login', phone ? { phone } : {}));
    } catch (e) {
      this.sessionError.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }

  async logout(): Promise<void> {
    this.busy.set(true);
    this.sessionError.set(null);
    try {
      this.status.set(await this.api.gateway<SessionStatus>(this.id(), 'POST', '/v1/session/logout'));
      this.qr.set(null);
    } catch (e) {
      this.sessionError.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }

  async takeScreenshot(): Promise<void> {
    this.shotBusy.set(true);
    this.shotError.set(null);
    try {
      const url = await this.api.screenshot(this.id());
      const old = this.screenshot();
      if (old) URL.revokeObjectURL(old);
      this.screenshot.set(url);
    } catch (e) {
      this.shotError.set(toApiError(e).message);
    } finally {
      this.shotBusy.set(false);
    }
  }
}
