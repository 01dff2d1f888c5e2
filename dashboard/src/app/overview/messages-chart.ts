import { afterRenderEffect, ChangeDetectionStrategy, Component, DestroyRef, ElementRef, inject, input, viewChild } from '@angular/core';
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { displayLocale } from '../core/i18n/display';
import { chartSeries } from './chart-data';
import type { DayCount } from './stats-api';

// Only what a bar chart needs, so the lazy chunk stays small (no `chart.js/auto`).
Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

/**
 * Messages in and out per UTC day as a grouped bar chart (Chart.js on a canvas). The canvas is an image with
 * `label` as its accessible name; the page gives the same numbers as a table next to it (the keyboard and screen
 * reader alternative). Lives in the Overview page's lazy chunk only.
 */
@Component({
  selector: 'app-messages-chart',
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './messages-chart.html',
  styles: ['.chart-box { position: relative; height: 260px; }'],
})
export class MessagesChart {
  /** The days to show, oldest first. */
  readonly days = input.required<readonly DayCount[]>();
  /** The accessible name of the chart, e.g. "Messages in and out per day, last 30 days". */
  readonly label = input.required<string>();
  /** The series' names. */
  readonly inLabel = input.required<string>();
  readonly outLabel = input.required<string>();

  private readonly canvas = viewChild.required<ElementRef<HTMLCanvasElement>>('canvas');
  private chart: Chart<'bar'> | undefined;

  constructor() {
    afterRenderEffect(() => {
      const s = chartSeries(this.days(), displayLocale());
      const datasets = [
        { label: this.inLabel(), data: s.in, backgroundColor: '#1d64d8' },
        { label: this.outLabel(), data: s.out, backgroundColor: '#0b7a5c' },
      ];
      if (this.chart) {
        this.chart.data.labels = s.labels;
        this.chart.data.datasets = datasets;
        this.chart.update();
        return;
      }
      const ctx = this.canvas().nativeElement.getContext('2d');
      if (!ctx) return; // no canvas support (e.g. a test's DOM): the table beside it has the numbers
      this.chart = new Chart(ctx, {
        type: 'bar',
        data: { labels: s.labels, datasets },
        options: {
          locale: displayLocale(),
          maintainAspectRatio: false,
          animation: false,
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        },
      });
    });
    inject(DestroyRef).onDestroy(() => this.chart?.destroy());
  }
}
