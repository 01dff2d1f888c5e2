/**
 * The daily run's charges of many tenants per database command (issue 18): a chunk of tenants whose due instances
 * are all active (not suspended, not being deleted) is billed together —
 * 1. their locks `billing:<tenant>` and `user:<tenant>` taken by one command (`LockSet`); a tenant whose lock is held
 *    elsewhere is left for the one-by-one path (`Billing.billTenant`, which waits for it);
 * 2. their instances read afresh by one `_id: {$in}` query; a tenant with a due instance that is now suspended or being
 *    deleted is left for the one-by-one path too (those steps call the provider);
 * 3. every due period of each (catch-up included) charged by {@link Wallet.chargeAccounts}: one read of the wallets,
 *    ordered `insertMany`s of the chunk's ledger entries (each keyed `charge:<instance>:<period start>`, unique: a
 *    period is charged once whatever runs at once or again), one `bulkWrite` of the balances; the `user:` locks are
 *    released;
 * 4. `paidUntil` advanced by `bulkWrite`s of `updateOne`s filtered by `_id` (batched by wacloud's FerretDB build:
 *    docs/embedded-database.md), 20 statements a command;
 * 5. the instances the balance could not pay suspended (recorded first, then the provider), then the `billing:` locks
 *    released.
 * A crash anywhere is safe as in the one-by-one path: ledger entries without their balance are rolled forward by the
 * next movement, charges without their `paidUntil` are found `duplicate` by the next run, which only advances.
 */
import type { BillingSummary, BillingMetrics } from './metrics.js';
import { nextPeriod } from '../periods.js';
import type { ApiStore, InstanceDoc } from '../store.js';
import { LockSet, type HeldLock, type LockOptions } from '../user-lock.js';
import type { ChargeItem, Wallet } from '../wallet.js';

/** At most this many periods are caught up for one instance in one run. */
export const MAX_CATCH_UP = 24;

/** Statements per update command (a stock FerretDB v1 never answers 50 matching ones: docs/embedded-database.md). */
export const UPDATE_CHUNK = 20;

/** The periods of `doc` due at `now`, oldest first (at most {@link MAX_CATCH_UP}). */
export function duePeriods(doc: InstanceDoc, now: Date): ChargeItem[] {
  const items: ChargeItem[] = [];
  let until = doc.paidUntil;
  for (let i = 0; i < MAX_CATCH_UP && until <= now; i++) {
    const period = nextPeriod(until, doc.billingAnchorDay);
    items.push({ instanceId: doc._id, period });
    until = period.end;
  }
  return items;
}

/** Orders documents by `_id`. */
export function byId(a: { _id: string }, b: { _id: string }): number {
  return a._id < b._id ? -1 : a._id > b._id ? 1 : 0;
}

/** Whether billing only charges `doc` (no provider call): neither suspended nor being deleted. */
export function chargeOnly(doc: InstanceDoc): boolean {
  return !doc.suspended && !doc.deletingAt;
}

export interface ChunkDeps {
  store: ApiStore;
  wallet: Wallet;
  priceMinor: number;
  lock?: LockOptions | undefined;
  metrics?: BillingMetrics | undefined;
  /** Records `doc` suspended and suspends it in the provider; the caller's billing lock is `lock`. */
  suspend(doc: InstanceDoc, lock: HeldLock): Promise<void>;
}

/**
 * Bills `tenants` (tenant → its due instances as seen by the page read, all {@link chargeOnly}) together; see the
 * module comment. Counts into `s`; an instance's failure goes to `fail` (at most once each), suspended ones into
 * `applied`. Never throws.
 * @returns the tenants left for the one-by-one path (lock held elsewhere, or an instance that is no longer charge-only).
 */
