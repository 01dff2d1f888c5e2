/**
 * The api's MongoDB collections (mongoose connection, typed native collections for the writes that matter):
 * users, sessions (issued access tokens, for logout), ledger (append-only money movements), instances, locks, throttle
 * (login and registration attempt points), billingIntents (charges in flight: `billing/intents.ts`), organisations,
 * members, invitations and invitationClaims (`orgs/`), audit (append-only, `audit.ts`).
 * Designed for FerretDB v1 too: invariants rest on unique `_id`s and unique indexes (atomic inserts), never on
 * conditional updates under concurrency (not atomic there) — see `user-lock.ts` and `wallet.ts`.
 */
import mongoose, { type Connection } from 'mongoose';

export interface UserDoc {
  _id: string;
  /** Lower-cased. */
  email: string;
  /** argon2id hash. */
  passwordHash: string;
  createdAt: Date;
  /**
   * Legacy (accounts from before organisations): the wallet's balance, minor units. The wallet now lives on the
   * organisation, which takes these over once (`orgs/migrate.ts`); new accounts have none.
   */
  balanceMinor?: number | undefined;
  /** Legacy: sequence number of the last ledger entry applied to `balanceMinor`. */
  ledgerSeq?: number | undefined;
  /**
   * The account's organisation (its membership is the truth: `members`); `null` once removed from it. Absent: an
   * account from before organisations, not migrated yet (`orgs/migrate.ts`).
   */
  orgId?: string | null | undefined;
}

/**
 * An organisation: the wallet, the instances and billing belong to it (ledger entries, instances and billing intents
 * carry its id in their `userId` field — the billing account; an organisation created for an account, at registration
 * or by the migration, has that account's id, so records from before organisations need no rewrite).
 */
export interface OrganisationDoc {
  _id: string;
  name: string;
  createdAt: Date;
  /** Minor currency units; always the `balanceAfterMinor` of ledger entry `ledgerSeq` (`wallet.ts`). */
  balanceMinor: number;
  /** Sequence number of the last ledger entry applied to the balance. */
  ledgerSeq: number;
}

export type Role = 'owner' | 'admin' | 'agent';

/** An agent's rights on one instance (owners and admins have all of them on every instance). */
export interface InstanceRights {
  canRead: boolean;
  canWrite: boolean;
  canManageChats: boolean;
}

/** An account's membership of its organisation (one per account: unique `userId`). */
export interface MemberDoc {
  _id: string;
  orgId: string;
  userId: string;
  /** The account's email at joining (lower-cased), for lists. */
  email: string;
  role: Role;
  /** Per instance id; absent: no rights. Only agents' rights matter. */
  rights: Record<string, InstanceRights>;
  createdAt: Date;
}

/** A pending invitation; its token is never stored, only its SHA-256 (`_id`). */
export interface InvitationDoc {
  /** SHA-256 (hex) of the token. */
  _id: string;
  /** Public id (for lists and revocation). */
  publicId: string;
  orgId: string;
  email: string;
  role: Role;
  invitedBy: string;
  createdAt: Date;
  expiresAt: Date;
  /** Set once accepted (the single use itself is the unique insert into `invitationClaims`). */
  acceptedAt?: Date | null | undefined;
  revokedAt?: Date | null | undefined;
}

/** The one use of an invitation: a unique insert, so two accepts at once cannot both succeed. */
export interface InvitationClaimDoc {
  /** The invitation's `_id`. */
  _id: string;
  userId: string;
  claimedAt: Date;
}

/** One audit log entry: append-only (the api only ever inserts them). */
export interface AuditDoc {
  /** Time-ordered: `<ms since epoch, 13 digits>-<random>`; the cursor of the audit route. */
  _id: string;
  orgId: string;
  at: Date;
  actor: { memberId: string | null; userId: string | null; email: string | null };
  /** e.g. `member.invited`, `member.role_changed`, `instance.created` (`audit.ts`). */
  action: string;
  /** What it acted on: `{ type, id }`. */
  target: { type: string; id: string };
  details?: Record<string, unknown> | undefined;
}

export interface SessionDoc {
  /** The access token's `jti`. */
  _id: string;
  userId: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}

export type LedgerType = 'deposit' | 'charge' | 'refund';

export interface LedgerDoc {
  /** `<userId>:<seq>`: one entry per sequence number (a unique, atomic insert). */
  _id: string;
  userId: string;
  seq: number;
  type: LedgerType;
  /** Signed minor units: deposits and refunds positive, charges negative. */
  amountMinor: number;
  balanceAfterMinor: number;
  /** Unique: a retried operation finds its first entry instead of moving money twice. */
  idempotencyKey: string;
  instanceId?: string | undefined;
  /** The paid period of a charge: [start, end). */
  period?: { start: Date; end: Date } | undefined;
  memo: string;
  createdAt: Date;
}

export interface InstanceDoc {
  /** `i-` + 12 base32 chars: DNS-label safe. */
  _id: string;
  userId: string;
  name: string;
  engine: 'webjs' | 'simulated';
  provider: 'process' | 'kubernetes' | 'docker';
  createdAt: Date;
  /** End of the paid period (exclusive). */
  paidUntil: Date;
  /** Day-of-month anchor of the billing periods (1–31). Billing rule: `periods.ts`. */
  billingAnchorDay: number;
  suspended: boolean;
  suspendedAt: Date | null;
  /**
   * Stopped by its tenant (`POST /v1/instances/:id/stop`): the runtime is scaled to zero / stopped while true, like a
   * billing suspension, but billing goes on charging it (it keeps its slot and session volume). Absent: false.
   */
  stopped?: boolean | undefined;
  /** When its tenant stopped it. */
  stoppedAt?: Date | null | undefined;
  /**
   * Set before the provider is asked to delete the instance (by billing for an unpaid one, or by its tenant): it is
   * hidden from its tenant, never resumed or charged again, and the next billing run (or the api's next start)
   * finishes an interrupted deletion.
   */
  deletingAt?: Date | null | undefined;
  deletedAt: Date | null;
}

