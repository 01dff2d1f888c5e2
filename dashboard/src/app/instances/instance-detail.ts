import { ChangeDetectionStrategy, Component, computed, DestroyRef, inject, input, signal, type OnInit } from '@angular/core';
import { RouterLink } from '@angular/router';
import { ApiClient } from '../core/api';
import { toApiError } from '../core/api-error';
import { valueOf } from '../shared/dom';
import { InstanceEvents, type StreamState } from './instance-events';
import { badgeClass, formatDate, formatDay, formatRelative } from '../shared/format';
import { messageMeta } from './message-meta';
import { phaseLabel, sessionLabel } from '../shared/labels';
import type { Instance } from '../api/models';
import type { LiveEvent, LoginView, MessageView, SessionStatus } from '../api/instance-models';
import { poll } from '../shared/poll';
import { MethodTester } from './method-tester';
import { InstanceControls } from './instance-controls';
import { InstanceWebhooks } from './webhooks/instance-webhooks';

const FEED_MAX = 20;

@Component({
  selector: 'app-instance-detail',
  imports: [RouterLink, MethodTester, InstanceControls, InstanceWebhooks],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './instance-detail.html',
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
  protected readonly ago = formatRelative;
  protected readonly phase = phaseLabel;
  protected readonly session = sessionLabel;
  protected readonly messageMeta = messageMeta;

  /**
   * The instance is starting: its runtime does not answer yet (no live stream, no session status, phase Pending or
   * Provisioning). Log in is enabled as soon as it answers.
   */
  readonly starting = computed(() => {
    if (this.stream() === 'open' || this.status()) return false;
    const phase = this.instance()?.phase;
    return phase === 'Pending' || phase === 'Provisioning';
  });

  /** The live event stream's state in words. */
  readonly streamLabel = computed(() => {
    switch (this.stream()) {
      case 'open':
        return $localize`:Live event stream state@@detail.streamOpen:live`;
      case 'connecting':
        return $localize`:Live event stream state@@detail.streamConnecting:connecting`;
      default:
        return $localize`:Live event stream state@@detail.streamClosed:closed`;
    }
  });

  private readonly refresher = poll(() => this.load(), 5000, { start: false });

  ngOnInit(): void {
    const stream = this.events.open(
      this.id(),
      (e) => this.onEvent(e),
      (s) => {
        this.stream.set(s);
        // The instance answers: show its phase now rather than at the next refresh.
        if (s === 'open' && this.instance()?.phase !== 'Running') void this.refresher.now();
      },
    );
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
      else this.loadError.set($localize`:@@detail.refreshError:Could not refresh the instance: ${err.message}:error:`);
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
