import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { ApiClient } from '../core/api';
import { toApiError } from '../core/api-error';
import { valueOf } from '../shared/dom';
import { formatDay, formatNumber } from '../shared/format';
import type { Instance } from '../api/models';
import { totals } from './chart-data';
import { MessagesChart } from './messages-chart';
import { StatsApi, type Stats } from './stats-api';

/** The windows the page offers, in days. */
export const PERIODS = [7, 30, 90] as const;

/**
 * The Overview page (owners and admins): sessions and chats, messages in / out per UTC day as a chart (with the same
 * numbers in a table), a line per instance and per member. A period (7, 30, 90 days) and an instance filter reload it.
 */
@Component({
  selector: 'app-overview',
  imports: [MessagesChart],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './overview.html',
  styles: [
    '.tiles { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); list-style: none; padding: 0; margin: 0 0 1rem; }',
    '.tiles .card { margin: 0; } .tile-value { font-size: 1.8rem; font-weight: 600; display: block; }',
    "th[scope='row'] { text-transform: none; letter-spacing: normal; font-size: inherit; font-weight: 500; color: inherit; }",
    'section + section { margin-top: 1rem; }',
  ],
})
export class Overview {
  private readonly statsApi = inject(StatsApi);
  private readonly api = inject(ApiClient);

  readonly days = signal<number>(30);
  readonly instanceId = signal<string>('');
  readonly instances = signal<Instance[]>([]);
  readonly stats = signal<Stats | null>(null);
  readonly error = signal<string | null>(null);
  readonly loading = signal(false);

  readonly totals = computed(() => totals(this.stats()?.days ?? []));
  readonly unavailable = computed(() => (this.stats()?.instances ?? []).filter((i) => !i.available));
  readonly unavailableNames = computed(() =>
    this.unavailable()
      .map((i) => i.name)
      .join(', '),
  );
  readonly chartLabel = computed(() => $localize`:@@overview.chartLabel:Messages in and out per day, last ${this.days()}:days: days`);
  protected readonly periods = PERIODS;
  protected readonly num = (n: number) => formatNumber(n);
  protected readonly inLabel = $localize`:@@overview.in:In`;
  protected readonly outLabel = $localize`:@@overview.out:Out`;

  constructor() {
    void this.api.instances().then(
      (list) => this.instances.set(list),
      () => undefined, // the filter stays empty; the statistics say what failed
    );
    void this.load();
  }

  async load(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      this.stats.set(await this.statsApi.get(this.days(), this.instanceId() || undefined));
    } catch (e) {
      this.stats.set(null);
      this.error.set(toApiError(e).message);
    } finally {
      this.loading.set(false);
    }
  }

  setDays(e: Event): Promise<void> {
    this.days.set(Number(valueOf(e)));
    return this.load();
  }

  setInstance(e: Event): Promise<void> {
    this.instanceId.set(valueOf(e));
    return this.load();
  }

  /** A median first-response time as the dashboard's language writes a duration ('3 min 20 s'); '—' without one. */
  duration(ms: number | null): string {
    if (ms === null) return '—';
    if (ms < 1000) return $localize`:@@overview.ms:${formatNumber(ms)}:ms: ms`;
    const s = Math.round(ms / 1000);
    if (s < 60) return $localize`:@@overview.seconds:${formatNumber(s)}:s: s`;
    const m = Math.floor(s / 60);
    if (m < 60) return $localize`:@@overview.minutes:${formatNumber(m)}:m: min ${formatNumber(s % 60)}:s: s`;
    return $localize`:@@overview.hours:${formatNumber(Math.floor(m / 60))}:h: h ${formatNumber(m % 60)}:m: min`;
  }

  /** A day `YYYY-MM-DD` (UTC) as the dashboard's language writes it. */
  day(date: string): string {
    return formatDay(`${date}T00:00:00Z`);
  }
}
