import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { ApiClient } from '../core/api';
import { ApiError, toApiError } from '../core/api-error';
import { valueOf } from '../shared/dom';
import { badgeClass, formatDay } from '../shared/format';
import type { Instance, Pricing, User } from '../api/models';
import { formatMoney } from '../shared/money';
import { poll } from '../shared/poll';

export const POLL_MS = 3000;

@Component({
  selector: 'app-instance-list',
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="page-head">
      <h1>Instances</h1>
      <p class="muted">Refreshes every {{ pollSeconds }} s</p>
    </div>

    <section class="card" aria-labelledby="create-title">
      <h2 id="create-title">New instance</h2>
      @if (pricing(); as p) {
        <p data-testid="price-line">
          Price: <strong>{{ money(p.monthlyPriceMinor) }}</strong> per month, the first month charged now.
          @if (me(); as u) {
            Your balance: <strong data-testid="balance">{{ money(u.balanceMinor) }}</strong>.
          }
        </p>
        @if (short()) {
          <p class="notice">Your balance does not cover the first month. <a routerLink="/wallet">Top up the wallet</a> first.</p>
        }
      } @else if (!pricingError()) {
        <p class="muted">Loading the price…</p>
      }
      <form class="row" (submit)="$event.preventDefault(); create()">
        <label for="instance-name" class="grow">Name
          <input id="instance-name" name="name" maxlength="64" required placeholder="e.g. Support line" [value]="name()" (input)="name.set(valueOf($event))" />
        </label>
        <button type="submit" class="primary" [disabled]="creating()">{{ creating() ? 'Creating…' : 'Create instance' }}</button>
      </form>
      @if (createError(); as e) {
        <p class="error" role="alert" data-testid="create-error">{{ e.message }}
          @if (e.code === 'insufficient_funds') { <a routerLink="/wallet">Go to the wallet</a> }
        </p>
      }
    </section>

    <section aria-labelledby="list-title">
      <h2 id="list-title" class="visually-hidden">Your instances</h2>
      @if (loadError(); as e) {
        <p class="error" role="alert">Could not load the instances: {{ e }} <button type="button" class="link" (click)="refresh.now()">Retry</button></p>
      }
      @if (instances() === null) {
        @if (!loadError()) { <p class="muted" role="status">Loading instances…</p> }
      } @else if (instances()!.length === 0) {
        <p class="empty">You have no instances yet. Create one above.</p>
      } @else {
        <ul class="cards" aria-label="Instances">
          @for (i of instances(); track i.id) {
            <li class="card instance" [attr.data-instance-id]="i.id">
              <div class="instance-head">
                <a [routerLink]="['/instances', i.id]" class="instance-name">{{ i.name }}</a>
                <code class="muted">{{ i.id }}</code>
              </div>
              <dl class="facts">
                <div><dt>Phase</dt><dd><span [class]="badge(i.phase)">{{ i.phase }}</span></dd></div>
                <div><dt>Session</dt><dd><span [class]="badge(i.sessionState)" data-testid="session-state">{{ i.sessionState ?? 'unknown' }}</span></dd></div>
                <div><dt>Suspended</dt><dd>{{ i.suspended ? 'Yes, since ' + day(i.suspendedAt) : 'No' }}</dd></div>
                <div><dt>Paid until</dt><dd>{{ day(i.paidUntil) }}</dd></div>
              </dl>
              @if (i.message) { <p class="muted small">{{ i.message }}</p> }
              <div class="actions">
                <a class="button" [routerLink]="['/instances', i.id]">Open</a>
                <a class="button" [routerLink]="['/instances', i.id, 'tokens']">Tokens</a>
                @if (confirming() === i.id) {
                  <span role="group" [attr.aria-label]="'Confirm deleting ' + i.name" class="confirm">
                    Delete “{{ i.name }}” for good?
                    <button type="button" class="danger" (click)="remove(i)" [disabled]="deleting() === i.id">{{ deleting() === i.id ? 'Deleting…' : 'Yes, delete' }}</button>
                    <button type="button" (click)="confirming.set(null)">Cancel</button>
                  </span>
                } @else {
                  <button type="button" class="danger-outline" (click)="confirming.set(i.id)" [attr.aria-label]="'Delete ' + i.name">Delete</button>
                }
              </div>
            </li>
          }
        </ul>
      }
      @if (deleteError()) { <p class="error" role="alert">{{ deleteError() }}</p> }
    </section>
  `,
})
export class InstanceList {
  private readonly api = inject(ApiClient);

  readonly instances = signal<Instance[] | null>(null);
  readonly loadError = signal<string | null>(null);
  readonly pricing = signal<Pricing | null>(null);
  readonly pricingError = signal<string | null>(null);
  readonly me = signal<User | null>(null);
  readonly name = signal('');
  readonly creating = signal(false);
  readonly createError = signal<ApiError | null>(null);
  readonly confirming = signal<string | null>(null);
  readonly deleting = signal<string | null>(null);
  readonly deleteError = signal<string | null>(null);

  readonly currency = computed(() => this.pricing()?.currency ?? this.me()?.currency ?? 'USD');
  /** The balance does not pay the first month. */
  readonly short = computed(() => {
    const p = this.pricing();
    const u = this.me();
    return !!p && !!u && u.balanceMinor < p.monthlyPriceMinor;
  });

  protected readonly pollSeconds = POLL_MS / 1000;
  protected readonly valueOf = valueOf;
  protected readonly badge = badgeClass;
  protected readonly day = formatDay;

  readonly refresh = poll(() => this.load(), POLL_MS);

  constructor() {
    void this.loadAccount();
  }

  money(minor: number): string {
    return formatMoney(minor, this.currency());
  }

  async load(): Promise<void> {
    try {
      this.instances.set(await this.api.instances());
      this.loadError.set(null);
    } catch (e) {
      this.loadError.set(toApiError(e).message);
    }
  }

  async loadAccount(): Promise<void> {
    const [p, u] = await Promise.allSettled([this.api.pricing(), this.api.me()]);
    if (p.status === 'fulfilled') this.pricing.set(p.value);
    else this.pricingError.set(toApiError(p.reason).message);
    if (u.status === 'fulfilled') this.me.set(u.value);
  }

  async create(): Promise<void> {
    const name = this.name().trim();
    if (!name) {
      this.createError.set(new ApiError(400, 'invalid_request', 'Give the instance a name.'));
      return;
    }
    this.creating.set(true);
    this.createError.set(null);
    try {
      const created = await this.api.createInstance(name);
      this.instances.update((list) => [created, ...(list ?? []).filter((i) => i.id !== created.id)]);
      this.name.set('');
      void this.loadAccount();
    } catch (e) {
      this.createError.set(toApiError(e));
    } finally {
      this.creating.set(false);
    }
  }

  async remove(i: Instance): Promise<void> {
    this.deleting.set(i.id);
    this.deleteError.set(null);
    try {
      await this.api.deleteInstance(i.id);
      this.instances.update((list) => (list ?? []).filter((x) => x.id !== i.id));
      this.confirming.set(null);
    } catch (e) {
      this.deleteError.set(`Could not delete “${i.name}”: ${toApiError(e).message}`);
    } finally {
      this.deleting.set(null);
    }
  }
}
