/**
 * The wallet: an append-only ledger per organisation (the billing account; the `userId` arguments and ledger fields
 * name it: see `OrganisationDoc`); the balance is the last entry's `balanceAfterMinor`, kept on the organisation.
 * An account from before organisations is migrated to its own on first use (`orgs/migrate.ts`).
 *
 * Every movement runs under the account's lock (`user-lock.ts`) in three steps, each safe to repeat:
 * 1. roll forward: an entry `seq = user.ledgerSeq + 1` left by a crashed writer is applied to the user first;
 * 2. idempotency: an entry with the same `idempotencyKey` (unique index) means the movement already happened — it is
 *    returned, nothing moves twice (e.g. `charge:<instance>:<period start>` for a billing period);
 * 3. append the entry (unique `_id` `<user>:<seq>`), then store the new balance and sequence on the user — each write
 *    fenced (`user-lock.ts`): a holder that lost the lock stops, and the next movement rolls its entry forward.
 * Money is integer minor units throughout.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from './errors.js';
import { withUserLock, type HeldLock, type LockOptions } from './user-lock.js';
import { walletAccount } from './orgs/migrate.js';
import { isDuplicateKey, type ApiStore, type LedgerDoc, type LedgerType, type OrganisationDoc } from './store.js';

export interface Movement {
  type: LedgerType;
  /** Signed minor units: positive credits, negative debits. */
  amountMinor: number;
  idempotencyKey: string;
  instanceId?: string | undefined;
  period?: { start: Date; end: Date } | undefined;
  memo: string;
}

/** Ledger key of the charge for an instance's period starting at `start`: `charge:<instance>:<start ISO>`. */
export function periodChargeKey(instanceId: string, start: Date): string {
  return `charge:${instanceId}:${start.toISOString()}`;
}

/** One period of one instance to charge. */
export interface ChargeItem {
  instanceId: string;
  period: { start: Date; end: Date };
}

/** What {@link Wallet.chargePeriods} did with one period. */
export type ChargeOutcome = 'charged' | 'duplicate' | 'insufficient' | 'skipped';

/** Documents per bulk write command: FerretDB v1 hangs on write commands of ≥ 100 statements. */
export const LEDGER_CHUNK = 50;

export interface MovementResult {
  entry: LedgerDoc;
  /** True when the idempotency key had been used: nothing moved now. */
  duplicate: boolean;
  balanceMinor: number;
}

export class Wallet {
  /** `lock`: the user lock's timing (tests shorten it). */
  constructor(
    private readonly store: ApiStore,
    private readonly o: { lock?: LockOptions } = {},
  ) {}

  /**
   * Applies `m` for `userId`. With `requireFunds`, a debit that would make the balance negative is refused.
   * @throws AppError `insufficient_funds` (402), `not_found` for an unknown user, `busy` when the lock times out.
   */
  async apply(userId: string, m: Movement, o: { requireFunds?: boolean } = {}): Promise<MovementResult> {
    if (!Number.isSafeInteger(m.amountMinor)) throw new RangeError('amountMinor must be a safe integer');
    return withUserLock(this.store, userId, (lock) => this.applyLocked(userId, m, o, lock), this.o.lock);
  }

  private async applyLocked(userId: string, m: Movement, o: { requireFunds?: boolean }, lock: HeldLock): Promise<MovementResult> {
    const user = await this.rollForward(userId, lock);
    const existing = await this.store.ledger.findOne({ idempotencyKey: m.idempotencyKey });
    if (existing) return { entry: existing, duplicate: true, balanceMinor: user.balanceMinor };
    const balanceAfterMinor = user.balanceMinor + m.amountMinor;
    if (o.requireFunds && m.amountMinor < 0 && balanceAfterMinor < 0) {
      throw new AppError(
        'insufficient_funds',
        `The balance (${user.balanceMinor}) cannot pay ${-m.amountMinor} (minor units); top up the wallet first.`,
        {
          balanceMinor: user.balanceMinor,
          requiredMinor: -m.amountMinor,
        },
      );
    }
    const seq = user.ledgerSeq + 1;
    const entry: LedgerDoc = {
      _id: `${userId}:${seq}`,
      userId,
      seq,
      type: m.type,
      amountMinor: m.amountMinor,
      balanceAfterMinor,
      idempotencyKey: m.idempotencyKey,
      ...(m.instanceId ? { instanceId: m.instanceId } : {}),
      ...(m.period ? { period: m.period } : {}),
      memo: m.memo,
      createdAt: new Date(),
    };
    lock.fence();
    await this.store.ledger.insertOne(entry);
    lock.fence();
    await this.store.organisations.updateOne({ _id: userId }, { $set: { balanceMinor: balanceAfterMinor, ledgerSeq: seq } });
    return { entry, duplicate: false, balanceMinor: balanceAfterMinor };
  }

