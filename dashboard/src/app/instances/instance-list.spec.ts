import { TestBed } from '@angular/core/testing';
import { provideRouter } from '@angular/router';
import { ApiClient } from '../core/api';
import { ApiError } from '../core/api-error';
import { CurrentUser } from '../core/current-user';
import type { Instance } from '../api/models';
import { InstanceList } from './instance-list';

const inst = (id: string, name: string, extra: Partial<Instance> = {}): Instance => ({
  id,
  name,
  engine: 'simulated',
  provider: 'process',
  createdAt: '2026-11-01T00:00:00Z',
  paidUntil: '2026-12-01T00:00:00Z',
  suspended: false,
  suspendedAt: null,
  stopped: false,
  stoppedAt: null,
  phase: 'Running',
  sessionState: 'STOPPED',
  ...extra,
});

function setup(fake: Partial<Record<keyof ApiClient, unknown>>) {
  const api = {
    instances: vi.fn(async () => [inst('i-aaaaaaaaaaaa', 'One')]),
    pricing: vi.fn(async () => ({ monthlyPriceMinor: 1500, currency: 'USD', period: 'P1M', billing: '' })),
    me: vi.fn(async () => ({ id: 'u', email: 'a@b.c', balanceMinor: 1000, currency: 'USD', createdAt: '' })),
    createInstance: vi.fn(),
    deleteInstance: vi.fn(async () => undefined),
    ...fake,
  };
  TestBed.configureTestingModule({ providers: [provideRouter([]), { provide: ApiClient, useValue: api }] });
  const fixture = TestBed.createComponent(InstanceList);
  return { fixture, c: fixture.componentInstance, api };
}

describe('InstanceList', () => {
  it('loads instances, price and balance, and says when the balance is short', async () => {
    const { fixture, c } = setup({});
    await fixture.whenStable();
    expect(c.instances()?.map((i) => i.name)).toEqual(['One']);
    expect(c.short()).toBe(true);
    expect(c.money(1500)).toBe('$15.00');
    const text = (fixture.nativeElement as HTMLElement).textContent!;
    expect(text).toContain('Price: $15.00 per month');
    expect(text).toContain('Your balance: $10.00');
    expect(text).toContain('Top up the wallet');
    expect(text).toContain('Stopped');
    fixture.destroy();
  });

  it("takes the balance from the top bar's GET /v1/me of the same load, and asks again after a creation", async () => {
    const { fixture, c, api } = setup({
      createInstance: vi.fn(async () => inst('i-bbbbbbbbbbbb', 'Two', { phase: 'Provisioning', sessionState: null })),
    });
    const shell = TestBed.inject(CurrentUser).get();
    await fixture.whenStable();
    expect(await shell).toEqual(c.me());
    expect(api.me).toHaveBeenCalledTimes(1);
    c.name.set('Two');
    await c.create();
    await fixture.whenStable();
    expect(api.me).toHaveBeenCalledTimes(2);
    fixture.destroy();
  });

  it('shows the empty state and the load error', async () => {
    const { fixture } = setup({ instances: vi.fn(async () => []) });
    await fixture.whenStable();
    expect((fixture.nativeElement as HTMLElement).textContent).toContain('You have no instances yet');
    fixture.destroy();
    TestBed.resetTestingModule();
    const failing = setup({ instances: vi.fn(async () => Promise.reject(new ApiError(503, 'provider_unavailable', 'down'))) });
    await failing.fixture.whenStable();
    expect((failing.fixture.nativeElement as HTMLElement).textContent).toContain('Could not load the instances: down');
    failing.fixture.destroy();
  });

  it('keeps the 402 error so the page can point to the wallet', async () => {
    const { fixture, c, api } = setup({
      createInstance: vi.fn(async () => Promise.reject(new ApiError(402, 'insufficient_funds', 'Your balance is too low'))),
    });
    await fixture.whenStable();
    c.name.set('Two');
    await c.create();
    expect(api.createInstance).toHaveBeenCalledWith('Two');
    expect(c.createError()?.code).toBe('insufficient_funds');
    fixture.detectChanges();
    expect((fixture.nativeElement as HTMLElement).querySelector('[data-testid=create-error]')?.textContent).toContain('Go to the wallet');
    fixture.destroy();
  });

  it('refuses an empty name without calling the api', async () => {
    const { fixture, c, api } = setup({});
    await c.create();
    expect(api.createInstance).not.toHaveBeenCalled();
    expect(c.createError()?.message).toMatch(/name/);
    fixture.destroy();
  });

  it('adds a created instance and removes a deleted one', async () => {
    const { fixture, c, api } = setup({
      createInstance: vi.fn(async () => inst('i-bbbbbbbbbbbb', 'Two', { phase: 'Provisioning', sessionState: null })),
    });
    await fixture.whenStable();
    c.name.set('Two');
    await c.create();
    expect(c.instances()?.map((i) => i.id)).toEqual(['i-bbbbbbbbbbbb', 'i-aaaaaaaaaaaa']);
    expect(c.name()).toBe('');
    c.confirming.set('i-aaaaaaaaaaaa');
    await c.remove(c.instances()![1]!);
    expect(api.deleteInstance).toHaveBeenCalledWith('i-aaaaaaaaaaaa');
    expect(c.instances()?.map((i) => i.id)).toEqual(['i-bbbbbbbbbbbb']);
    expect(c.confirming()).toBeNull();
    fixture.destroy();
  });
});
