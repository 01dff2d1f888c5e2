/**
 * Instances of a tenant (spec §2.1.4–5, 2.1.9–10): created only when the balance pays the first period (which is
 * charged at once), listed and shown with the provider's view (phase, session state), deleted. Another tenant's
 * instance id answers 404, exactly like an unknown one.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { AppError } from './errors.js';
import { firstPeriod } from './periods.js';
import { ProviderError, type InstanceEndpoints, type InstanceProvider, type ProviderStatus, type ProvisionRequest } from './providers/index.js';
import type { ApiStore, InstanceDoc } from './store.js';
import type { Wallet } from './wallet.js';
import type { InstanceClient } from './instance-client.js';

export interface InstanceView {
  id: string;
  name: string;
  engine: 'webjs' | 'simulated';
  provider: string;
  createdAt: string;
  /** End of the paid period (ISO 8601). */
  paidUntil: string;
  suspended: boolean;
  suspendedAt: string | null;
  phase: string;
  sessionState: string | null;
  message?: string;
}

/** `i-` + 12 characters of lower-case base32: a DNS label, unique, stable. */
export function newInstanceId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return `i-${[...randomBytes(12)].map((b) => alphabet[b & 31]).join('')}`;
}

export class InstanceService {
  constructor(
    private readonly store: ApiStore,
    private readonly wallet: Wallet,
    private readonly provider: InstanceProvider,
    private readonly client: InstanceClient,
    private readonly o: { priceMinor: number; engine: 'webjs' | 'simulated'; logger: Logger },
  ) {}

  /** Provisioning request of a stored instance. */
  static request(d: InstanceDoc): ProvisionRequest {
    return { id: d._id, owner: d.userId, name: d.name, engine: d.engine, suspended: d.suspended };
  }

  /**
   * Creates an instance for `userId`: charges the first period, records it, provisions it.
   * @throws AppError `insufficient_funds` (402, nothing created), `name_taken` (409), `provider_unavailable` (503,
   *   the charge refunded).
   */
  async create(userId: string, name: string): Promise<InstanceView> {
    if (await this.store.instances.findOne({ userId, name, deletedAt: null })) throw new AppError('name_taken');
    const id = newInstanceId();
    const period = firstPeriod(new Date());
    await this.wallet.chargePeriod(userId, id, this.o.priceMinor, period);
    const doc: InstanceDoc = {
      _id: id,
      userId,
      name,
      engine: this.o.engine,
      provider: this.provider.kind,
      createdAt: period.start,
      paidUntil: period.end,
      billingAnchorDay: period.anchorDay,
      suspended: false,
      suspendedAt: null,
      deletedAt: null,
    };
    await this.store.instances.insertOne(doc);
    try {
      await this.provider.create(InstanceService.request(doc));
    } catch (err) {
      this.o.logger.error({ err, instance: id }, 'provisioning failed; refunding the first period');
      await this.store.instances.updateOne({ _id: id }, { $set: { deletedAt: new Date() } });
      await this.wallet.apply(userId, { type: 'refund', amountMinor: this.o.priceMinor, idempotencyKey: `refund:${id}:${period.start.toISOString()}`, instanceId: id, memo: `Refund: instance ${id} could not be provisioned` });
      throw new AppError('provider_unavailable', `The instance could not be provisioned: ${(err as Error).message}`);
    }
    return this.view(doc);
  }

  async list(userId: string): Promise<InstanceView[]> {
    const docs = await this.store.instances.find({ userId, deletedAt: null }).sort({ createdAt: 1, _id: 1 }).toArray();
    return Promise.all(docs.map((d) => this.view(d)));
  }

  /** @throws AppError `instance_not_found` for unknown ids and other tenants' instances alike. */
  async owned(userId: string, id: string): Promise<InstanceDoc> {
    const d = await this.store.instances.findOne({ _id: id, deletedAt: null });
    if (!d || d.userId !== userId) throw new AppError('instance_not_found');
    return d;
  }

  async get(userId: string, id: string): Promise<InstanceView> {
    return this.view(await this.owned(userId, id));
  }

  /** Deletes the instance and its container/resources. */
  async delete(userId: string, id: string): Promise<void> {
    await this.owned(userId, id);
    await this.provider.delete(id).catch((err: Error) => {
      throw new AppError('provider_unavailable', `The instance could not be removed: ${err.message}`);
    });
    await this.store.instances.updateOne({ _id: id }, { $set: { deletedAt: new Date() } });
    this.client.forgetGatewayToken(id);
  }

  /**
   * Endpoints of an owned (or, with `userId` undefined, any live) instance for the gateway and the token API.
   * @throws AppError `instance_not_found`, `instance_suspended` (409), `instance_unavailable` (503).
   */
  async endpoints(id: string, userId?: string): Promise<InstanceEndpoints> {
    const d = userId ? await this.owned(userId, id) : await this.store.instances.findOne({ _id: id, deletedAt: null });
    if (!d) throw new AppError('instance_not_found');
    if (d.suspended) throw new AppError('instance_suspended');
    try {
      return await this.provider.endpoints(id);
    } catch (err) {
      if (err instanceof ProviderError && err.code === 'not_found') throw new AppError('instance_not_found');
      throw new AppError('instance_unavailable', `The instance is not reachable yet (${(err as Error).message}); retry shortly.`);
    }
  }

  /** What should run, for the provider's reconcile at start. */
  async desired(): Promise<ProvisionRequest[]> {
    const docs = await this.store.instances.find({ deletedAt: null }).toArray();
    return docs.filter((d) => d.provider === this.provider.kind).map(InstanceService.request);
  }

  async view(d: InstanceDoc): Promise<InstanceView> {
    const status: ProviderStatus = await Promise.race([
      this.provider.status(d._id),
      new Promise<ProviderStatus>((r) => setTimeout(() => r({ phase: 'Provisioning', message: 'status unavailable (timeout)' }), 3_000).unref()),
    ]).catch((err: Error) => ({ phase: 'Provisioning' as const, message: `status unavailable: ${err.message}` }));
    return {
      id: d._id,
      name: d.name,
      engine: d.engine,
      provider: d.provider,
      createdAt: d.createdAt.toISOString(),
      paidUntil: d.paidUntil.toISOString(),
      suspended: d.suspended,
      suspendedAt: d.suspendedAt ? d.suspendedAt.toISOString() : null,
      phase: d.suspended ? 'Suspended' : status.phase,
      sessionState: status.sessionState ?? null,
      ...(status.message && status.phase !== 'Running' ? { message: status.message } : {}),
    };
  }
}