  /** An emulated deposit of `amountMinor` (> 0). `idempotencyKey` from the client's Idempotency-Key header, if any. */
  deposit(userId: string, amountMinor: number, idempotencyKey?: string): Promise<MovementResult> {
    return this.apply(userId, {
      type: 'deposit',
      amountMinor,
      idempotencyKey: `deposit:${userId}:${idempotencyKey ?? randomUUID()}`,
      memo: 'Deposit (emulated payment)',
    });
  }

  /**
   * Charges one period of an instance, once: the key is `charge:<instance>:<period start ISO>`.
   * @throws AppError `insufficient_funds` when the balance cannot pay.
   */
  chargePeriod(userId: string, instanceId: string, priceMinor: number, period: { start: Date; end: Date }): Promise<MovementResult> {
    return this.apply(
      userId,
      {
        type: 'charge',
        amountMinor: -priceMinor,
        idempotencyKey: periodChargeKey(instanceId, period.start),
        instanceId,
        period,
        memo: `Instance ${instanceId}: ${period.start.toISOString().slice(0, 10)} – ${period.end.toISOString().slice(0, 10)}`,
      },
      { requireFunds: true },
    );
  }

  /**
   * Charges many periods of one account at once (billing's daily run): under one hold of the account's lock, the
   * new entries appended in order by `insertMany` (chunks of {@link LEDGER_CHUNK}) and the balance stored once. The
   * guarantees are {@link chargePeriod}'s: a key is charged once — the ledger's unique index on the key refuses a
   * used one (the refused entry is `duplicate`, nothing moves; no read per key), no debit makes the balance negative
   * — `items` are taken in order; a period the balance cannot pay is `duplicate` if its key was used, else
   * `insufficient`, and that instance's later periods are `skipped` — and every write is fenced; a crash between the
   * appends and the balance leaves entries the next movement rolls forward.
   * @returns per item: `charged`, `duplicate`, `insufficient` or `skipped`.
   * @throws AppError `not_found` for an unknown account, `busy` when the lock times out or is lost.
   */
  async chargePeriods(userId: string, items: ReadonlyArray<ChargeItem>, priceMinor: number): Promise<ChargeOutcome[]> {
    if (!Number.isSafeInteger(priceMinor) || priceMinor < 0) throw new RangeError('priceMinor must be a non-negative safe integer');
    if (items.length === 0) return [];
    return withUserLock(this.store, userId, (lock) => this.chargePeriodsLocked(userId, items, priceMinor, lock), this.o.lock);
  }

  private async chargePeriodsLocked(
    userId: string,
    items: ReadonlyArray<ChargeItem>,
    priceMinor: number,
    lock: HeldLock,
  ): Promise<ChargeOutcome[]> {
    const user = await this.rollForward(userId, lock);
    const out: ChargeOutcome[] = [];
    const broke = new Map<string, number>(); // instance → the item its balance could not pay
    let balance = user.balanceMinor;
    let seq = user.ledgerSeq;
    const createdAt = new Date();
    const keys = items.map((it) => periodChargeKey(it.instanceId, it.period.start));
    // The keys already used, read once at the first refused insert (a retry after a crash): one query, not one per key.
    let used: Set<string> | undefined;
    const wasUsed = async (k: number) => (used ? used.has(keys[k]!) : Boolean(await this.entry(keys[k]!)));
    let next = 0;
    while (next < items.length) {
      // The next chunk: entries built from the current balance and sequence.
      const chunk: Array<{ k: number; entry: LedgerDoc }> = [];
      let b = balance;
      let q = seq;
      for (; next < items.length && chunk.length < LEDGER_CHUNK; next++) {
        const it = items[next]!;
        const key = keys[next]!;
        if (broke.has(it.instanceId)) {
          out[next] = 'skipped';
          continue;
        }
        if (used?.has(key)) {
          out[next] = 'duplicate';
          continue;
        }
        if (b - priceMinor < 0) {
          if (await wasUsed(next)) out[next] = 'duplicate';
          else {
            out[next] = 'insufficient';
            broke.set(it.instanceId, next);
          }
          continue;
        }
        b -= priceMinor;
        q++;
        chunk.push({ k: next, entry: chargeEntry(userId, q, b, priceMinor, it, createdAt) });
      }
      if (chunk.length === 0) continue;
      lock.fence();
      const refused = await insertOrdered(
        this.store,
        chunk.map((c) => c.entry),
      );
      const inserted = refused ?? chunk.length;
      for (const c of chunk.slice(0, inserted)) out[c.k] = 'charged';
      if (inserted > 0) ({ balanceAfterMinor: balance, seq } = chunk[inserted - 1]!.entry);
      if (refused === undefined) continue;
      // The refused entry's key was used (else the error is thrown): a duplicate; the items after it are built again.
      const dup = chunk[refused]!;
      used ??= new Set(
        (await this.store.ledger.find({ idempotencyKey: { $in: keys.slice(dup.k) } }, { projection: { idempotencyKey: 1 } }).toArray()).map(
          (e) => e.idempotencyKey,
        ),
      );
      if (!(await wasUsed(dup.k))) throw new Error(`ledger entry ${dup.entry._id} refused, its key unused`);
      out[dup.k] = 'duplicate';
      next = dup.k + 1;
      for (const [id, k] of broke) if (k > dup.k) broke.delete(id); // judged on a balance that did not happen
    }
    if (seq !== user.ledgerSeq) {
      lock.fence();
      await this.store.organisations.updateOne({ _id: userId }, { $set: { balanceMinor: balance, ledgerSeq: seq } });
    }
    return out;
  }

