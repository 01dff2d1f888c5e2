/**
 * Charges in flight. A charge and the state it pays for (a new instance, a resumed one) are written one after the
 * other, not at once (no transactions on FerretDB v1), so a crash between them would keep the money without the state.
 * Hence, under the tenant's billing lock:
 * 1. record an intent `{ kind, instanceId, period }` whose `_id` is the charge's ledger idempotency key;
 * 2. charge (the wallet's movement with that key);
 * 3. make the state (insert and provision the instance / resume it, with the intent's period);
 * 4. remove the intent.
 * An intent found later (by the next billing run, or before the tenant's next resume) is settled: without a ledger
 * entry for its key the money never moved, and it is dropped; with one, the state is completed — or, for a creation
 * whose instance cannot be completed, the charge is refunded once (key `refund:<instance>:<period start>`). Every
 * step is idempotent, so a crash while settling is settled again.
 */
import type { Logger } from 'pino';
import { ProviderError, type InstanceProvider, type ProvisionRequest } from '../providers/index.js';
import type { ApiStore, BillingIntentDoc, InstanceDoc } from '../store.js';
import type { HeldLock } from '../user-lock.js';
import type { Wallet } from '../wallet.js';

/** How an intent was settled: its state completed, its charge rolled back (never made, or refunded). */
export type SettleResult = 'completed' | 'rolled_back';

/** Ledger key of the fresh period charged when `doc` is resumed: once per suspension. */
export function resumeChargeKey(doc: InstanceDoc): string {
  return `charge:${doc._id}:resume:${(doc.suspendedAt ?? doc.paidUntil).toISOString()}`;
}

/** Ledger key of a creation's refund. */
export function refundKey(intent: BillingIntentDoc): string {
  return `refund:${intent.instanceId}:${intent.period.start.toISOString()}`;
}

/**
 * Provisioning request of a stored instance. Its runtime is scaled to zero while billing suspends it or its tenant
 * stopped it (`suspended || stopped`): the provider does not tell the two apart, the api's record does.
 */
export function provisionRequest(d: InstanceDoc): ProvisionRequest {
  return { id: d._id, owner: d.userId, name: d.name, engine: d.engine, suspended: d.suspended || d.stopped === true };
}

export class BillingIntents {
  constructor(private readonly o: { store: ApiStore; wallet: Wallet; provider: InstanceProvider; logger: Logger }) {}

  /** Step 1: records `intent` before its charge. Caller holds the tenant's billing lock. */
  async begin(intent: BillingIntentDoc, lock: HeldLock): Promise<void> {
    lock.fence();
    await this.o.store.billingIntents.insertOne(intent);
  }

  /** Step 4: the state is recorded (or the charge rolled back); forget the intent. */
  async drop(id: string, lock: HeldLock): Promise<void> {
    lock.fence();
    await this.o.store.billingIntents.deleteOne({ _id: id });
  }

  /**
   * Completes or rolls back an intent left by an interrupted operation. Caller holds the tenant's billing lock.
   * @throws the provider's error when the state cannot be completed now (the intent stays; the next run retries).
   */
  async settle(intent: BillingIntentDoc, lock: HeldLock): Promise<SettleResult> {
    if (!(await this.o.wallet.entry(intent._id))) {
      await this.drop(intent._id, lock); // the money never moved
      this.o.logger.info({ intent: intent._id }, 'billing intent dropped: its charge was never made');
      return 'rolled_back';
    }
    const result = intent.kind === 'resume' ? await this.completeResume(intent, lock) : await this.completeCreate(intent, lock);
    this.o.logger.info({ intent: intent._id, result }, 'billing intent settled');
    return result;
  }

  /**
   * Step 3 of a resumption whose charge is made: runs the instance (unless its tenant stopped it: then it stays
   * stopped) and records it active with the intent's period, then drops the intent. A deleted instance keeps nothing to
   * resume.
   */
  async completeResume(intent: BillingIntentDoc, lock: HeldLock): Promise<SettleResult> {
    const doc = await this.o.store.instances.findOne({ _id: intent.instanceId });
    if (doc && !doc.deletedAt) {
      lock.fence();
      if (!doc.stopped)
        await this.o.provider.resume(doc._id).catch((err: unknown) => {
          if (!(err instanceof ProviderError && err.code === 'not_found')) throw err;
          this.o.logger.error({ instance: doc._id }, 'resume: the provider has no such instance (the next provider reconcile creates it)');
        });
      if (doc.suspended) {
        lock.fence();
        await this.o.store.instances.updateOne(
          { _id: doc._id },
          {
            $set: {
              suspended: false,
              suspendedAt: null,
              deletingAt: null,
              paidUntil: intent.period.end,
              billingAnchorDay: intent.anchorDay,
            },
          },
        );
      }
    }
    await this.drop(intent._id, lock);
    return 'completed';
  }

  /**
   * A creation whose first period is charged: provisions the recorded instance (idempotent), or refunds the charge
   * when there is no instance record (the crash came before it) or the provider refuses it for good.
   */
  private async completeCreate(intent: BillingIntentDoc, lock: HeldLock): Promise<SettleResult> {
    const doc = await this.o.store.instances.findOne({ _id: intent.instanceId });
    if (!doc || (await this.o.wallet.entry(refundKey(intent)))) {
      await this.rollBackCreate(intent, lock, 'its creation was interrupted before the instance was recorded');
      return 'rolled_back';
    }
    if (!doc.deletedAt) {
      try {
        lock.fence();
        await this.o.provider.create(provisionRequest(doc));
      } catch (err) {
        if (!(err instanceof ProviderError && err.code === 'rejected')) throw err;
        this.o.logger.error({ err, instance: doc._id }, 'provisioning refused; refunding the first period');
        await this.rollBackCreate(intent, lock, 'the instance runtime refused it');
        return 'rolled_back';
      }
    } // else: deleted by its tenant after a creation that had succeeded (a refund would have come first)
    await this.drop(intent._id, lock);
    return 'completed';
  }

  /**
   * Undoes a charged creation: refunds the charge once, marks the instance deleted if it was recorded, drops the
   * intent — in that order, so a recorded refund tells the next settle that the rollback had begun.
   */
  async rollBackCreate(intent: BillingIntentDoc, lock: HeldLock, why: string): Promise<void> {
    const doc = await this.o.store.instances.findOne({ _id: intent.instanceId });
    if (doc && !doc.deletedAt) {
      lock.fence();
      await this.o.provider.delete(intent.instanceId).catch((err: unknown) => {
        this.o.logger.warn(
          { err, instance: intent.instanceId },
          'removing a partly provisioned instance failed (the next reconcile removes it)',
        );
      });
    }
    const charge = await this.o.wallet.entry(intent._id);
    if (charge) {
      lock.fence();
      await this.o.wallet.apply(intent.userId, {
        type: 'refund',
        amountMinor: -charge.amountMinor,
        idempotencyKey: refundKey(intent),
        instanceId: intent.instanceId,
        memo: `Refund: instance ${intent.instanceId} could not be provisioned`,
      });
    }
    if (doc && !doc.deletedAt) {
      lock.fence();
      await this.o.store.instances.updateOne({ _id: doc._id }, { $set: { deletedAt: new Date() } });
    }
    await this.drop(intent._id, lock);
    this.o.logger.warn({ instance: intent.instanceId, why }, 'instance creation rolled back; first period refunded');
  }
}
