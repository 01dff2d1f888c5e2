import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { ApiClient } from '../core/api';
import { toApiError } from '../core/api-error';
import { valueOf } from '../shared/dom';
import { formatDate, formatDay, randomKey } from '../shared/format';
import type { LedgerEntry, User } from '../api/models';
import { currencyDigits, formatMoney, parseMajorToMinor } from '../shared/money';

const TYPE_LABEL: Record<LedgerEntry['type'], string> = { deposit: 'Deposit', charge: 'Charge', refund: 'Refund' };

@Component({
  selector: 'app-wallet',
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './wallet.html',
})
export class Wallet {
  private readonly api = inject(ApiClient);

  readonly user = signal<User | null>(null);
  readonly amount = signal('');
  readonly busy = signal(false);
  readonly amountError = signal<string | null>(null);
  readonly done = signal<string | null>(null);
  readonly items = signal<LedgerEntry[] | null>(null);
  readonly nextCursor = signal<string | null>(null);
  readonly txError = signal<string | null>(null);
  readonly loadingMore = signal(false);

  readonly currency = computed(() => this.user()?.currency ?? 'USD');
  readonly digits = computed(() => currencyDigits(this.currency()));
  readonly minor = computed(() => parseMajorToMinor(this.amount(), this.currency()));
  readonly example = computed(() => (this.digits() ? `25.${'0'.repeat(this.digits())}` : '2500'));
  /** Idempotency key of the deposit being entered: a retry of the same submission cannot pay twice. */
  private key = randomKey();

  protected readonly valueOf = valueOf;
  protected readonly date = formatDate;
  protected readonly day = formatDay;

  constructor() {
    void this.loadUser();
    void this.loadTransactions();
  }

  money(minor: number): string {
    return formatMoney(minor, this.currency());
  }
  label(t: LedgerEntry['type']): string {
    return TYPE_LABEL[t] ?? t;
  }
  /** Deposits and refunds add, charges take (the api may send either sign). */
  signed(t: LedgerEntry): number {
    return t.type === 'charge' ? -Math.abs(t.amountMinor) : Math.abs(t.amountMinor);
  }

  async loadUser(): Promise<void> {
    try {
      this.user.set(await this.api.me());
    } catch {
      /* the balance shows … ; the transactions show their own error */
    }
  }

  async loadTransactions(): Promise<void> {
    this.txError.set(null);
    try {
      const page = await this.api.transactions();
      this.items.set(page.items);
      this.nextCursor.set(page.nextCursor);
    } catch (e) {
      this.txError.set(toApiError(e).message);
    }
  }

  async loadMore(): Promise<void> {
    const cursor = this.nextCursor();
    if (!cursor) return;
    this.loadingMore.set(true);
    try {
      const page = await this.api.transactions(cursor);
      this.items.update((list) => [...(list ?? []), ...page.items]);
      this.nextCursor.set(page.nextCursor);
    } catch (e) {
      this.txError.set(toApiError(e).message);
    } finally {
      this.loadingMore.set(false);
    }
  }

  async topUp(): Promise<void> {
    this.done.set(null);
    const minor = this.minor();
    if (minor === null) {
      this.amountError.set(`Enter a positive amount in ${this.currency()} with at most ${this.digits()} decimals.`);
      return;
    }
    this.amountError.set(null);
    this.busy.set(true);
    try {
      const r = await this.api.deposit(minor, this.key);
      this.key = randomKey();
      this.user.update((u) => (u ? { ...u, balanceMinor: r.balanceMinor } : u));
      this.items.update((list) => [r.transaction, ...(list ?? []).filter((t) => t.id !== r.transaction.id)]);
      this.amount.set('');
      this.done.set(`Added ${this.money(minor)}. New balance: ${this.money(r.balanceMinor)}.`);
    } catch (e) {
      this.amountError.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }
}