  /**
   * {@link chargePeriods} for many accounts at once, each under its lock `user:<account>` already held by the caller
   * (billing takes them together: `LockSet`), by a few commands for them all: one read of the accounts, ordered
   * `insertMany`s of whole accounts' entries (≤ {@link LEDGER_CHUNK} a command), `bulkWrite`s of the balances by `_id`
   * (20 a command). The guarantees are {@link chargePeriods}'s — each key charged once (the ledger's unique index), no
   * balance below zero, every write fenced, a crash between the entries and the balances rolled forward by the next
   * movement. An account the batch does not fit goes through {@link chargePeriods}'s own steps under its held lock: no
   * organisation document yet (migrated there), more than {@link LEDGER_CHUNK} periods, a balance that cannot pay them
   * all, or an entry refused by the ledger — its `_id` `<account>:<seq>` taken by an entry left to roll forward (a
   * crash between a movement's entry and its balance), its key already used (a retry after a crash), or a lost lock's
   * successor; its entries inserted before the refusal count as `charged`.
   * @returns per account, in order: its outcomes per item (as {@link chargePeriods}'s) or the error that stopped it
   *   (e.g. LockLostError, `not_found`); nothing is thrown for one account.
   * @throws the database's error when the accounts cannot be read.
   */
  async chargeAccounts(
    accounts: ReadonlyArray<{ userId: string; items: ReadonlyArray<ChargeItem>; lock: HeldLock }>,
    priceMinor: number,
  ): Promise<Array<ChargeOutcome[] | Error>> {
    if (!Number.isSafeInteger(priceMinor) || priceMinor < 0) throw new RangeError('priceMinor must be a non-negative safe integer');
    const out: Array<ChargeOutcome[] | Error> = accounts.map(() => []);
    const ids = accounts.map((a) => a.userId);
    const orgs = new Map((await this.store.organisations.find({ _id: { $in: ids } }).toArray()).map((o) => [o._id, o]));
    const oneByOne = new Map<number, number>(); // account → how many of its items the batch charged before it left
    const plans: Array<{ a: number; entries: LedgerDoc[] }> = [];
    const createdAt = new Date();
    accounts.forEach((acc, a) => {
      const org = orgs.get(acc.userId);
      if (acc.items.length === 0) return;
      if (!org) {
        oneByOne.set(a, 0);
        return;
      }
      const fits = acc.items.length <= LEDGER_CHUNK && org.balanceMinor >= acc.items.length * priceMinor;
      if (!fits) {
        oneByOne.set(a, 0);
        return;
      }
      let b = org.balanceMinor;
      const entries = acc.items.map((it, k) =>
        chargeEntry(acc.userId, org.ledgerSeq + k + 1, (b -= priceMinor), priceMinor, it, createdAt),
      );
      plans.push({ a, entries });
    });
    const done: Array<{ a: number; last: LedgerDoc }> = [];
    let queue = plans;
    while (queue.length > 0) {
      let take = 1;
      let size = queue[0]!.entries.length;
      while (take < queue.length && size + queue[take]!.entries.length <= LEDGER_CHUNK) size += queue[take++]!.entries.length;
      let rest = queue.slice(take);
      const live = queue.slice(0, take).filter((p) => fenced(accounts[p.a]!.lock, (err) => (out[p.a] = err)));
      const refused = live.length
        ? await insertOrdered(
            this.store,
            live.flatMap((p) => p.entries),
          )
        : undefined;
      let at = 0; // index of the account's first entry in the command
      for (const [n, p] of live.entries()) {
        if (refused !== undefined && refused < at + p.entries.length) {
          oneByOne.set(p.a, refused - at); // the refused entry's account (its entries before it are in)
          rest = [...live.slice(n + 1), ...rest]; // the accounts after it were not inserted
          break;
        }
        out[p.a] = p.entries.map(() => 'charged');
        done.push({ a: p.a, last: p.entries[p.entries.length - 1]! });
        at += p.entries.length;
      }
      queue = rest;
    }
    const balances = done.map(({ a, last }) => ({ a, update: { _id: accounts[a]!.userId, last } }));
    for (let i = 0; i < balances.length; i += 20) {
      // A lost lock: its entries are in, the next movement rolls them forward.
      const part = balances.slice(i, i + 20).filter(({ a }) => fenced(accounts[a]!.lock, (err) => (out[a] = err)));
      if (part.length === 0) continue;
      await this.store.organisations.bulkWrite(
        part.map(({ update: { _id, last } }) => ({
          updateOne: { filter: { _id }, update: { $set: { balanceMinor: last.balanceAfterMinor, ledgerSeq: last.seq } } },
        })),
        { ordered: false },
      );
    }
    for (const [a, charged] of oneByOne) {
      const acc = accounts[a]!;
      try {
        const r = await this.chargePeriodsLocked(acc.userId, acc.items, priceMinor, acc.lock);
        out[a] = r.map((o, k) => (k < charged ? 'charged' : o));
      } catch (err) {
        out[a] = err as Error;
      }
    }
    return out;
  }

