import { TestBed } from '@angular/core/testing';
import { provideRouter } from '@angular/router';
import { ApiClient } from '../core/api';
import type { LedgerEntry } from '../api/models';
import { Wallet } from './wallet';

const charge: LedgerEntry = {
  id: 'l2',
  type: 'charge',
  amountMinor: -1500,
  balanceAfterMinor: 3500,
  instanceId: 'i-aaaaaaaaaaaa',
  period: { start: '2026-11-22T00:00:00.000Z', end: '2026-12-22T00:00:00.000Z' },
  memo: 'Instance i-aaaaaaaaaaaa',
  createdAt: '2026-11-22T03:00:00Z',
};
const deposit: LedgerEntry = {
  id: 'l1',
  type: 'deposit',
  amountMinor: 5000,
  balanceAfterMinor: 5000,
  memo: 'Deposit (emulated payment)',
  createdAt: '2026-11-22T02:00:00Z',
};

function setup() {
  const api = {
    me: vi.fn(async () => ({ id: 'u', email: 'a@b.c', balanceMinor: 3500, currency: 'USD', createdAt: '' })),
    transactions: vi.fn(async () => ({ items: [charge, deposit], nextCursor: null })),
    deposit: vi.fn(async (amount: number, _key: string) => ({
      transaction: { ...deposit, id: 'l3', amountMinor: amount, balanceAfterMinor: 3500 + amount },
      balanceMinor: 3500 + amount,
    })),
  };
  TestBed.configureTestingModule({ providers: [provideRouter([]), { provide: ApiClient, useValue: api }] });
  const fixture = TestBed.createComponent(Wallet);
  return { fixture, c: fixture.componentInstance, api };
}

describe('Wallet', () => {
  it('lists deposits and charges with their periods', async () => {
    const { fixture, c } = setup();
    await fixture.whenStable();
    const text = (fixture.nativeElement as HTMLElement).textContent!;
    expect(text).toContain('-$15.00');
    expect(text).toContain('+$50.00');
    expect(text).toMatch(/Period Nov 22, 2026 → Dec 22, 2026 \(UTC\)/);
    expect(c.signed(charge)).toBe(-1500);
    expect(c.signed({ ...charge, amountMinor: 1500 })).toBe(-1500);
  });

  it('sends the amount typed in major units as minor units, with an idempotency key', async () => {
    const { fixture, c, api } = setup();
    await fixture.whenStable();
    c.amount.set('12.34');
    expect(c.minor()).toBe(1234);
    await c.topUp();
    expect(api.deposit).toHaveBeenCalledWith(1234, expect.any(String));
    expect(c.user()?.balanceMinor).toBe(4734);
    expect(c.items()?.[0]?.id).toBe('l3');
    expect(c.done()).toBe('Added $12.34. New balance: $47.34.');
    expect(c.amount()).toBe('');
    // The next deposit gets a new key.
    c.amount.set('1');
    await c.topUp();
    expect(api.deposit.mock.calls[1]![1]).not.toBe(api.deposit.mock.calls[0]![1]);
  });

  it('refuses an invalid amount', async () => {
    const { fixture, c, api } = setup();
    await fixture.whenStable();
    c.amount.set('1.999');
    await c.topUp();
    expect(api.deposit).not.toHaveBeenCalled();
    expect(c.amountError()).toMatch(/at most 2 decimals/);
  });
});
