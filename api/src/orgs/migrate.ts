/**
 * Every account belongs to an organisation. Accounts from before organisations (a user document without `orgId`)
 * become the owner of an organisation of their own, whose id is the account's id — so their ledger entries
 * (`<id>:<seq>`), instances, billing intents and locks (`user:<id>`, `billing:<id>`) are the organisation's as they
 * are, and nothing else is rewritten. The wallet's balance moves from the user document to the organisation's; the
 * ledger stays the truth: the wallet rolls the organisation's balance forward over any ledger entry it has not applied
 * (`wallet.ts`), so an entry written meanwhile by an older api replica is not lost.
 *
 * Idempotent and safe with several api replicas at once: every step is a unique insert (a duplicate means another
 * replica, or an earlier run, did it) or a write of the same value. Run over every account at the api's start
 * ({@link migrateAccounts}) and, for one account, wherever one is met first (login, the wallet).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { isDuplicateKey, type ApiStore, type MemberDoc, type OrganisationDoc, type UserDoc } from '../store.js';

/** A new random member id (`m_…`). */
export function newMemberId(): string {
  return `m_${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x')}`;
}

/** A new random organisation id (`o_…`) for an account that left or was removed from its organisation. */
export function newOrgId(): string {
  return `o_${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x')}`;
}

/** Inserts `doc`; a duplicate key (it exists already) is not an error. @returns whether this call inserted it. */
async function insertOnce<T extends { _id: string }>(coll: { insertOne(doc: never): Promise<unknown> }, doc: T): Promise<boolean> {
  try {
    await coll.insertOne(doc as never);
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

/**
 * Makes `user` the owner of an organisation with id `orgId` (default: the account's own id) unless it is a member of
 * one already, and records `orgId` on the user. Idempotent; concurrent calls agree (unique `_id`s, unique member
 * `userId`). The organisation takes over a legacy balance (`balanceMinor`, `ledgerSeq`) from the user document.
 * @returns the account's membership.
 */
export async function ensureOwnOrganisation(store: ApiStore, user: UserDoc, orgId = user._id): Promise<MemberDoc> {
  const org: OrganisationDoc = {
    _id: orgId,
    name: user.email,
    createdAt: orgId === user._id ? user.createdAt : new Date(),
    balanceMinor: orgId === user._id ? (user.balanceMinor ?? 0) : 0,
    ledgerSeq: orgId === user._id ? (user.ledgerSeq ?? 0) : 0,
  };
  await insertOnce(store.organisations, org);
  // Deterministic for the account's own organisation: two replicas migrating the same account insert the same member.
  const member: MemberDoc = {
    _id: orgId === user._id ? `m_${user._id}` : newMemberId(),
    orgId,
    userId: user._id,
    email: user.email,
    role: 'owner',
    rights: {},
    createdAt: new Date(),
  };
  await insertOnce(store.members, member); // a duplicate `userId`: a member somewhere already (kept)
  const actual = (await store.members.findOne({ userId: user._id }))!;
  await store.users.updateOne({ _id: user._id }, { $set: { orgId: actual.orgId } });
  return actual;
}

/**
 * The start-up migration: every account without `orgId` gets its own organisation (see the module comment).
 * @returns how many accounts were migrated by this call.
 */
export async function migrateAccounts(store: ApiStore, logger: Logger): Promise<number> {
  let n = 0;
  for (;;) {
    const batch = await store.users
      .find({ orgId: { $exists: false } })
      .limit(500)
      .toArray();
    if (batch.length === 0) break;
    for (const user of batch) {
      await ensureOwnOrganisation(store, user);
      n++;
    }
  }
  if (n > 0) logger.info({ accounts: n }, 'accounts migrated to organisations of their own');
  return n;
}

/**
 * The organisation `id` for the wallet, migrating the legacy account of that id first when it has none yet.
 * @returns undefined when neither exists.
 */
export async function walletAccount(store: ApiStore, id: string): Promise<OrganisationDoc | undefined> {
  const org = await store.organisations.findOne({ _id: id });
  if (org) return org;
  const user = await store.users.findOne({ _id: id });
  if (!user || user.orgId !== undefined) return undefined;
  await ensureOwnOrganisation(store, user);
  return (await store.organisations.findOne({ _id: id })) ?? undefined;
}