  /** The ledger entry recorded under `idempotencyKey`, or null: whether that movement happened. */
  entry(idempotencyKey: string): Promise<LedgerDoc | null> {
    return this.store.ledger.findOne({ idempotencyKey });
  }

  /** Current balance (after rolling forward an interrupted movement). */
  async balance(userId: string): Promise<number> {
    const user = await walletAccount(this.store, userId);
    if (!user) throw new AppError('not_found', 'No such organisation.');
    const pending = await this.store.ledger.findOne({ _id: `${userId}:${user.ledgerSeq + 1}` });
    if (!pending) return user.balanceMinor;
    return (await withUserLock(this.store, userId, (lock) => this.rollForward(userId, lock), this.o.lock)).balanceMinor;
  }

  /** Under the lock: applies ledger entries a crashed writer appended but did not record on the user. */
  private async rollForward(userId: string, lock: HeldLock): Promise<OrganisationDoc> {
    let user = await walletAccount(this.store, userId);
    if (!user) throw new AppError('not_found', 'No such organisation.');
    for (;;) {
      const next: LedgerDoc | null = await this.store.ledger.findOne({ _id: `${userId}:${user.ledgerSeq + 1}` });
      if (!next) return user;
      lock.fence();
      await this.store.organisations.updateOne({ _id: userId }, { $set: { balanceMinor: next.balanceAfterMinor, ledgerSeq: next.seq } });
      user = { ...user, balanceMinor: next.balanceAfterMinor, ledgerSeq: next.seq };
    }
  }
}

/** The ledger entry charging `it`: sequence `seq` of `userId`, leaving `balanceAfterMinor`. */
function chargeEntry(
  userId: string,
  seq: number,
  balanceAfterMinor: number,
  priceMinor: number,
  it: ChargeItem,
  createdAt: Date,
): LedgerDoc {
  return {
    _id: `${userId}:${seq}`,
    userId,
    seq,
    type: 'charge',
    amountMinor: -priceMinor,
    balanceAfterMinor,
    idempotencyKey: periodChargeKey(it.instanceId, it.period.start),
    instanceId: it.instanceId,
    period: it.period,
    memo: `Instance ${it.instanceId}: ${it.period.start.toISOString().slice(0, 10)} – ${it.period.end.toISOString().slice(0, 10)}`,
    createdAt,
  };
}

/** Whether `lock` still holds (`fence()`); else `lost` gets the error. */
function fenced(lock: HeldLock, lost: (err: Error) => void): boolean {
  try {
    lock.fence();
    return true;
  } catch (err) {
    lost(err as Error);
    return false;
  }
}

/**
 * Inserts `entries` in order. @returns undefined when all were inserted, else the index of the first one refused as a
 * duplicate key (those before it are in, none after it).
 * @throws the database's error for anything but a duplicate key.
 */
async function insertOrdered(store: ApiStore, entries: LedgerDoc[]): Promise<number | undefined> {
  try {
    await store.ledger.insertMany(entries, { ordered: true });
    return undefined;
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const e = err as { writeErrors?: { index: number } | Array<{ index: number }>; insertedCount?: number };
    const first = Array.isArray(e.writeErrors) ? e.writeErrors[0] : e.writeErrors;
    const index = first?.index ?? e.insertedCount;
    if (index === undefined) throw err;
    return index;
  }
}