/** One time slot of a lock, owned by one holder (`user-lock.ts`). */
export interface LockDoc {
  /** `<key>@<slot number>`: owning a slot is a unique insert. */
  _id: string;
  key: string;
  holder: string;
  /** The end of the slot. */
  expiresAt: Date;
}

/**
 * A charge in flight (`billing/intents.ts`): recorded before the money moves, removed once the state it pays for is
 * recorded; the next billing run completes or rolls back any that a crash left.
 */
export interface BillingIntentDoc {
  /** The charge's ledger idempotency key: one intent per charge. */
  _id: string;
  /** `create`: the first period of a new instance; `resume`: the fresh period of a suspended one. */
  kind: 'create' | 'resume';
  userId: string;
  instanceId: string;
  /** The period the charge pays: [start, end). */
  period: { start: Date; end: Date };
  /** The billing anchor day that period sets (1–31). */
  anchorDay: number;
  /** `create`: the instance record to insert once charged. */
  instance?: InstanceDoc | undefined;
  createdAt: Date;
}

/** A taken throttle point (`login-throttle.ts`). */
export interface ThrottleDoc {
  /** `<key>#<seq>`: taking a point is a unique insert. */
  _id: string;
  key: string;
  seq: number;
  takenAt: Date;
  /** The point no longer counts from then on (removed by the next attempt on the key; no TTL index on FerretDB v1). */
  expiresAt: Date;
}

export interface ApiStore {
  connection: Connection;
  users: mongoose.mongo.Collection<UserDoc>;
  sessions: mongoose.mongo.Collection<SessionDoc>;
  ledger: mongoose.mongo.Collection<LedgerDoc>;
  instances: mongoose.mongo.Collection<InstanceDoc>;
  locks: mongoose.mongo.Collection<LockDoc>;
  throttle: mongoose.mongo.Collection<ThrottleDoc>;
  billingIntents: mongoose.mongo.Collection<BillingIntentDoc>;
  organisations: mongoose.mongo.Collection<OrganisationDoc>;
  members: mongoose.mongo.Collection<MemberDoc>;
  invitations: mongoose.mongo.Collection<InvitationDoc>;
  invitationClaims: mongoose.mongo.Collection<InvitationClaimDoc>;
  audit: mongoose.mongo.Collection<AuditDoc>;
  close(): Promise<void>;
}

/** Connects (the URI names the database) and creates the indexes. */
export async function openApiStore(uri: string, timeoutMs = 10_000): Promise<ApiStore> {
  const connection = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: timeoutMs, maxPoolSize: 20 }).asPromise();
  const db = connection.db!;
  const store: ApiStore = {
    connection,
    users: db.collection<UserDoc>('users'),
    sessions: db.collection<SessionDoc>('sessions'),
    ledger: db.collection<LedgerDoc>('ledger'),
    instances: db.collection<InstanceDoc>('instances'),
    locks: db.collection<LockDoc>('locks'),
    throttle: db.collection<ThrottleDoc>('throttle'),
    billingIntents: db.collection<BillingIntentDoc>('billingIntents'),
    organisations: db.collection<OrganisationDoc>('organisations'),
    members: db.collection<MemberDoc>('members'),
    invitations: db.collection<InvitationDoc>('invitations'),
    invitationClaims: db.collection<InvitationClaimDoc>('invitationClaims'),
    audit: db.collection<AuditDoc>('audit'),
    close: () => connection.close(),
  };
  await store.users.createIndex({ email: 1 }, { unique: true });
  await store.sessions.createIndex({ userId: 1 });
  // Expired sessions go by themselves on MongoDB (TTL index); FerretDB v1 refuses TTL indexes, so the api also sweeps
  // them (`Accounts.sweepExpired`) and a refusal here is fine.
  await store.sessions.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 }).catch(() => store.sessions.createIndex({ expiresAt: 1 }));
  await store.ledger.createIndex({ idempotencyKey: 1 }, { unique: true });
  await store.ledger.createIndex({ userId: 1, seq: -1 });
  await store.instances.createIndex({ userId: 1, createdAt: 1 });
  await store.instances.createIndex({ deletedAt: 1, paidUntil: 1 });
  await store.throttle.createIndex({ key: 1, expiresAt: 1 });
  await store.instances.createIndex({ suspended: 1, deletedAt: 1 });
  await store.locks.createIndex({ expiresAt: 1 });
  await store.billingIntents.createIndex({ userId: 1 });
  await store.members.createIndex({ userId: 1 }, { unique: true });
  await store.members.createIndex({ orgId: 1, createdAt: 1 });
  await store.invitations.createIndex({ orgId: 1, createdAt: -1 });
  await store.invitations.createIndex({ publicId: 1 }, { unique: true });
  await store.audit.createIndex({ orgId: 1, _id: -1 });
  await store.users.createIndex({ orgId: 1 });
  return store;
}

export const DUPLICATE_KEY = 11000;

/**
 * Whether `err` is a duplicate-key error (unique index or `_id`). MongoDB says 11000; FerretDB on PostgreSQL says so for
 * inserts but answers an update that breaks a unique index with code 1 (InternalError) carrying PostgreSQL's
 * `unique_violation` (SQLSTATE 23505), which counts too.
 */
export function isDuplicateKey(err: unknown): boolean {
  const e = err as { code?: number; message?: unknown } | undefined;
  return e?.code === DUPLICATE_KEY || (e?.code === 1 && typeof e.message === 'string' && e.message.includes('(SQLSTATE 23505)'));
}