export async function billChunk(
  d: ChunkDeps,
  tenants: Map<string, InstanceDoc[]>,
  now: Date,
  s: BillingSummary,
  applied: Set<string>,
  fail: (instanceId: string, err: unknown) => void,
): Promise<string[]> {
  const ids = [...tenants.keys()];
  let set: LockSet;
  let refused: number[];
  try {
    ({ set, refused } = await LockSet.take(
      d.store,
      ids.map((u) => [`billing:${u}`, `user:${u}`]),
      d.lock,
    ));
  } catch (err) {
    for (const docs of tenants.values()) for (const doc of docs) fail(doc._id, err);
    return [];
  }
  const later = refused.map((i) => ids[i]!);
  const held = ids.filter((u) => !later.includes(u));
  try {
    if (held.length === 0) return later;
    const fresh = await d.store.instances.find({ _id: { $in: held.flatMap((u) => tenants.get(u)!.map((doc) => doc._id)) } }).toArray(); // sorted here: a sort of an `$in` costs the embedded server about as much as the read
    fresh.sort(byId);
    const due = new Map<string, InstanceDoc[]>(held.map((u) => [u, []]));
    const changed = new Set<string>();
    for (const doc of fresh) {
      const list = due.get(doc.userId);
      if (!list || doc.deletedAt || doc.paidUntil > now) continue; // another run got here first
      if (chargeOnly(doc)) list.push(doc);
      else changed.add(doc.userId);
    }
    for (const u of changed) due.delete(u);
    later.push(...changed);
    await set.release([...changed].flatMap((u) => [`billing:${u}`, `user:${u}`]));

    // 3. Charges.
    const accounts = [...due].map(([userId, docs]) => ({
      userId,
      docs,
      items: docs.flatMap((doc) => duePeriods(doc, now)),
      lock: set.lock(`user:${userId}`),
    }));
    const outcomes = await d.wallet.chargeAccounts(accounts, d.priceMinor);
    await set.release(accounts.map((a) => `user:${a.userId}`));

    // 4. paidUntil advanced; 5. the unpaid suspended.
    const advances: Array<{ id: string; until: Date; lock: HeldLock }> = [];
    const unpaid: Array<{ doc: InstanceDoc; lock: HeldLock }> = [];
    accounts.forEach((acc, a) => {
      const r = outcomes[a]!;
      if (r instanceof Error) {
        for (const doc of acc.docs) fail(doc._id, r);
        return;
      }
      const lock = set.lock(`billing:${acc.userId}`);
      const paidUntil = new Map<string, Date>();
      const broke = new Set<string>();
      r.forEach((o, k) => {
        const { instanceId, period } = acc.items[k]!;
        if (o === 'charged' || o === 'duplicate') {
          paidUntil.set(instanceId, period.end);
          if (o === 'duplicate') s.alreadyCharged++;
          else s.charged++;
          d.metrics?.charges.inc({ result: o === 'duplicate' ? 'already_charged' : 'charged' });
        } else if (o === 'insufficient') broke.add(instanceId);
      });
      for (const [id, until] of paidUntil) advances.push({ id, until, lock });
      for (const doc of acc.docs)
        if (broke.has(doc._id)) unpaid.push({ doc: { ...doc, paidUntil: paidUntil.get(doc._id) ?? doc.paidUntil }, lock });
    });
    for (let i = 0; i < advances.length; i += UPDATE_CHUNK) {
      const part = advances.slice(i, i + UPDATE_CHUNK).filter((x) => {
        try {
          x.lock.fence();
          return true;
        } catch (err) {
          fail(x.id, err);
          return false;
        }
      });
      if (part.length === 0) continue;
      try {
        await d.store.instances.bulkWrite(
          part.map((x) => ({ updateOne: { filter: { _id: x.id }, update: { $set: { paidUntil: x.until } } } })),
          { ordered: false },
        );
      } catch (err) {
        for (const x of part) fail(x.id, err); // charged: the next run finds the keys used and only advances
      }
    }
    for (const { doc, lock } of unpaid) {
      try {
        await d.suspend(doc, lock);
        s.suspended++;
        applied.add(doc._id);
      } catch (err) {
        fail(doc._id, err);
      }
    }
  } catch (err) {
    for (const u of held) if (!later.includes(u)) for (const doc of tenants.get(u)!) fail(doc._id, err);
  } finally {
    await set.release();
  }
  return later;
}
