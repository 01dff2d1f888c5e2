import { TestBed } from '@angular/core/testing';
import { provideRouter } from '@angular/router';
import { ApiClient } from '../core/api';
import { ApiError } from '../core/api-error';
import { chartSeries, totals } from './chart-data';
import { Overview } from './overview';
import { StatsApi, type Stats } from './stats-api';

const stats: Stats = {
  from: '2026-11-29T00:00:00.000Z',
  to: '2026-12-01T00:00:00.000Z',
  sessions: { total: 2, working: 1 },
  chats: 4,
  days: [
    { date: '2026-11-29', in: 5, out: 2 },
    { date: '2026-11-30', in: 1200, out: 7 },
  ],
  instances: [
    { id: 'i-aaaaaaaaaaaa', name: 'sales', state: 'WORKING', available: true, chats: 4, in: 1205, out: 9 },
    { id: 'i-bbbbbbbbbbbb', name: 'support', state: null, available: false, chats: 0, in: 0, out: 0 },
  ],
  agents: [
    { memberId: 'm_a', name: 'ana@example.com', sent: 12, resolved: 3, medianFirstResponseMs: 200_000 },
    { memberId: 'm_gone', name: null, sent: 1, resolved: 0, medianFirstResponseMs: null },
  ],
};

function setup(get: (days: number, id?: string) => Promise<Stats>) {
  const statsApi = { get: vi.fn(get) };
  const api = { instances: vi.fn(async () => [{ id: 'i-aaaaaaaaaaaa', name: 'sales' }]) };
  TestBed.configureTestingModule({
    providers: [provideRouter([]), { provide: StatsApi, useValue: statsApi }, { provide: ApiClient, useValue: api }],
  });
  const fixture = TestBed.createComponent(Overview);
  return { fixture, statsApi, el: fixture.nativeElement as HTMLElement };
}

const rows = (el: HTMLElement, testid: string) =>
  [...el.querySelectorAll(`[data-testid="${testid}"] tbody tr`)].map((tr) =>
    [...tr.querySelectorAll('th, td')].map((c) => c.textContent!.replace(/\s+/g, ' ').trim()),
  );

describe('Overview', () => {
  beforeEach(() => {
    // jsdom has no canvas: the chart draws nothing, the table beside it has the numbers.
    vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(null);
  });

  it('shows the tiles, the chart with its accessible name, the days table, instances (one not answering) and members', async () => {
    const { fixture, el, statsApi } = setup(async () => stats);
    await fixture.whenStable();
    expect(statsApi.get).toHaveBeenCalledWith(30, undefined);
    expect(el.querySelector('[data-testid="tile-sessions"]')!.textContent!.trim()).toBe('1 / 2');
    expect(el.querySelector('[data-testid="tile-chats"]')!.textContent!.trim()).toBe('4');
    expect(el.querySelector('[data-testid="tile-in"]')!.textContent!.trim()).toBe('1,205');
    expect(el.querySelector('[data-testid="tile-out"]')!.textContent!.trim()).toBe('9');
    expect(el.querySelector('canvas[role="img"]')!.getAttribute('aria-label')).toBe('Messages in and out per day, last 30 days');
    expect(rows(el, 'days-table')).toEqual([
      ['Nov 29, 2026', '5', '2'],
      ['Nov 30, 2026', '1,200', '7'],
    ]);
    expect(rows(el, 'instances-table')).toEqual([
      ['sales', 'WORKING', '4', '1,205', '9'],
      ['support', 'not answering', '0', '0', '0'],
    ]);
    expect(el.querySelector('[data-testid="unavailable"]')!.textContent).toContain('support');
    expect(rows(el, 'agents-table')).toEqual([
      ['ana@example.com', '12', '3', '3 min 20 s'],
      ['former member', '1', '0', '—'],
    ]);
  });

  it('the period and instance selects reload the statistics for them', async () => {
    const { fixture, el, statsApi } = setup(async () => stats);
    await fixture.whenStable();
    const period = el.querySelector<HTMLSelectElement>('#overview-days')!;
    period.value = '90';
    period.dispatchEvent(new Event('change'));
    await fixture.whenStable();
    expect(statsApi.get).toHaveBeenLastCalledWith(90, undefined);
    const instance = el.querySelector<HTMLSelectElement>('#overview-instance')!;
    instance.value = 'i-aaaaaaaaaaaa';
    instance.dispatchEvent(new Event('change'));
    await fixture.whenStable();
    expect(statsApi.get).toHaveBeenLastCalledWith(90, 'i-aaaaaaaaaaaa');
    expect(el.querySelector('canvas')!.getAttribute('aria-label')).toBe('Messages in and out per day, last 90 days');
  });

  it("an agent reads the api's refusal, with a retry", async () => {
    const { fixture, el } = setup(async () => {
      throw new ApiError(403, 'role_required', 'Only owners and admins of the organisation can do this.');
    });
    await fixture.whenStable();
    expect(el.querySelector('[role="alert"]')!.textContent).toContain('Only owners and admins');
    expect(el.querySelector('[data-testid="days-table"]')).toBeNull();
  });
});

describe('chart data', () => {
  it('labels each UTC day in the given language and keeps the two series in order', () => {
    const s = chartSeries(stats.days, 'pt-BR');
    expect(s.labels).toEqual([
      new Intl.DateTimeFormat('pt-BR', { day: 'numeric', month: 'short', timeZone: 'UTC' }).format(new Date('2026-11-29T00:00:00Z')),
      new Intl.DateTimeFormat('pt-BR', { day: 'numeric', month: 'short', timeZone: 'UTC' }).format(new Date('2026-11-30T00:00:00Z')),
    ]);
    expect([s.in, s.out]).toEqual([
      [5, 1200],
      [2, 7],
    ]);
    expect(totals(stats.days)).toEqual({ in: 1205, out: 9 });
  });
});
