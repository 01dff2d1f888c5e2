import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { ApiClient } from '../core/api';
import { CurrentUser } from '../core/current-user';
import { toApiError } from '../core/api-error';
import { valueOf } from '../shared/dom';
import { formatDate, formatDay, formatNumber, randomKey, timeZoneName } from '../shared/format';
import { ledgerTypeLabel } from '../shared/labels';
import type { LedgerEntry, User } from '../api/models';
import { currencyDigits, formatMoney, parseMajorToMinor } from '../shared/money';

@Component({
  selector: 'app-wallet',
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './wallet.html',
})
export class Wallet {
  private readonly api = inject(ApiClient);
  private readonly currentUser = inject(CurrentUser);

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
  /** An example amount written the member's way (25.00, 25,00). */
  readonly example = computed(() => formatNumber(25, undefined, this.digits()));
  readonly placeholder = computed(() => $localize`:@@wallet.example:e.g. ${this.example()}:example:`);
  readonly minorText = computed(() => formatNumber(this.minor() ?? 0));
  /** The member's time zone, named the way the language writes it. */
  protected readonly zone = timeZoneName();
  /** Column names repeated on each cell of the phone layout (`data-label`). */
  protected readonly col = {
    date: $localize`:@@wallet.date:Date`,
    type: $localize`:@@wallet.type:Type`,
    details: $localize`:@@wallet.details:Details`,
    amount: $localize`:@@wallet.amountCol:Amount`,
    balanceAfter: $localize`:@@wallet.balanceAfter:Balance after`,
  };
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
    return ledgerTypeLabel(t);
  }
  /** Deposits and refunds add, charges take (the api may send either sign). */
  signed(t: LedgerEntry): number {
    return t.type === 'charge' ? -Math.abs(t.amountMinor) : Math.abs(t.amountMinor);
  }

  async loadUser(): Promise<void> {
    try {
      this.user.set(await this.currentUser.get());
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
      this.amountError.set(
        $localize`:@@wallet.badAmount:Enter a positive amount in ${this.currency()}:currency: with at most ${this.digits()}:digits: decimals.`,
      );
      return;
    }
    this.amountError.set(null);
    this.busy.set(true);
    try {
      const r = await this.api.deposit(minor, this.key);
      this.key = randomKey();
      this.currentUser.invalidate(); // the balance other pages show is asked for again
      this.user.update((u) => (u ? { ...u, balanceMinor: r.balanceMinor } : u));
      this.items.update((list) => [r.transaction, ...(list ?? []).filter((t) => t.id !== r.transaction.id)]);
      this.amount.set('');
      this.done.set($localize`:@@wallet.done:Added ${this.money(minor)}:amount:. New balance: ${this.money(r.balanceMinor)}:balance:.`);
    } catch (e) {
      this.amountError.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }
}
