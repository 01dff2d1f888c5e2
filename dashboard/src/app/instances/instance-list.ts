import { ChangeDetectionStrategy, Component, computed, DestroyRef, inject, PendingTasks, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { ApiClient } from '../core/api';
import { ApiError, toApiError } from '../core/api-error';
import { CurrentUser } from '../core/current-user';
import { valueOf } from '../shared/dom';
import { badgeClass, formatDay, formatNumber, formatRelative, prepareDisplayFormatters } from '../shared/format';
import { phaseLabel, sessionLabel } from '../shared/labels';
import type { Instance, Pricing, User } from '../api/models';
import { formatMoney } from '../shared/money';
import { poll } from '../shared/poll';
import { yieldToMain } from '../shared/yield';
import { InstanceControls } from './instance-controls';

export const POLL_MS = 3000;

@Component({
  selector: 'app-instance-list',
  imports: [RouterLink, InstanceControls],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './instance-list.html',
})
export class InstanceList {
  private readonly api = inject(ApiClient);
  private readonly user = inject(CurrentUser);
  private readonly destroyRef = inject(DestroyRef);

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
  protected readonly ago = formatRelative;
  protected readonly phase = phaseLabel;
  protected readonly session = sessionLabel;
  /** The number of instances, written the member's way. */
  readonly count = computed(() => formatNumber(this.instances()?.length ?? 0));

  readonly refresh = poll(() => this.load(), POLL_MS, { start: false });

  constructor() {
    // The page renders first; its requests start in the next task (a pending task, so tests and stability wait for
    // them), and the formatters are set up in tasks of their own while they load (issue 18, Lighthouse).
    const done = inject(PendingTasks).add();
    const timer = setTimeout(() => void this.firstLoad().finally(done), 0);
    this.destroyRef.onDestroy(() => {
      clearTimeout(timer);
      done();
    });
    prepareDisplayFormatters();
  }

  /**
   * The page's first requests: the price and the balance (the creation card, the first thing on the page; the
   * balance is the top bar's `GET /v1/me`, shared), then, in a task of its own, the list.
   */
  private async firstLoad(): Promise<void> {
    const account = this.loadAccount(false);
    await yieldToMain();
    if (this.destroyRef.destroyed) return;
    await Promise.allSettled([account, this.refresh.now()]);
  }

  deleteLabel(name: string): string {
    return $localize`:Accessible name of an instance's delete button@@instances.deleteLabel:Delete ${name}:name:`;
  }
  confirmLabel(name: string): string {
    return $localize`:@@instances.confirmLabel:Confirm deleting ${name}:name:`;
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

  /** The price and the balance; `fresh`: a new `GET /v1/me` (after a charge), else the one shared with the top bar. */
  async loadAccount(fresh = true): Promise<void> {
    const [p, u] = await Promise.allSettled([this.api.pricing(), fresh ? this.user.refresh() : this.user.get()]);
    if (p.status === 'fulfilled') this.pricing.set(p.value);
    else this.pricingError.set(toApiError(p.reason).message);
    if (u.status === 'fulfilled') this.me.set(u.value);
  }

  async create(): Promise<void> {
    const name = this.name().trim();
    if (!name) {
      this.createError.set(new ApiError(400, 'invalid_request', $localize`:@@instances.nameMissing:Give the instance a name.`));
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

  /** Shows `updated` (the api's view after a stop, start or restart) in place of its earlier view. */
  replace(updated: Instance): void {
    this.instances.update((list) => (list ?? []).map((x) => (x.id === updated.id ? updated : x)));
  }

  async remove(i: Instance): Promise<void> {
    this.deleting.set(i.id);
    this.deleteError.set(null);
    try {
      await this.api.deleteInstance(i.id);
      this.instances.update((list) => (list ?? []).filter((x) => x.id !== i.id));
      this.confirming.set(null);
    } catch (e) {
      this.deleteError.set($localize`:@@instances.deleteError:Could not delete “${i.name}:name:”: ${toApiError(e).message}:error:`);
    } finally {
      this.deleting.set(null);
    }
  }
}
