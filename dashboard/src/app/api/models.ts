/**
 * The api's shapes as the components use them, aliased from the types generated out of the api's OpenAPI document
 * (`schema.ts`; regenerate with `npm run models -w dashboard`). The instance API reached through the gateway is in
 * `instance-models.ts`.
 */
import type { operations } from './schema';

type Json<Op extends keyof operations, Status extends keyof operations[Op]['responses']> = operations[Op]['responses'][Status];

/** The signed-in tenant (GET /v1/me). */
export type User = Json<'me', 200>;
/** POST /v1/auth/login: the access token and the user. */
export type LoginResponse = Json<'login', 200>;
/** GET /v1/pricing: the monthly price of one instance. */
export type Pricing = Json<'pricing', 200>;
/** One page of the wallet's transactions (GET /v1/wallet/transactions). */
export type LedgerPage = Json<'transactions', 200>;
/** One wallet transaction; amounts in minor currency units. */
export type LedgerEntry = LedgerPage['items'][number];
export type LedgerType = LedgerEntry['type'];
/** POST /v1/wallet/deposits: the ledger entry, the balance after resumptions, the resumed instances. */
export type DepositResult = Json<'deposit', 201>;
/** An instance as the api lists it. */
export type Instance = Json<'getInstance', 200>;
/** An instance token without its plaintext. */
export type InstanceToken = Json<'updateInstanceToken', 200>;
/** A new instance token with its plaintext (shown once). */
export type CreatedToken = Json<'createInstanceToken', 201>;
/** r = read only, w = write only, rw = both. */
export type Permission = InstanceToken['permissions'];
