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
  template: `
    <h1>Wallet</h1>
    <section class="card" aria-labelledby="topup-title">
      <h2 id="topup-title">Top up</h2>
      <p>
        Balance: <strong data-testid="wallet-balance">{{ user() ? money(user()!.balanceMinor) : '…' }}</strong>
        <span class="muted small"> (payments are emulated: no card needed)</span>
      </p>
      <form class="row" (submit)="$event.preventDefault(); topUp()">
        <label for="topup-amount" class="grow">Amount in {{ currency() }}
          <input id="topup-amount" name="amount" inputmode="decimal" autocomplete="off" [placeholder]="'e.g. ' + example()" [value]="amount()" (input)="amount.set(valueOf($event))" [attr.aria-invalid]="amountError() ? true : null" aria-describedby="topup-help" />
        </label>
        <button type="submit" class="primary" [disabled]="busy()">{{ busy() ? 'Adding…' : 'Add money' }}</button>
      </form>
      <p id="topup-help" class="muted small">In major units, up to {{ digits() }} decimals{{ minor() ? ' — ' + minor() + ' minor units' : '' }}.</p>
      @if (amountError()) { <p class="error" role="alert">{{ amountError() }}</p> }
      @if (done()) { <p class="success" role="status">{{ done() }}</p> }
    </section>

    <section aria-labelledby="tx-title">
      <h2 id="tx-title">Transactions</h2>
      @if (txError(); as e) {
        <p class="error" role="alert">Could not load the transactions: {{ e }} <button type="button" class="link" (click)="loadTransactions()">Retry</button></p>
      } @else if (items() === null) {
        <p class="muted" role="status">Loading transactions…</p>
      } @else if (items()!.length === 0) {
        <p class="empty">No transactions yet. Top up to get started.</p>
      } @else {
        <div class="table-wrap" role="region" aria-labelledby="tx-title" tabindex="0">
          <table class="tx">
            <thead><tr><th scope="col">Date</th><th scope="col">Type</th><th scope="col">Details</th><th scope="col" class="num">Amount</th><th scope="col" class="num">Balance after</th></tr></thead>
            <tbody>
              @for (t of items(); track t.id) {
                <tr [class]="t.type">
                  <td data-label="Date">{{ date(t.createdAt) }}</td>
                  <td data-label="Type"><span class="badge" [class.ok]="t.type === 'deposit'" [class.warn]="t.type === 'refund'">{{ label(t.type) }}</span></td>
                  <td data-label="Details">
                    <span class="cell">
                      {{ t.memo }}
                      @if (t.instanceId) { <a class="small" [routerLink]="['/instances', t.instanceId]">Open instance</a> }
                      @if (t.period) { <span class="muted small period">Period {{ day(t.period.start) }} → {{ day(t.period.end) }}</span> }
                    </span>
                  </td>
                  <td data-label="Amount" class="num" [class.neg]="signed(t) < 0">{{ signed(t) > 0 ? '+' : '' }}{{ money(signed(t)) }}</td>
                  <td data-label="Balance after" class="num">{{ money(t.balanceAfterMinor) }}</td>
                </tr>
              }
            </tbody>
          </table>
        </div>
        @if (nextCursor()) {
          <button type="button" (click)="loadMore()" [disabled]="loadingMore()">{{ loadingMore() ? 'Loading…' : 'Older transactions' }}</button>
        }
      }
    </section>
  `,
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
